// `npm run bench:production`: the numbers issue 17 asks for, same run, on loopback.
//   1. The Node home's sources run through tsx (how `npm start` ran it until Dec 2026) vs the
//      compiled build (`node dist/server.js`, what `npm start` runs now):
//      time from spawn to the first 200 on /ready, RSS idle, RSS peak and throughput under load
//      (anonymous public list of 20, BENCH_SECONDS at BENCH_CONNECTIONS). BENCH_ROUNDS rounds,
//      alternating which goes first; medians reported.
//   2. Read latency of a get-by-id served from an embedded file vs through a libSQL server over
//      HTTP (a remote primary or replica on loopback: the cost of the hop), shared cache off.
// Writes bench/results/production-<date>.md.
//
// `npm run bench:production -- --start <distA> <distB> …`: only the start of each build (a dist/
// folder holding server.js — `git archive <commit> | tar -x -C /tmp/x`, link node_modules,
// migrations and ui, `npx tsx scripts/build.ts`), interleaved over BENCH_ROUNDS rounds on copies
// of the peer benchmark's dataset (1k users, 10k posts): wall time and the process's CPU time
// from spawn to the first 200 on /ready, RSS (anonymous and file-backed, /proc/<pid>/smaps_rollup)
// 2 s after it and again BENCH_LATE_SECONDS (25) after it, once V8's own memory reducer has run.
// Appends a section to bench/results/production-<date>.md.
import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createClient } from "@libsql/client";
import { seed, seedPostId } from "../scripts/seed-data";
import { generateSigningJwk } from "../src/core/accounts/signing-keys";
import { migrateDatabase, optimizeDatabase } from "../src/platform/node/migrate";
import { freePort } from "../test/processes";
import { startLibsqlServer } from "../tools/libsql-server/server";
import { seedBenchDatabase } from "./lib/dataset";
import { runLoad } from "./lib/load";
import { memoryKiB, processCpuMs, startProcess, type Target } from "./lib/target";
import { nearbaseBenchEnv } from "./peers/settings";

const startIndex = process.argv.indexOf("--start");
if (startIndex !== -1) {
  await compareStarts(process.argv.slice(startIndex + 1));
  process.exit(0);
}

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const latencyRequests = Number(process.env.BENCH_LATENCY_REQUESTS ?? 1000);

const dir = mkdtempSync(join(tmpdir(), "nearbase-production-"));
const base = join(dir, "base.db");
{
  const db = createClient({ url: `file:${base}` });
  await migrateDatabase(db);
  await seed(db, { users: 200, posts: 2000 });
  await optimizeDatabase(db);
  db.close();
}
console.log("building dist/server.js …");
execFileSync("npm", ["run", "--silent", "build"], { stdio: "inherit" });
const keys = JSON.stringify([await generateSigningJwk()]);

async function start(kind: "tsx" | "compiled", env: Record<string, string> = {}): Promise<Target> {
  const port = await freePort();
  const file = join(dir, `${kind}-${port}.db`);
  copyFileSync(base, file);
  const args =
    kind === "tsx" ? ["--import", "tsx", "src/platform/node/main.ts"] : ["dist/server.js"];
  return startProcess(kind, process.execPath, args, {
    env: {
      DATABASE_URL: `file:${file}`,
      JWT_PRIVATE_KEYS: keys,
      DATA_KEYS_FILE: join(dir, `keys-${port}.json`),
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      RATE_LIMIT_READ: "off",
      ...env,
    },
    url: `http://127.0.0.1:${port}`,
    readyPath: "/ready",
    pollMs: 10,
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// 1. tsx vs compiled.
type Sample = { startupMs: number; idleMiB: number; loadPeakMiB: number; rps: number };
const samples: Record<"tsx" | "compiled", Sample[]> = { tsx: [], compiled: [] };
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? (["tsx", "compiled"] as const) : (["compiled", "tsx"] as const);
  for (const kind of order) {
    const target = await start(kind);
    await new Promise((r) => setTimeout(r, 2000));
    const pid = target.pids()[0]!;
    const idle = memoryKiB(pid).rss;
    let peak = idle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, memoryKiB(pid).rss);
    }, 100);
    const load = await runLoad(
      target.url,
      { id: "list", title: "public list", path: "/api/collections/posts/records?limit=20" },
      seconds,
      connections,
    );
    clearInterval(sampler);
    samples[kind].push({
      startupMs: target.startupMs,
      idleMiB: idle / 1024,
      loadPeakMiB: peak / 1024,
      rps: load.requestsPerSec,
    });
    await target.stop();
  }
}

// 2. Embedded file vs a libSQL server over HTTP, get by id, shared cache off, one at a time.
async function latency(target: Target) {
  const times: number[] = [];
  for (let i = 0; i < latencyRequests; i++) {
    const t0 = performance.now();
    const res = await fetch(
      `${target.url}/api/collections/posts/records/${seedPostId((i % 1000) * 2)}`,
    );
    await res.arrayBuffer();
    times.push(performance.now() - t0);
  }
  return {
    p50: median(times),
    p99: [...times].sort((a, b) => a - b)[Math.floor(times.length * 0.99)]!,
  };
}
const remoteFile = join(dir, "remote.db");
copyFileSync(base, remoteFile);
const server = await startLibsqlServer({ path: remoteFile });
const embedded = await start("compiled", { SHARED_CACHE: "off" });
const remote = await start("compiled", { SHARED_CACHE: "off", DATABASE_URL: server.url });
await latency(embedded);
await latency(remote);
const local = await latency(embedded);
const overHttp = await latency(remote);
await embedded.stop();
await remote.stop();
await server.close();

const row = (kind: "tsx" | "compiled") => {
  const s = samples[kind];
  return `| ${kind === "tsx" ? "tsx (`npm start`)" : "compiled (`node dist/server.js`)"} | ${median(s.map((x) => x.startupMs)).toFixed(0)} | ${median(s.map((x) => x.idleMiB)).toFixed(1)} | ${median(s.map((x) => x.loadPeakMiB)).toFixed(1)} | ${median(s.map((x) => x.rps)).toFixed(0)} |`;
};
const date = new Date().toISOString().slice(0, 10);
const report = `# Node home in production — ${date}

\`npm run bench:production\` (bench/node-production.ts). ${rounds} rounds alternating order, medians;
load: anonymous public list of 20, ${seconds} s at ${connections} connections, 2,000 seeded posts.
Machine: ${process.env.BENCH_MACHINE ?? "2 cores, shared"}.

| run | start → /ready (ms) | RSS idle (MiB) | RSS peak under load (MiB) | list req/s |
| --- | ---: | ---: | ---: | ---: |
${row("tsx")}
${row("compiled")}

Get by id, one request at a time, shared cache off (${latencyRequests} requests):

| database | p50 (ms) | p99 (ms) |
| --- | ---: | ---: |
| embedded file (the region's own copy) | ${local.p50.toFixed(2)} | ${local.p99.toFixed(2)} |
| libSQL server over HTTP on loopback (a remote primary) | ${overHttp.p50.toFixed(2)} | ${overHttp.p99.toFixed(2)} |
`;
console.log(report);
mkdirSync("bench/results", { recursive: true });
writeFileSync(`bench/results/production-${date}.md`, report);
rmSync(dir, { recursive: true, force: true });

/** `--start <dist>…`: start time and idle memory of each build, interleaved (see the top). */
async function compareStarts(dists: string[]) {
  if (dists.length === 0) throw new Error("usage: bench/node-production.ts --start <dist>…");
  const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
  const lateSeconds = Number(process.env.BENCH_LATE_SECONDS ?? 25);
  const dir = mkdtempSync(join(tmpdir(), "nearbase-start-"));
  const base = join(dir, "base.db");
  await seedBenchDatabase(base);
  const keys = JSON.stringify([await generateSigningJwk()]);
  const node = resolve("node_modules/.bin/node");
  const rollup = (pid: number) => {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1]);
    return { rss: kib("Rss") / 1024, anon: kib("Anonymous") / 1024 };
  };
  type Run = { wall: number; cpu: number; rss: number; anon: number; lateRss: number };
  const runs = new Map<string, Run[]>(dists.map((d) => [d, []]));
  const loads = [loadavg()[0]!];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (let round = 0; round < rounds; round++) {
    for (const dist of round % 2 === 0 ? dists : [...dists].reverse()) {
      const port = await freePort();
      const file = join(dir, `${port}.db`);
      copyFileSync(base, file);
      const target = await startProcess(dist, node, [join(resolve(dist), "server.js")], {
        env: {
          ...nearbaseBenchEnv,
          JWT_PRIVATE_KEYS: keys,
          DATA_KEYS_FILE: join(dir, "data-keys.json"),
          PORT: String(port),
          DATABASE_URL: `file:${file}`,
        },
        url: `http://127.0.0.1:${port}`,
        readyPath: "/ready",
        pollMs: 5,
      });
      const pid = target.pids()[0]!;
      const cpu = processCpuMs(pid);
      await new Promise((r) => setTimeout(r, 2000));
      const idle = rollup(pid);
      await new Promise((r) => setTimeout(r, (lateSeconds - 2) * 1000));
      const late = rollup(pid);
      runs.get(dist)!.push({ wall: target.startupMs, cpu, ...idle, lateRss: late.rss });
      loads.push(loadavg()[0]!);
      await target.stop();
      rmSync(file, { force: true });
    }
  }
  const lines = [
    "| build | start → first 200, wall (ms) | CPU to it (ms) | RSS 2 s after (MiB) | of which anonymous | RSS " +
      `${lateSeconds} s after (MiB) |`,
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...dists.map((dist) => {
      const r = runs.get(dist)!;
      const m = (f: (x: Run) => number, digits = 0) => median(r.map(f)).toFixed(digits);
      return `| ${dist} | ${m((x) => x.wall)} | ${m((x) => x.cpu)} | ${m((x) => x.rss, 1)} | ${m((x) => x.anon, 1)} | ${m((x) => x.lateRss, 1)} |`;
    }),
  ];
  const section = `
## Start and idle memory by build — ${new Date().toISOString().slice(0, 16)}Z

\`npm run bench:production -- --start ${dists.join(" ")}\` (bench/node-production.ts): ${rounds}
interleaved rounds, medians; the peer benchmark's dataset (1k users, 10k posts) and settings;
wall and CPU time (the server process's own, /proc schedstat) from spawn to the first 200 on
/ready, polled every 5 ms; load average (1 min) ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${process.env.BENCH_MACHINE ?? "2 cores, shared"}.

${lines.join("\n")}
`;
  console.log(section);
  mkdirSync("bench/results", { recursive: true });
  appendFileSync(`bench/results/production-${new Date().toISOString().slice(0, 10)}.md`, section);
  rmSync(dir, { recursive: true, force: true });
}
