// `npm run bench:auth` (or `npx tsx bench/auth.ts`): what auth costs, per operation and per
// request, in both homes. Not a test: it prints numbers and asserts nothing.
//   1. Primitives — one PBKDF2 hash/verify and one Ed25519 signature, in Node (timed in process)
//      and in workerd (a probe worker under `wrangler dev`, timed from outside as
//      (time of n ops − time of 0 ops) / n, because workerd's clock stands still while it computes).
//   2. Requests — sign-up, log-in and refresh over loopback HTTP, one at a time, against the Node
//      home (`src/platform/node/main.ts`, embedded libSQL) and the Workers home (`scripts/dev.ts`: wrangler dev
//      + the local libSQL HTTP server); GET /health is the floor of one round trip.
// BENCH_RUNS (default 20) sets the sample size; BENCH_TARGETS (default node,workers) the homes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashPassword, passwordParams, verifyPassword } from "../src/core/accounts/passwords";
import { generateSigningJwk, KeySet } from "../src/core/accounts/signing-keys";
import { startProcess, type Target } from "./lib/target";

const runs = Number(process.env.BENCH_RUNS ?? 20);
const wanted = (process.env.BENCH_TARGETS ?? "node,workers").split(",");
const password = "correct horse battery staple";
const ports = { node: 18811, workers: 18812, probe: 18813 };

interface Stats {
  median: number;
  p90: number;
  min: number;
}

function stats(times: number[]): Stats {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p90: at(0.9), min: sorted[0]! };
}

const ms = (n: number) => n.toFixed(2).padStart(8);
const rows: string[] = [];
const row = (home: string, op: string, s: Stats, note = "") =>
  rows.push(`| ${home} | ${op} | ${ms(s.median)} | ${ms(s.p90)} | ${ms(s.min)} | ${note} |`);

async function sample(n: number, op: () => Promise<unknown>): Promise<number[]> {
  await op(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await op();
    times.push(performance.now() - t0);
  }
  return times;
}

// ── 1a. primitives in Node ──
{
  const stored = await hashPassword(password);
  row("node", "PBKDF2 hash (1 op)", stats(await sample(runs, () => hashPassword(password))));
  row(
    "node",
    "PBKDF2 verify (1 op)",
    stats(await sample(runs, () => verifyPassword(password, stored))),
  );
  const keys = await KeySet.fromJson(JSON.stringify([await generateSigningJwk()]));
  const claims = { issuer: "i", audience: "a", subject: "usr_x", ttlSeconds: 900 };
  row(
    "node",
    "Ed25519 sign (1 op)",
    stats(await sample(runs * 10, () => keys.sign({ role: "user" }, claims))),
  );
}

const dir = mkdtempSync(join(tmpdir(), "nearbase-bench-auth-"));
const env = {
  JWT_PRIVATE_KEYS: JSON.stringify([await generateSigningJwk()]),
  RATE_LIMIT_AUTH: "off",
  LOGIN_LIMIT_PER_ACCOUNT: "999999/1m",
  LOGIN_LIMIT_PER_ACCOUNT_TOTAL: "999999/1m",
  CREDENTIAL_FAILURE_LIMIT: "off",
  LOG_LEVEL: "warn",
  LOG_SAMPLE_RATE: "0",
};
const targets: Target[] = [];

try {
  // ── 1b. primitives in workerd ──
  if (wanted.includes("workers")) {
    const probe = await startProcess(
      "probe",
      "wrangler",
      ["dev", "-c", "bench/workers/wrangler.toml", "--ip", "127.0.0.1", "--port", `${ports.probe}`],
      {
        env: { CLOUDFLARE_CF_FETCH_ENABLED: "false" },
        url: `http://127.0.0.1:${ports.probe}`,
        readyPath: "/?n=0",
        timeoutMs: 90_000,
      },
    );
    targets.push(probe);
    const time = async (op: string, n: number) => {
      const t0 = performance.now();
      await (await fetch(`${probe.url}/?op=${op}&n=${n}`)).arrayBuffer();
      return performance.now() - t0;
    };
    for (const [op, label, n] of [
      ["hash", "PBKDF2 hash (1 op)", 10],
      ["verify", "PBKDF2 verify (1 op)", 10],
      ["sign", "Ed25519 sign (1 op)", 300],
    ] as const) {
      await time(op, n);
      const perOp: number[] = [];
      for (let i = 0; i < Math.max(5, runs / 2); i++) {
        const empty = await time(op, 0);
        perOp.push(((await time(op, n)) - empty) / n);
      }
      row("workerd", label, stats(perOp), `(t(${n}) − t(0)) / ${n}`);
    }
  }

  // ── 2. requests in each home ──
  if (wanted.includes("node")) {
    targets.push(
      await startProcess("node", "tsx", ["src/platform/node/main.ts"], {
        env: {
          ...env,
          PORT: String(ports.node),
          DATABASE_URL: `file:${join(dir, "node.db")}`,
          SIGNING_KEYS_FILE: join(dir, "keys.json"),
        },
        url: `http://127.0.0.1:${ports.node}`,
        readyPath: "/ready",
      }),
    );
  }
  if (wanted.includes("workers")) {
    const vars = Object.entries(env).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
    targets.push(
      await startProcess("workers", "tsx", ["scripts/dev.ts", ...vars], {
        env: { PORT: String(ports.workers), DEV_DB_PATH: join(dir, "workers.db") },
        url: `http://127.0.0.1:${ports.workers}`,
        readyPath: "/ready",
        timeoutMs: 90_000,
      }),
    );
  }

  for (const target of targets.filter((t) => t.name !== "probe")) {
    const post = async (path: string, body: unknown) => {
      const res = await fetch(target.url + path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${target.name} ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as { refreshToken: string };
    };
    const home = target.name === "node" ? "node" : "workerd";
    row(
      home,
      "GET /health (round trip)",
      stats(await sample(runs, async () => (await fetch(`${target.url}/health`)).arrayBuffer())),
    );
    let n = 0;
    const email = () => `bench${Date.now()}-${n++}@example.com`;
    row(
      home,
      "POST /api/auth/signup",
      stats(await sample(runs, () => post("/api/auth/signup", { email: email(), password }))),
      "1 hash, 2 db round trips",
    );
    const account = email();
    await post("/api/auth/signup", { email: account, password });
    row(
      home,
      "POST /api/auth/login",
      stats(await sample(runs, () => post("/api/auth/login", { email: account, password }))),
      "1 verify, 3 db round trips",
    );
    let refreshToken = (await post("/api/auth/login", { email: account, password })).refreshToken;
    row(
      home,
      "POST /api/auth/refresh",
      stats(
        await sample(runs, async () => {
          refreshToken = (await post("/api/auth/refresh", { refreshToken })).refreshToken;
        }),
      ),
      "3 db round trips",
    );
  }
} finally {
  for (const target of targets) await target.stop();
  rmSync(dir, { recursive: true, force: true });
}

console.log(
  `\nPBKDF2-SHA256, ${passwordParams.iterations} iterations; ${runs} samples; wall ms, one request at a time\n`,
);
console.log("| home | operation | median | p90 | min | note |");
console.log("|---|---|---:|---:|---:|---|");
for (const r of rows) console.log(r);
