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
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { documentAssetPath } from "../src/http/routes/docs";
import { openApiDocument } from "./openapi";

/** The bytes GET /openapi.json answers with in both homes (compact JSON, as the route sends it). */
export function apiDocumentText(): string {
  return JSON.stringify(openApiDocument());
}

/** Where the document goes under an assets directory (ui/dist → ui/dist/_/openapi.json). */
export const apiDocumentFile = (assetsDir: string) => join(assetsDir, documentAssetPath.slice(1));

/**
 * Writes a file only when its bytes change, through a rename: a reader (workerd's asset server,
 * the Node home, a test) sees the old file or the new one, never half of one. True if written.
 */
export function writeIfChanged(file: string, bytes: string | Uint8Array): boolean {
  const data = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
  if (existsSync(file) && Buffer.compare(readFileSync(file), data) === 0) return false;
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, data);
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
  return true;
}

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
