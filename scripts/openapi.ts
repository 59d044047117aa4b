/**
 * The app's OpenAPI document, as /openapi.json serves it, built from the collections without
 * starting a server: `npm run openapi:lint` writes it to dist/openapi.json for the linter, and
 * `npm run client:generate` turns it into the typed client's types.
 *
 *   tsx scripts/openapi.ts [path]   (default: stdout)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { collections } from "../src/collections/index";
import { buildModels } from "../src/core/records/model";
import { apiDocument } from "../src/http/openapi";

export const openApiDocument = () => apiDocument(buildModels(collections));

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = `${JSON.stringify(openApiDocument(), null, 2)}\n`;
  const out = process.argv[2];
  if (out === undefined) process.stdout.write(text);
  else {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, text);
  }
}
