/**
 * Regenerates src/client/schema.d.ts (the typed client's types) from the app's OpenAPI document
 * with openapi-typescript, formatted by Biome as the tree is. `--check` writes nothing and fails
 * when the committed file differs from what the document generates now; the same comparison runs
 * in `npm test` (test/node/openapi-tools.test.ts), so a route or schema change without
 * regenerated types does not land.
 *
 *   npm run client:generate [-- --check]
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import openapiTS, { astToString } from "openapi-typescript";
import { openApiDocument } from "./openapi";

export const clientTypesPath = "src/client/schema.d.ts";
const header = `/**
 * Generated from the app's /openapi.json by \`npm run client:generate\` (openapi-typescript).
 * Do not edit: change the routes' docs or the collections, then regenerate.
 */
`;

/** The client types the current document generates, formatted as the committed file is. */
export async function generateClientTypes(): Promise<string> {
  const ast = await openapiTS(openApiDocument() as never, { alphabetize: false });
  // Biome through the Node running this (node_modules/.bin shims would pick the system one).
  const biome = spawnSync(
    process.execPath,
    [
      join("node_modules", "@biomejs", "biome", "bin", "biome"),
      "format",
      `--stdin-file-path=${clientTypesPath}`,
    ],
    { input: header + astToString(ast), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  if (biome.status !== 0) throw new Error(`biome format failed: ${biome.stderr}`);
  return biome.stdout;
}

/** The committed client types ("" when there are none). */
export function committedClientTypes(): string {
  try {
    return readFileSync(clientTypesPath, "utf8");
  } catch {
    return "";
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const formatted = await generateClientTypes();
  if (process.argv.includes("--check")) {
    if (committedClientTypes() !== formatted) {
      console.error(
        `${clientTypesPath} is out of date with the OpenAPI document: run \`npm run client:generate\` and commit it.`,
      );
      process.exit(1);
    }
    console.log(`${clientTypesPath} matches the OpenAPI document.`);
  } else {
    writeFileSync(clientTypesPath, formatted);
    console.log(`wrote ${clientTypesPath} (${formatted.length} bytes)`);
  }
}
