import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  clientTypesPath,
  committedClientTypes,
  generateClientTypes,
} from "../../scripts/client-generate";
import { openApiDocument } from "../../scripts/openapi";

// What CI holds the document to beyond the responses: third-party tools read it cleanly, and the
// typed client's committed types are the ones it generates now.

// The tools start slowly on a busy machine (Spectral alone takes seconds).
describe("OpenAPI tooling", { timeout: 60_000 }, () => {
  it("the committed client types are generated from the current document (npm run client:generate)", async () => {
    const generated = (await generateClientTypes()).split("\n");
    const committed = committedClientTypes().split("\n");
    const at = generated.findIndex((line, i) => line !== committed[i]);
    expect(
      at === -1 && generated.length === committed.length,
      `${clientTypesPath} has drifted from the OpenAPI document (first at line ${at + 1}: ${JSON.stringify(committed[at])} should be ${JSON.stringify(generated[at])}): run \`npm run client:generate\` and commit it`,
    ).toBe(true);
  });

  it("the typed client's own test uses it without casts, any or ts-comments (it typechecks with the tree)", () => {
    const source = readFileSync("test/node/client.test.ts", "utf8");
    const code = source
      .replace(/^import .*$/gm, "")
      .replace(/\/\/.*$/gm, "")
      .replace(/\/\*[\s\S]*?\*\//g, "");
    expect(code.match(/\bas (?!const\b)\w+|<any>|: any\b|@ts-|!\./g) ?? []).toEqual([]);
  });

  // The linters read the document from the path their configs name it under.
  beforeAll(() => {
    mkdirSync("dist", { recursive: true });
    writeFileSync("dist/openapi.json", `${JSON.stringify(openApiDocument(), null, 2)}\n`);
  });

  const run = (bin: string, args: string[]) =>
    spawnSync(process.execPath, [bin, ...args], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
    });

  it("Redocly lints the document with zero warnings (redocly.yaml, npm run openapi:lint)", () => {
    const lint = run("node_modules/@redocly/cli/bin/cli.js", [
      "lint",
      "dist/openapi.json",
      "--format=json",
    ]);
    const report = JSON.parse(lint.stdout) as {
      totals: { errors: number; warnings: number; ignored: number };
      problems: { ruleId: string; message: string; location: { pointer: string }[] }[];
    };
    const found = report.problems.map(
      (p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`,
    );
    expect(found).toEqual([]);
    // 4: info-license, the two OAuth redirects' operation-2xx-response, the 405's unused component
    // (redocly.yaml says why). /, /health, /ready, /docs, /openapi.json and /.well-known/* no
    // longer need operation-4xx-response ignored: they refuse unknown query parameters (400).
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 4 });
    expect(lint.status).toBe(0);
  });

  it("Spectral lints the document with no finding of any severity (.spectral.yaml)", () => {
    const lint = run("node_modules/@stoplight/spectral-cli/dist/index.js", [
      "lint",
      "dist/openapi.json",
      "--ruleset",
      ".spectral.yaml",
      "--format",
      "json",
      "--quiet",
      "--fail-severity",
      "hint",
    ]);
    const found = (
      JSON.parse(lint.stdout) as { code: string; path: string[]; message: string }[]
    ).map((p) => `${p.code} at ${p.path.join("/")}: ${p.message}`);
    expect(found).toEqual([]);
    expect(lint.status, lint.stderr).toBe(0);
  });
});
