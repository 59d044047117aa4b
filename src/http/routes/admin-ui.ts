import { type Context, Hono, type MiddlewareHandler } from "hono";
import { ApiError } from "../../core/kernel/errors";
import type { AppEnv } from "../context";
import { documentAssetPath } from "./docs";

/**
 * The admin dashboard at /_/ (ui/, built by `npm run build:ui` into ui/dist/_/). The same route
 * serves it in both homes: the Workers home reads files through the static assets binding
 * (wrangler.toml [assets], `run_worker_first` for /_/* so these headers apply there too), the
 * Node home from ui/dist on disk. The page is static; everything it shows comes from the API
 * with the signed-in admin's bearer token (kept in memory), so it has no power the API does not
 * already give an admin. Not an API route: it is not in /openapi.json.
 */

/**
 * No inline script or style, nothing from another origin, never framed. The UI only talks to
 * this origin's API (connect-src 'self'). `form-action 'none'`: forms are handled by scripts.
 */
export const adminUiCsp = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const securityHeaders: Record<string, string> = {
  "content-security-policy": adminUiCsp,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
};

const types: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  json: "application/json",
  txt: "text/plain; charset=utf-8",
  woff2: "font/woff2",
};

/**
 * The headers above on every /_/ answer, errors included. Mounted before the app's
 * secureHeaders (src/app.ts), so it runs after it on the way out and its stricter values win
 * (X-Frame-Options DENY rather than SAMEORIGIN, same-origin resources).
 */
export const adminUiHeaders: MiddlewareHandler<AppEnv> = async function adminUiHeaders(c, next) {
  await next();
  for (const [name, value] of Object.entries(securityHeaders)) c.res.headers.set(name, value);
};

const compressible = new Set(["html", "js", "css", "svg", "json", "txt"]);

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Files under /_/assets/ carry a content hash in their name: cache them for good. */
const immutable = "public, max-age=31536000, immutable";

interface AssetsBinding {
  fetch(request: Request): Promise<Response>;
}

/** Reads one built file: bytes, or undefined when there is no such file. */
type ReadAsset = (c: Context<AppEnv>, path: string) => Promise<Uint8Array | undefined>;

/** Workers: the static assets binding (html_handling = "none": paths are files, as on disk). */
const fromAssetsBinding =
  (assets: AssetsBinding): ReadAsset =>
  async (c, path) => {
    const res = await assets.fetch(new Request(new URL(path, c.req.url)));
    if (res.status === 404) return undefined;
    if (!res.ok) throw new ApiError("UNAVAILABLE", "The admin UI's files cannot be read.");
    return new Uint8Array(await res.arrayBuffer());
  };

/**
 * Node: ui/dist next to the sources (tsx runs src/…) or next to the bundle (dist/server.js).
 * node:fs is imported on first use, so the Workers bundle never loads it.
 */
function fromDisk(): ReadAsset {
  let root: Promise<string | undefined> | undefined;
  const findRoot = async () => {
    const { access } = await import("node:fs/promises");
    const { fileURLToPath } = await import("node:url");
    for (const candidate of ["../../../ui/dist/", "../ui/dist/"]) {
      const dir = fileURLToPath(new URL(candidate, import.meta.url));
      try {
        await access(`${dir}_/index.html`);
        return dir;
      } catch {}
    }
    return undefined;
  };
  return async (_c, path) => {
    root ??= findRoot();
    const dir = await root;
    if (dir === undefined) {
      root = undefined; // built later (npm run build:ui): look again next time
      throw new ApiError(
        "UNAVAILABLE",
        "The admin UI is not built: run `npm run build:ui` (npm install and npm start do).",
      );
    }
    const { readFile } = await import("node:fs/promises");
    try {
      return new Uint8Array(await readFile(`${dir}${path.slice(1)}`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      if ((err as NodeJS.ErrnoException).code === "EISDIR") return undefined;
      throw err;
    }
  };
}

/** A request path under /_/ as a file path, or undefined when it is not a plain one. */
export function assetPath(requestPath: string): string | undefined {
  const rest = requestPath.slice("/_/".length);
  if (rest === "") return "/_/index.html";
  // Only plain names: no dot segments, no backslashes, no encoded separators, no hidden files.
  if (!/^(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*\/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(rest)) return;
  if (rest.split("/").some((s) => s.includes(".."))) return;
  return `/_/${rest}`;
}

/** /_/ and its files, and /_/setup.json (whether an admin exists: the first-run page). */
export function adminUiRoutes() {
  const app = new Hono<AppEnv>();
  let readDisk: ReadAsset | undefined;
  const gzipped = new Map<string, Uint8Array>();
  // Once an admin exists one always does (the last admin cannot be demoted or deleted).
  let adminSeen = false;

  const methodCheck = (c: Context<AppEnv>) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD")
      throw new ApiError("METHOD_NOT_ALLOWED", `${c.req.method} is not allowed here; use GET.`, {
        headers: { allow: "GET, HEAD" },
      });
  };

  // Registered for every method (and so not in the API document's route list); GET/HEAD only.
  app.all("/_", (c) => {
    methodCheck(c);
    return c.redirect("/_/", 308);
  });

  app.all("/_/setup.json", async (c) => {
    methodCheck(c);
    if (!adminSeen) adminSeen = await c.get("services").accounts.hasAdmin();
    return c.json({ adminExists: adminSeen }, 200, { "cache-control": "no-store" });
  });

  app.all("/_/*", async (c) => {
    methodCheck(c);
    const path = assetPath(c.req.path);
    if (path === undefined) throw new ApiError("NOT_FOUND", "No such file in the admin UI.");
    // The Workers home's copy of the API document sits among these files; /openapi.json is its
    // one address (in the Node home the file on disk may be older than the code's document).
    if (path === documentAssetPath)
      throw new ApiError(
        "NOT_FOUND",
        "No such file in the admin UI: the API document is /openapi.json.",
      );
    const binding = (c.env as { ASSETS?: AssetsBinding } | undefined)?.ASSETS;
    if (binding === undefined) readDisk ??= fromDisk();
    const read = binding !== undefined ? fromAssetsBinding(binding) : readDisk!;
    let bytes = await read(c, path);
    if (bytes === undefined) throw new ApiError("NOT_FOUND", "No such file in the admin UI.");
    const ext = path.slice(path.lastIndexOf(".") + 1);
    const headers: Record<string, string> = {
      "content-type": types[ext] ?? "application/octet-stream",
      "cache-control": path.startsWith("/_/assets/") ? immutable : "no-cache",
    };
    // Node answers uncompressed otherwise (Cloudflare compresses at its edge): gzip text here,
    // once per hashed asset. 66 KiB of first load become ~22 KiB on the wire.
    if (binding === undefined && compressible.has(ext)) {
      headers.vary = "accept-encoding";
      if (/\bgzip\b/.test(c.req.header("accept-encoding") ?? "")) {
        const cached = path.startsWith("/_/assets/") ? gzipped.get(path) : undefined;
        bytes = cached ?? (await gzip(bytes));
        if (cached === undefined && path.startsWith("/_/assets/")) gzipped.set(path, bytes);
        headers["content-encoding"] = "gzip";
      }
    }
    headers["content-length"] = String(bytes.byteLength);
    if (c.req.method === "HEAD") return c.body(null, 200, headers);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, headers);
  });
  return app;
}
