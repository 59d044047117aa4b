import { type Context, Hono } from "hono";
import * as z from "zod/mini";
import { ApiError } from "../../core/kernel/errors";
import type { AppEnv } from "../context";
import { openApiPaths, type RouteDocs } from "../route-docs";

/**
 * Scalar's API reference, pinned: an exact version and the SHA-384 of that file as published on
 * npm (`npm pack @scalar/api-reference@1.72.1`, dist/browser/standalone.js), so a changed or
 * compromised CDN copy is refused by the browser (Subresource Integrity). To upgrade: pack the new
 * version, `openssl dgst -sha384 -binary package/dist/browser/standalone.js | openssl base64 -A`.
 */
export const scalarScript = {
  src: "https://cdn.jsdelivr.net/npm/@scalar/api-reference@1.72.1/dist/browser/standalone.js",
  integrity: "sha384-U11tb2XnKvmwt8RlTvnwUnYgrN+ur4Xyh9htLhjajWNR/Oyl5AX5DEz00qRmlrmK",
} as const;

const tags = ["docs"];

const index = {
  name: "nearbase",
  docs: "/docs",
  openapi: "/openapi.json",
  health: "/health",
  ready: "/ready",
};

/**
 * Built when the document is (a function, not a module-level object: the Workers script, which
 * never builds the document, then carries none of it).
 */
const docs = () =>
  ({
    "get /": {
      tags,
      auth: "none",
      operationId: "getIndex",
      summary: "Where things are: the docs, this document, health and readiness",
      responses: {
        "200": {
          description: "Links",
          schema: z.object({
            name: z.literal("nearbase"),
            docs: z.string(),
            openapi: z.string(),
            health: z.string(),
            ready: z.string(),
          }),
          example: index,
        },
      },
    },
    "get /openapi.json": {
      tags,
      auth: "none",
      summary: "This document (OpenAPI 3.1)",
      // The Workers home serves the document the build wrote (see documentAssetPath); a deploy
      // without it answers 503 rather than failing.
      raises: ["UNAVAILABLE"],
      responses: {
        "200": {
          description: "The OpenAPI document",
          content: {
            "application/json": {
              schema: { type: "object" },
              example: { openapi: "3.1.0", info: { title: "Nearbase API", version: "0.1.0" } },
            },
          },
        },
      },
    },
    "get /docs": {
      tags,
      auth: "none",
      summary: "An API reference page rendering this document (Scalar)",
      responses: {
        "200": { description: "HTML", content: { "text/html": { schema: { type: "string" } } } },
      },
    },
  }) satisfies RouteDocs;

export const docsPaths = () => openApiPaths("", docs());

/**
 * Where the build writes /openapi.json's body beside the admin UI (scripts/build-openapi.ts,
 * run by `npm run build:ui`, wrangler's [build] and the Workers tests' setup): under /_/ in the
 * static assets (wrangler.toml [assets], ui/dist), where the Worker runs first, so Cloudflare
 * never serves the file by itself without the app's headers.
 */
export const documentAssetPath = "/_/openapi.json";

interface AssetsBinding {
  fetch(request: Request): Promise<Response>;
}

/** The built document through the ASSETS binding (the Workers home). */
async function builtDocument(c: Context<AppEnv>): Promise<string> {
  const assets = (c.env as { ASSETS?: AssetsBinding } | undefined)?.ASSETS;
  if (assets === undefined)
    throw new ApiError(
      "UNAVAILABLE",
      "The OpenAPI document is not available: this server neither builds it nor has the static assets it is built into.",
    );
  const res = await assets.fetch(new Request(new URL(documentAssetPath, c.req.url)));
  if (res.status === 404)
    throw new ApiError(
      "UNAVAILABLE",
      "The OpenAPI document was not built: `npm run build:ui` writes it (wrangler deploy and wrangler dev run that first).",
    );
  if (!res.ok) throw new ApiError("UNAVAILABLE", "The OpenAPI document cannot be read.");
  return res.text();
}

/**
 * `/openapi.json` and `/docs`: Scalar's API reference rendering our document. With
 * `buildDocument` (the Node home) the document is built on first request (not at start) and
 * kept; without it (the Workers home, whose script leaves the builder out) it is the file the
 * build wrote (documentAssetPath), read through the ASSETS binding on first request and kept.
 * Either way the same bytes and headers. The page loads Scalar from jsDelivr in the reader's
 * browser; the API itself never fetches it.
 */
export function docsRoutes(buildDocument?: () => Record<string, unknown>) {
  let document: Promise<string> | undefined;
  const load = async (c: Context<AppEnv>) =>
    buildDocument === undefined ? builtDocument(c) : JSON.stringify(buildDocument());
  const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Nearbase API</title></head>
<body>
<noscript>The API description is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<script id="api-reference" data-url="/openapi.json"></script>
<script src="${scalarScript.src}" integrity="${scalarScript.integrity}" crossorigin="anonymous"></script>
</body>
</html>`;
  return new Hono<AppEnv>()
    .get("/", (c) => c.json(index))
    .get("/openapi.json", async (c) => {
      document ??= load(c);
      const loading = document;
      // A failed load (an unbuilt deploy) is tried again by the next request.
      const text = await loading.catch((err: unknown) => {
        if (document === loading) document = undefined;
        throw err;
      });
      c.header("cache-control", "public, max-age=60");
      return c.body(text, 200, { "content-type": "application/json; charset=utf-8" });
    })
    .get("/docs", (c) => {
      c.header(
        "content-security-policy",
        "default-src 'none'; script-src https://cdn.jsdelivr.net 'unsafe-inline'; style-src https://cdn.jsdelivr.net 'unsafe-inline'; font-src https://cdn.jsdelivr.net https://fonts.scalar.com; connect-src 'self'; img-src 'self' data:",
      );
      return c.html(page);
    });
}
