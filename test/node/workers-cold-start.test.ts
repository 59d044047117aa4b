import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSigningJwk } from "../../src/core/accounts/signing-keys";
import { migrateDatabase } from "../../src/platform/node/migrate";
import { startLibsqlServer } from "../../tools/libsql-server/server";
import { freePort } from "../processes";

/**
 * The worker as `wrangler deploy` uploads it, in a bare workerd (no wrangler, no test pool): its
 * app is built at global scope, so nothing it builds may use what workerd refuses there (random
 * values, I/O, timers). workerd refuses them at global scope only; the test pool builds the app
 * in a different way, so only this test (and `npm run bench:workers-cpu`) sees such a regression.
 */
const root = resolve(import.meta.dirname, "../..");
let work: string;
let workerd: ChildProcess | undefined;
let db: Awaited<ReturnType<typeof startLibsqlServer>>;
let base: string;
let output = "";

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "nearbase-cold-start-"));
  execFileSync(
    join(root, "node_modules/.bin/wrangler"),
    ["deploy", "--dry-run", "--outdir", work],
    {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    },
  );
  db = await startLibsqlServer({ path: join(work, "db.sqlite") });
  const client = createClient({ url: db.url });
  await migrateDatabase(client);
  client.close();
  const port = await freePort();
  const bindings = {
    DATABASE_URL: db.url,
    JWT_PRIVATE_KEYS: JSON.stringify([await generateSigningJwk()]),
    LOG_LEVEL: "warn",
    // A bare workerd has no cache service.
    SHARED_CACHE: "off",
  };
  const date = /compatibility_date\s*=\s*"([^"]+)"/.exec(
    readFileSync(join(root, "wrangler.toml"), "utf8"),
  )![1];
  writeFileSync(
    join(work, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker), (name = "net", network = (allow = ["private", "local"]))],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "main.js", esModule = embed "main.js")],
  compatibilityDate = "${date}",
  globalOutbound = "net",
  bindings = [${Object.entries(bindings)
    .map(([name, text]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(text)})`)
    .join(", ")}],
);
`,
  );
  workerd = spawn(join(root, "node_modules/workerd/bin/workerd"), [
    "serve",
    join(work, "config.capnp"),
  ]);
  workerd.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  workerd.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`${base}/health`).then(
      (r) => r.status,
      () => 0,
    );
    if (up !== 0) break;
    if (i > 300 || workerd.exitCode !== null) throw new Error(`workerd did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 120_000);

afterAll(async () => {
  workerd?.kill();
  await db?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the built worker in a bare workerd", () => {
  it("builds its app at global scope without anything workerd refuses there", async () => {
    expect(output).not.toContain("not built at global scope");
    expect(output).not.toContain("Disallowed operation");
  });

  it("answers from the app built at global scope, with the database and auth", async () => {
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    const list = await fetch(`${base}/api/collections/posts/records?limit=5`);
    expect(list.status).toBe(200);
    expect(await list.json()).toMatchObject({ items: expect.any(Array) });
    const login = await fetch(`${base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "nobody@example.test", password: "not the password" }),
    });
    expect(login.status).toBe(401);
    expect(login.headers.get("content-type")).toContain("application/problem+json");
    expect(output).not.toContain("not built at global scope");
  });
});
