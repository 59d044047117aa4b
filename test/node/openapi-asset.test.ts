import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { apiDocumentFile, writeApiDocument } from "../../scripts/build-openapi";
import { collections } from "../../src/collections/index";
import { buildModels } from "../../src/core/records/model";
import { apiDocument } from "../../src/http/openapi";
import { startLibsqlServer } from "../../tools/libsql-server/server";
import { createTestApp, type TestApp } from "../harness";
import { runScript } from "../processes";

// Issue #21: the Workers home answers GET /openapi.json with a file the build writes into its
// static assets (ui/dist/_/openapi.json), so its script leaves the document's builder out. What
// holds that together: the build writes exactly the bytes the Node home serves, every wrangler
// build of the Worker writes it first, and the Worker's script really carries no builder.
// (test/conformance/*/docs.test.ts: both homes serve the same bytes and headers;
// test/workers/openapi-asset.test.ts: the Worker's answer comes from ASSETS, and without it.)

let t: TestApp;
let dir: string;
beforeAll(async () => {
  t = await createTestApp();
  dir = mkdtempSync(join(tmpdir(), "nearbase-openapi-asset-"));
});
afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the OpenAPI document as a built asset", () => {
  it("is built as the very bytes the Node home answers GET /openapi.json with", async () => {
    const built = writeApiDocument(dir);
    expect(built.file).toBe(join(dir, "_", "openapi.json"));
    const file = readFileSync(built.file, "utf8");
    expect(file).toBe(JSON.stringify(apiDocument(buildModels(collections))));
    expect(await (await t.request("/openapi.json")).text()).toBe(file);
    // Built again from the same code: the same bytes, and the file is left alone.
    expect(writeApiDocument(dir).changed).toBe(false);
    expect(readFileSync(apiDocumentFile(dir), "utf8")).toBe(file);
  });

  it("is rebuilt by every wrangler build of the Worker, in every environment, into its ASSETS", () => {
    const scripts = (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Json }).scripts;
    expect(scripts["build:ui"]).toBe("tsx scripts/build-ui.ts");
    expect(readFileSync("scripts/build-ui.ts", "utf8")).toMatch(
      /\(await import\("\.\/build-openapi"\)\)\.writeApiDocument\(join\(root, "dist"\)\)/,
    );
    for (const env of [undefined, "staging", "production"]) {
      const config = unstable_readConfig({ config: "wrangler.toml", env });
      expect(config.build.command, `[build] for ${env ?? "the top level"}`).toBe(
        "npm run --silent build:ui",
      );
      expect(config.assets?.directory?.replace(/^\.\//, "")).toBe("ui/dist");
      expect(config.assets?.binding).toBe("ASSETS");
      // The Worker runs first for the file's path: Cloudflare never answers it without the app.
      expect(config.assets?.run_worker_first).toContain("/_/*");
    }
  });

  it("leaves the document's builder out of the Worker's script (wrangler's own bundle)", {
    timeout: 180_000,
  }, () => {
    const out = join(dir, "worker");
    execFileSync(
      process.execPath,
      [
        "node_modules/wrangler/bin/wrangler.js",
        "deploy",
        "--dry-run",
        "--outdir",
        out,
        "--metafile",
        join(out, "meta.json"),
        "--env",
        "",
      ],
      {
        stdio: ["ignore", "ignore", "pipe"],
        env: {
          ...process.env,
          CLOUDFLARE_CF_FETCH_ENABLED: "false",
          WRANGLER_SEND_METRICS: "false",
        },
      },
    );
    const meta = JSON.parse(readFileSync(join(out, "meta.json"), "utf8")) as {
      outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
    };
    const script = Object.entries(meta.outputs).find(([path]) => path.endsWith(".js"))![1];
    const sources = Object.entries(script.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path);
    expect(sources).toContain("src/app.ts");
    expect(sources).toContain("src/http/routes/docs.ts");
    const builder = sources.filter((path) =>
      /^src\/(http\/openapi|http\/route-docs|core\/\w+\/openapi|core\/kernel\/examples)\.ts$/.test(
        path,
      ),
    );
    expect(builder).toEqual([]);
    // Nor zod's JSON Schema code (a doc schema built at module level, e.g. a route's docs not in
    // a function, brings it back: ~6 KiB gzip), classic zod, or a locale but `en`.
    expect(
      sources.filter((path) =>
        /^node_modules\/zod\/(v4\/core\/(to-json-schema|json-schema)|v4\/classic\/|v3\/|v4\/locales\/(?!en\.js$))/.test(
          path,
        ),
      ),
    ).toEqual([]);
    expect(sources).toContain("node_modules/zod/v4/locales/en.js");
  });
  it("npm run deploy refuses a Worker whose static assets would lack the document", {
    timeout: 240_000,
  }, async () => {
    const secrets = join(dir, "deploy.env");
    writeFileSync(secrets, "");
    const setup = await runScript("secrets-setup", ["--env", "production", "--file", secrets], {
      DATABASE_URL: "libsql://nearbase-test-org.turso.io",
      DATABASE_AUTH_TOKEN: "token",
    });
    expect(setup.code).toBe(0);
    // The committed configuration, from another directory: its [assets] directory (./ui/dist,
    // relative to the file) is one that npm run build:ui does not write.
    const config = join(dir, "wrangler.toml");
    writeFileSync(config, readFileSync("wrangler.toml", "utf8"));
    const res = await runScript(
      "deploy",
      ["--env", "production", "--dry-run", "--secrets-file", secrets, "--config", config],
      { WRANGLER_SEND_METRICS: "false", CI: "true" },
    );
    expect(res.code).toBe(1);
    expect(res.out).toContain(
      `${join(dir, "ui", "dist", "_", "openapi.json")} is missing after npm run build:ui: the Worker would answer /openapi.json with 503; nothing was deployed`,
    );
    expect(res.out).not.toMatch(/dry run complete/);

    // A real deploy refuses the same before it touches the database: an assets problem is found
    // locally, so it must stop the deploy before the migrations change the environment's schema
    // (otherwise "nothing was deployed" would be untrue of the database).
    const db = await startLibsqlServer({ path: join(dir, "deploy.db") });
    try {
      const realSecrets = join(dir, "deploy-real.env");
      writeFileSync(
        realSecrets,
        readFileSync(secrets, "utf8")
          .replace(/^DATABASE_URL=.*$/m, `DATABASE_URL='${db.url}'`)
          .replace(/^DATABASE_AUTH_TOKEN=.*$/m, ""),
      );
      const realConfig = join(dir, "real", "wrangler.toml");
      mkdirSync(dirname(realConfig));
      writeFileSync(
        realConfig,
        readFileSync("wrangler.toml", "utf8").replaceAll(
          '"https://api.example.com"',
          '"https://api.nearbase-deploy-test.dev"',
        ),
      );
      const real = await runScript(
        "deploy",
        ["--env", "production", "--secrets-file", realSecrets, "--config", realConfig],
        { WRANGLER_SEND_METRICS: "false", CI: "true", CLOUDFLARE_API_TOKEN: "not-a-token" },
      );
      expect(real.code).toBe(1);
      expect(real.out).toContain(
        `${join(dir, "real", "ui", "dist", "_", "openapi.json")} is missing after npm run build:ui`,
      );
      const client = createClient({ url: db.url });
      const tables = await client.execute("SELECT name FROM sqlite_master WHERE type = 'table'");
      client.close();
      expect(tables.rows).toEqual([]);
      expect(real.out).not.toMatch(/migrations: applied/);
    } finally {
      await db.close();
    }
  });
});

type Json = Record<string, unknown>;
