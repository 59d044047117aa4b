import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSigningJwk } from "../../src/core/accounts/signing-keys";
import { migrateDatabase } from "../../src/platform/node/migrate";
import { type LibsqlServer, startLibsqlServer } from "../../tools/libsql-server/server";
import { answering, freePort } from "../processes";

/**
 * Multi-region with the Node home (issue 17): one primary database and two regions, each with a
 * read replica trailing the primary and a Nearbase process reading from it
 * (DATABASE_URL = the replica, DATABASE_PRIMARY_URL = the primary), on loopback. The replica here
 * is the local libSQL server's lagging copy (`--replica-of`), standing in for a Turso replica.
 */

const lagMs = 700;
const dir = mkdtempSync(join(tmpdir(), "nearbase-regions-"));
const posts = "/api/collections/posts/records";
let primary: LibsqlServer;
let primaryPort: number;
const replicas: LibsqlServer[] = [];
const instances: { child: ChildProcess; base: string; out: string[] }[] = [];

async function startInstance(replicaUrl: string, keys: string) {
  const port = await freePort();
  const out: string[] = [];
  const child = spawn(process.execPath, ["--import", "tsx", "src/platform/node/main.ts"], {
    env: {
      ...process.env,
      DATABASE_URL: replicaUrl,
      DATABASE_PRIMARY_URL: primary.url,
      JWT_PRIVATE_KEYS: keys,
      DATA_KEYS_FILE: join(dir, `data-keys-${port}.json`),
      PORT: String(port),
      HOST: "127.0.0.1",
      PASSWORD_ITERATIONS: "10000",
      LOG_LEVEL: "warn",
      // The replicas' worst lag plus margin: how long a writer's token sends its reads to the primary.
      CONSISTENCY_WINDOW_MS: String(lagMs * 4),
    } as unknown as NodeJS.ProcessEnv,
  });
  child.stderr?.on("data", (d: Buffer) => out.push(d.toString()));
  child.stdout?.on("data", (d: Buffer) => out.push(d.toString()));
  const base = `http://127.0.0.1:${port}`;
  await answering(child, `${base}/ready`, () => out.join(""));
  const instance = { child, base, out };
  instances.push(instance);
  return instance;
}

beforeAll(async () => {
  const primaryPath = join(dir, "primary.db");
  primary = await startLibsqlServer({ path: primaryPath });
  primaryPort = primary.port;
  // Migrated before the replicas copy it (deploy applies migrations to the primary first).
  const client = createClient({ url: primary.url });
  await migrateDatabase(client);
  client.close();
  for (const region of ["eu", "us"]) {
    replicas.push(
      await startLibsqlServer({
        path: join(dir, `replica-${region}.db`),
        replicaOf: { source: primaryPath, lagMs },
      }),
    );
  }
  const keys = JSON.stringify([await generateSigningJwk()]);
  await Promise.all(replicas.map((r) => startInstance(r.url, keys)));
}, 180_000);

afterAll(async () => {
  for (const i of instances) i.child.kill("SIGKILL");
  for (const r of replicas) await r.close();
  await primary?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function signUp(base: string, email: string) {
  const res = await fetch(`${base}/api/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: "correct horse battery staple" }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

describe("two regions, each a Node instance on its own read replica, writing to one primary", () => {
  it("a write is visible to its writer at once, and to the other region within the documented bound", async () => {
    const [eu, us] = instances as [(typeof instances)[0], (typeof instances)[0]];
    const token = await signUp(eu.base, "writer@example.com");
    const created = await fetch(`${eu.base}${posts}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ title: "from eu", status: "published" }),
    });
    expect(created.status).toBe(201);
    const wroteAt = Date.now();
    const { id } = (await created.json()) as { id: string };
    const consistency = created.headers.get("nearbase-consistency")!;
    expect(consistency).toBeTruthy();

    // The writer, with its token, reads its write at once (past the lagging replica).
    const own = await fetch(`${eu.base}${posts}/${id}`, {
      headers: { "nearbase-consistency": consistency },
    });
    expect(own.status).toBe(200);

    // The other region converges within the replica lag + the version memo (+ margin).
    for (;;) {
      const res = await fetch(`${us.base}${posts}/${id}`);
      if (res.status === 200) break;
      expect(res.status).toBe(404);
      expect(Date.now() - wroteAt).toBeLessThan(lagMs + 3000);
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 120_000);

  it("without the primary, a region keeps serving reads and refuses writes with 503 + Retry-After, then recovers", async () => {
    const [eu] = instances as [(typeof instances)[0]];
    const token = await signUp(eu.base, "outage@example.com");
    const before = await fetch(`${eu.base}${posts}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ title: "before the outage", status: "published" }),
    });
    expect(before.status).toBe(201);
    const { id } = (await before.json()) as { id: string };
    await new Promise((r) => setTimeout(r, lagMs * 2));

    await primary.close();
    try {
      // Reads: from the replica.
      const read = await fetch(`${eu.base}${posts}/${id}`);
      expect(read.status).toBe(200);
      const list = await fetch(`${eu.base}${posts}?limit=5`);
      expect(list.status).toBe(200);

      // Writes: a clear, retryable refusal — not a 500, not a hang.
      const write = await fetch(`${eu.base}${posts}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ title: "during the outage", status: "published" }),
      });
      expect(write.status).toBe(503);
      expect(write.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(write.headers.get("content-type")).toMatch(/application\/problem\+json/);
      const problem = (await write.json()) as { code: string; detail: string };
      expect(problem.code).toBe("UNAVAILABLE");
      expect(JSON.stringify(problem)).not.toMatch(/ECONNREFUSED|fetch failed|127\.0\.0\.1/);
      // /health stays up (the process is fine).
      expect((await fetch(`${eu.base}/health`)).status).toBe(200);
    } finally {
      primary = await startLibsqlServer({ path: join(dir, "primary.db"), port: primaryPort });
    }

    // The primary is back on its address: writes go through again, with no restart.
    const after = await fetch(`${eu.base}${posts}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ title: "after the outage", status: "published" }),
    });
    expect(after.status).toBe(201);
  }, 120_000);
});
