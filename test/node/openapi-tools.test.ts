import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  clientTypesPath,
  committedClientTypes,
  generateClientTypes,
} from "../../scripts/client-generate";
import { openApiDocument } from "../../scripts/openapi";

// What CI holds the document to beyond the responses: third-party tools read it cleanly, and the
// typed client's committed types are the ones it generates now.

describe("OpenAPI tooling", () => {
  it("the committed client types are generated from the current document (npm run client:generate)", async () => {
    const generated = (await generateClientTypes()).split("\n");
    const committed = committedClientTypes().split("\n");
    const at = generated.findIndex((line, i) => line !== committed[i]);
    expect(
      at === -1 && generated.length === committed.length,
      `${clientTypesPath} has drifted from the OpenAPI document (first at line ${at + 1}: ${JSON.stringify(committed[at])} should be ${JSON.stringify(generated[at])}): run \`npm run client:generate\` and commit it`,
    ).toBe(true);
  });

  it("Redocly lints the document with zero warnings (redocly.yaml, npm run openapi:lint)", () => {
    // The path is the one .redocly.lint-ignore.yaml names its accepted findings under.
    mkdirSync("dist", { recursive: true });
    writeFileSync("dist/openapi.json", `${JSON.stringify(openApiDocument(), null, 2)}\n`);
    const run = spawnSync(
      process.execPath,
      ["node_modules/@redocly/cli/bin/cli.js", "lint", "dist/openapi.json", "--format=json"],
      {
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
      },
    );
    const report = JSON.parse(run.stdout) as {
      totals: { errors: number; warnings: number; ignored: number };
      problems: { ruleId: string; message: string; location: { pointer: string }[] }[];
    };
    const found = report.problems.map(
      (p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`,
    );
    expect(found).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 10 });
    expect(run.status).toBe(0);
  });
});
