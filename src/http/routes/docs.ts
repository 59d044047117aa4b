import { Hono } from "hono";
import { z } from "zod";
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

const docs = {
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
} satisfies RouteDocs;

export const docsPaths = () => openApiPaths("", docs);

/**
 * `/openapi.json` and `/docs`: Scalar's API reference rendering our document. The document is
 * built on first request (not at start: a Workers isolate should not pay for it on every cold
 * start) and kept. The page loads Scalar from jsDelivr in the reader's browser; the API itself
 * never fetches it.
 */
export function docsRoutes(buildDocument: () => Record<string, unknown>) {
  let document: string | undefined;
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
    .get("/openapi.json", (c) => {
      document ??= JSON.stringify(buildDocument());
      c.header("cache-control", "public, max-age=60");
      return c.body(document, 200, { "content-type": "application/json; charset=utf-8" });
    })
    .get("/docs", (c) => {
      c.header(
        "content-security-policy",
        "default-src 'none'; script-src https://cdn.jsdelivr.net 'unsafe-inline'; style-src https://cdn.jsdelivr.net 'unsafe-inline'; font-src https://cdn.jsdelivr.net https://fonts.scalar.com; connect-src 'self'; img-src 'self' data:",
      );
      return c.html(page);
    });
}
