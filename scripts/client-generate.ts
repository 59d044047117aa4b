/**
 * Regenerates src/client/schema.d.ts (the typed client's types) from the app's OpenAPI document
 * with openapi-typescript, formatted by Biome as the tree is. `--check` writes nothing and fails
 * when the committed file differs from what the document generates now (CI runs it, so a route
 * or schema change without regenerated types does not land).
 *
 *   npm run client:generate [-- --check]
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import openapiTS, { astToString } from "openapi-typescript";
import { openApiDocument } from "./openapi";

const target = "src/client/schema.d.ts";
const header = `/**
 * Generated from the app's /openapi.json by \`npm run client:generate\` (openapi-typescript).
 * Do not edit: change the routes' docs or the collections, then regenerate.
 */
`;

const ast = await openapiTS(openApiDocument() as never, { alphabetize: false });
const generated = header + astToString(ast);
const biome = spawnSync(
  join("node_modules", ".bin", "biome"),
  ["format", `--stdin-file-path=${target}`],
  { input: generated, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
);
if (biome.status !== 0) {
  process.stderr.write(biome.stderr);
  process.exit(1);
}
const formatted = biome.stdout;

if (process.argv.includes("--check")) {
  let committed = "";
  try {
    committed = readFileSync(target, "utf8");
  } catch {}
  if (committed !== formatted) {
    console.error(
      `${target} is out of date with the OpenAPI document: run \`npm run client:generate\` and commit it.`,
    );
    process.exit(1);
  }
  console.log(`${target} matches the OpenAPI document.`);
} else {
  writeFileSync(target, formatted);
  console.log(`wrote ${target} (${formatted.length} bytes)`);
}
