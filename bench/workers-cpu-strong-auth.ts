// `npx tsx bench/workers-cpu-strong-auth.ts`: CPU per strong sign-in step (#19) of the BUILT
// worker (as `wrangler deploy` uploads it) in a bare `workerd serve`, measured like
// bench/workers-cpu.ts: the workerd process's CPU (schedstat ns, else /proc ticks) over N
// sequential requests, minus its idle CPU over the same wall time. Each request is a real,
// different ceremony prepared beforehand (outside the timed window):
//
//   password sign-in      POST /api/auth/login, standard profile (PBKDF2-SHA256 100k), one account
//   TOTP, sign-in step 2  POST /api/auth/mfa/verify: ticket + current code, one account each
//                         (ticket attempt, throttle row, unseal the key, 3 HOTPs, replay-guarded
//                         UPDATE, session + token)
//   TOTP, step-up         POST /api/auth/step-up {code}: the same check without a new session
//   passkey sign-in       POST /api/auth/passkeys/sign-in: a fresh challenge each (asked for
//                         outside the window), ES256 assertion from the software authenticator
//                         (challenge spend, client data, RP ID hash, flags, signature, counter)
//   /health               the floor of a request through the whole app
//
// Env: N (default 100), SKIP_BUILD=1 to reuse dist/bench-strong-auth.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createClient } from "@libsql/client";
import * as OTPAuth from "otpauth";
import { generateSigningJwk } from "../src/core/accounts/signing-keys";
import { generateDataKey } from "../src/core/kernel/seal";
import { migrateDatabase } from "../src/platform/node/migrate";
import { SoftAuthenticator } from "../test/conformance/soft-authenticator";
import { startLibsqlServer } from "../tools/libsql-server/server";
import { processCpuMs } from "./lib/target";
import { startWorkerd } from "./lib/workerd";

const N = Number(process.env.N ?? 100);
const root = resolve(import.meta.dirname, "..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const origin = "http://localhost:8787";
const password = "correct horse battery staple";

/** Idle CPU per wall ms: the lower of two 1 s windows after a pause. */
async function idleRate(pid: number) {
  await sleep(500);
  const rates: number[] = [];
  for (let i = 0; i < 2; i++) {
    const c0 = processCpuMs(pid);
    const t0 = performance.now();
    await sleep(1000);
    rates.push((processCpuMs(pid) - c0) / (performance.now() - t0));
  }
  return Math.min(...rates);
}

/**
 * CPU ms per request over the prepared requests, sequential; every answer must be `expect`.
 * The bodies are kept (parsed after the window) for the steps that follow.
 */
async function measure(pid: number, idle: number, requests: (() => Request)[], expect: number) {
  const bodies: string[] = [];
  const c0 = processCpuMs(pid);
  const t0 = performance.now();
  for (const make of requests) {
    const res = await fetch(make());
    bodies.push(await res.text());
    if (res.status !== expect)
      throw new Error(`${make().url} answered ${res.status}: ${bodies.at(-1)}`);
  }
  const wall = performance.now() - t0;
  const ms = (processCpuMs(pid) - c0 - idle * wall) / requests.length;
  return { ms, bodies: bodies.map((b) => (b ? JSON.parse(b) : {}) as Record<string, unknown>) };
}

const json = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  new Request(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

async function call(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(json(url, body, headers));
  const text = await res.text();
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : {}) as Record<string, unknown>;
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), "nearbase-strong-auth-cpu-"));
  const dist = join(root, "dist/bench-strong-auth");
  if (process.env.SKIP_BUILD !== "1")
    execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", dist], {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    });

  const db = await startLibsqlServer({ path: join(work, "bench.db") });
  await migrateDatabase(createClient({ url: db.url }));
  const proc = await startWorkerd({
    modules: { "main.js": readFileSync(join(dist, "main.js")) },
    ready: "/health",
    bindings: {
      DATABASE_URL: db.url,
      JWT_PRIVATE_KEYS: JSON.stringify([await generateSigningJwk()]),
      DATA_ENCRYPTION_KEYS: JSON.stringify([generateDataKey()]),
      PUBLIC_URL: origin,
      LOG_LEVEL: "warn",
      SHARED_CACHE: "off",
      RATE_LIMIT_AUTH: "off",
      RATE_LIMIT_READ: "off",
      RATE_LIMIT_WRITE: "off",
      CREDENTIAL_FAILURE_LIMIT: "off",
      LOGIN_LIMIT_PER_ACCOUNT: "999999/1s",
      LOGIN_LIMIT_PER_ACCOUNT_TOTAL: "999999/1s",
    },
  });
  const api = `${proc.base}/api/auth`;

  // Accounts with TOTP on (signed up, enrolled and confirmed through the API), a ticket each.
  const totpUsers: { totp: OTPAuth.TOTP; ticket: string }[] = [];
  for (let i = 0; i < N; i++) {
    const email = `totp${i}@example.test`;
    const up = await call(`${api}/signup`, { email, password });
    const bearer = { authorization: `Bearer ${up.accessToken}` };
    const { uri } = await call(`${api}/mfa/totp/enroll`, {}, bearer);
    const totp = OTPAuth.URI.parse(String(uri)) as OTPAuth.TOTP;
    await call(
      `${api}/mfa/totp/confirm`,
      { code: totp.generate({ timestamp: Date.now() - 30_000 }) },
      bearer,
    );
    const login = await call(`${api}/login`, { email, password });
    totpUsers.push({ totp, ticket: String(login.mfaTicket) });
  }
  // One account with a passkey, and N sign-in challenges answered ahead (counter grows in order).
  const owner = await call(`${api}/signup`, { email: "passkey@example.test", password });
  const authenticator = new SoftAuthenticator(origin);
  const ownerAuth = { authorization: `Bearer ${owner.accessToken}` };
  const created = await call(`${api}/passkeys/register/options`, {}, ownerAuth);
  await call(`${api}/passkeys/register`, await authenticator.register(created), ownerAuth);
  const assertions: unknown[] = [];
  for (let i = 0; i < N; i++)
    assertions.push(await authenticator.assert(await call(`${api}/passkeys/sign-in/options`, {})));

  // Warm the isolate on each route, then measure.
  for (let i = 0; i < 10; i++) await fetch(`${proc.base}/health`);
  const idle = await idleRate(proc.pid);
  const rows: [string, number][] = [];
  const health = () => new Request(`${proc.base}/health`);
  rows.push(["/health", (await measure(proc.pid, idle, Array(N).fill(health), 200)).ms]);
  const login = () => json(`${api}/login`, { email: "passkey@example.test", password });
  const logins = await measure(proc.pid, idle, Array(N).fill(login), 200);
  rows.push(["password sign-in (PBKDF2-SHA256 100k, the default profile)", logins.ms]);
  const verified = await measure(
    proc.pid,
    idle,
    totpUsers.map(
      (u) => () => json(`${api}/mfa/verify`, { mfaTicket: u.ticket, code: u.totp.generate() }),
    ),
    200,
  );
  rows.push(["TOTP check at sign-in (POST /mfa/verify: ticket, code, new session)", verified.ms]);
  // Step-up: each account's fresh token, and the next time step's code (the last one is spent).
  const steppedUp = await measure(
    proc.pid,
    idle,
    totpUsers.map((u, i) => () => {
      const code = u.totp.generate({ timestamp: Date.now() + 30_000 });
      const token = String(verified.bodies[i]!.accessToken);
      return json(`${api}/step-up`, { code }, { authorization: `Bearer ${token}` });
    }),
    200,
  );
  rows.push(["TOTP check at step-up (POST /step-up: code, fresh token)", steppedUp.ms]);
  const passkeys = await measure(
    proc.pid,
    idle,
    assertions.map((a) => () => json(`${api}/passkeys/sign-in`, a)),
    200,
  );
  rows.push([
    "passkey sign-in (POST /passkeys/sign-in: ES256 assertion, new session)",
    passkeys.ms,
  ]);
  await proc.stop();
  await db.close();

  console.log(`\nworkerd CPU per request, N=${N} sequential (ms, idle subtracted)\n`);
  for (const [name, ms] of rows) console.log(`${ms.toFixed(2).padStart(8)}  ${name}`);
}

await main();
process.exit(0);
