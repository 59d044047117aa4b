// The OpenAPI document as a static asset: the Workers home answers GET /openapi.json with this
// file, read through its ASSETS binding (src/http/routes/docs.ts), so its script leaves the
// builder out (src/http/openapi.ts, every route module's *Paths(), core/records/openapi.ts and
// what they call: -11.7 KiB gzip; zod's JSON Schema code goes too once no classic zod schema is
// left in it). 581 KiB raw / 34 KiB gzip of JSON could not be a module of the script either
// (issue #21, scripts/bundle-size.ts). The Node home builds the same bytes in-process.
//
// The document depends on code only (the collections and the route modules' docs; no setting or
// binding is read), so it is built with the code: `npm run build:ui` writes it beside the admin
// UI (ui/dist/_/openapi.json), and that runs on `npm install`, before `npm start`, as wrangler's
// [build] command (every `wrangler dev`, `wrangler deploy` and its dry runs: `npm run deploy`,
// `npm run bundle:size`, CI) and in the Workers tests' global setup. It fails loudly, and so
// stops those, when the document cannot be built.
//
//   tsx scripts/build-openapi.ts [assets directory]   (default: ui/dist)
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { documentAssetPath } from "../src/http/routes/docs";
import { writeIfChanged } from "./lib/write-if-changed";
import { openApiDocument } from "./openapi";

export { writeIfChanged };

/** The bytes GET /openapi.json answers with in both homes (compact JSON, as the route sends it). */
export function apiDocumentText(): string {
  return JSON.stringify(openApiDocument());
}

/** Where the document goes under an assets directory (ui/dist → ui/dist/_/openapi.json). */
export const apiDocumentFile = (assetsDir: string) => join(assetsDir, documentAssetPath.slice(1));

/** Writes the document into an assets directory (see writeIfChanged); its path and sizes. */
export function writeApiDocument(assetsDir: string, text = apiDocumentText()) {
  const file = apiDocumentFile(assetsDir);
  const changed = writeIfChanged(file, text);
  return { file, changed, raw: Buffer.byteLength(text), gzip: gzipSync(text, { level: 9 }).length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = performance.now();
  const { file, changed, raw, gzip } = writeApiDocument(process.argv[2] ?? join("ui", "dist"));
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(
    `${file}: ${kib(raw)} (${kib(gzip)} gzip), ${changed ? "written" : "unchanged"} in ${Math.round(performance.now() - started)} ms`,
  );
}
