// `npm run bench:realtime` (npx tsx bench/realtime.ts): realtime fan-out, as issue #14 asks.
//   node:    BENCH_SUBSCRIBERS_NODE (1,000) SSE subscribers on the Node home (one process,
//            embedded libSQL file);
//   workers: BENCH_SUBSCRIBERS_WORKERS (100) SSE subscribers on the Workers home under
//            `wrangler dev` (worker → RealtimeShard Durable Objects → local libSQL HTTP server).
// Each: half the subscribers anonymous, half signed in (spread over BENCH_USERS accounts), all on
// `posts`; one write every BENCH_INTERVAL_MS (100) for BENCH_SECONDS (10), every 10th a draft
// (only its author's streams may receive it: a leak fails the run). Reported: latency from the
// write's 201 (the commit happened before it) and from the request's start (an upper bound) to
// each delivery, p50/p99/max; deliveries missing or repeated; server RSS per open connection;
// server CPU over the write phase and over an idle phase of the same length with every
// connection open. BENCH_TARGETS (node,workers) picks targets. Results go to
// bench/results/realtime-latest.md.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { type IncomingMessage, request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createClient } from "@libsql/client";
import { hashPassword } from "../src/core/accounts/passwords";
import { generateSigningJwk } from "../src/core/accounts/signing-keys";
import { migrateDatabase } from "../src/platform/node/migrate";
import { memoryKiB, startProcess, type Target } from "./lib/target";

const wanted = (process.env.BENCH_TARGETS ?? "node,workers").split(",");
const subscribersOf: Record<string, number> = {
  node: Number(process.env.BENCH_SUBSCRIBERS_NODE ?? 1000),
  workers: Number(process.env.BENCH_SUBSCRIBERS_WORKERS ?? 100),
};
const users = Number(process.env.BENCH_USERS ?? 10);
const intervalMs = Number(process.env.BENCH_INTERVAL_MS ?? 100);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const password = "bench password 123";
const ports: Record<string, number> = { node: 18812, workers: 18814 };

const jwk = await generateSigningJwk();
const settings: Record<string, string> = {
  JWT_PRIVATE_KEYS: JSON.stringify([jwk]),
  RATE_LIMIT_READ: "off",
  RATE_LIMIT_WRITE: "off",
  RATE_LIMIT_AUTH: "off",
  LOGIN_LIMIT_PER_ACCOUNT: "999999/1m",
  LOGIN_LIMIT_PER_ACCOUNT_TOTAL: "999999/1m",
  CREDENTIAL_FAILURE_LIMIT: "off",
  LOG_LEVEL: "warn",
  LOG_SAMPLE_RATE: "0",
  REALTIME_MAX_CONNECTIONS_PER_USER: "100000",
  REALTIME_MAX_CONNECTIONS_PER_ADDRESS: "100000",
};

const dir = mkdtempSync(join(tmpdir(), "nearbase-bench-realtime-"));
async function freshDatabase(name: string) {
  const path = join(dir, `${name}.db`);
  const db = createClient({ url: `file:${path}` });
  await migrateDatabase(db);
  const now = new Date().toISOString();
  const hash = await hashPassword(password);
  for (let i = 0; i < users; i++)
    await db.execute({
      sql: "INSERT INTO nb_users (id, email, email_verified_at, password_hash, name, role, created, updated) VALUES (?, ?, ?, ?, 'Bench', 'user', ?, ?)",
      args: [`usr_rtbench${i}`, `rt${i}@example.com`, now, hash, now, now],
    });
  db.close();
  return path;
}

async function start(name: string): Promise<Target> {
  const path = await freshDatabase(name);
  if (name === "node")
    return startProcess("node", "tsx", ["src/platform/node/main.ts"], {
      env: {
        ...settings,
        PORT: String(ports.node),
        DATABASE_URL: `file:${path}`,
        NODE_WORKERS: "1",
        NODE_OPTIONS: `--expose-gc --require ${resolve("bench/realtime-gc.cjs")}`,
      },
      url: `http://127.0.0.1:${ports.node}`,
      readyPath: "/ready",
    });
  const vars = Object.entries(settings).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  return startProcess("workers", "tsx", ["scripts/dev.ts", ...vars], {
    env: { PORT: String(ports.workers), DEV_DB_PATH: path },
    url: `http://127.0.0.1:${ports.workers}`,
    readyPath: "/ready",
    timeoutMs: 90_000,
  });
}

interface Subscriber {
  /** The account behind the stream (undefined: anonymous). */
  user: number | undefined;
  /** Arrival times (performance.now()) of changes, by record id. */
  got: Map<string, number[]>;
  res: IncomingMessage;
}

/** One SSE stream over node:http (lighter than fetch for a thousand streams in one process). */
function openStream(base: string, token: string | undefined, user: number | undefined) {
  return new Promise<Subscriber>((resolve, reject) => {
    const req = request(
      `${base}/api/realtime?topic=posts`,
      {
        agent: false,
        headers: {
          accept: "text/event-stream",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`stream refused: ${res.statusCode}`));
        }
        const sub: Subscriber = { user, got: new Map(), res };
        res.setEncoding("utf8");
        let buffer = "";
        res.on("data", (chunk: string) => {
          const at = performance.now();
          buffer += chunk;
          let end = buffer.indexOf("\n\n");
          while (end >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf("\n\n");
            const data = block.split("\n").find((l) => l.startsWith("data: "));
            if (data === undefined) continue;
            const frame = JSON.parse(data.slice(6)) as {
              type: string;
              record?: { id: string };
            };
            if (frame.type === "connected") resolve(sub);
            else if (frame.type === "change") {
              const id = frame.record!.id;
              const list = sub.got.get(id);
              if (list === undefined) sub.got.set(id, [at]);
              else list.push(at);
            } else if (frame.type === "closing") reject(new Error(`closed: ${data}`));
          }
        });
        res.on("error", () => {});
      },
    );
    req.on("error", reject);
    req.end();
  });
}

async function login(base: string, i: number): Promise<string> {
  const res = await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: `rt${i}@example.com`, password }),
  });
  if (!res.ok) throw new Error(`login: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

/** CPU ms of the process tree by process name (workerd vs the node processes around it). */
function cpuByName(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (id: number) => {
    try {
      const stat = readFileSync(`/proc/${id}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out[name] = (out[name] ?? 0) + ((Number(f[11]) + Number(f[12])) * 1000) / 100;
      const kids = readFileSync(`/proc/${id}/task/${id}/children`, "utf8").trim();
      for (const k of kids.split(/\s+/).filter(Boolean)) walk(Number(k));
    } catch {}
  };
  walk(pid);
  return out;
}
const diff = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]));
const total = (r: Record<string, number>) => Object.values(r).reduce((x, y) => x + y, 0);
const rssOf = (t: Target) => t.pids().reduce((s, p) => s + memoryKiB(p).rss, 0);
/** Resident memory after a full collection (the Node home preloads bench/realtime-gc.cjs). */
async function settledRss(t: Target, name: string) {
  if (name === "node") {
    for (const pid of treeOf(t.pids()[0]!))
      try {
        process.kill(pid, "SIGUSR2");
      } catch {}
    await sleep(1000);
  }
  return rssOf(t);
}
function treeOf(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return [
      pid,
      ...kids
        .split(/\s+/)
        .filter(Boolean)
        .flatMap((k) => treeOf(Number(k))),
    ];
  } catch {
    return [pid];
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

interface Result {
  target: string;
  subscribers: number;
  writes: number;
  expected: number;
  delivered: number;
  missing: number;
  repeated: number;
  leaked: number;
  write: { p50: number; p99: number };
  from201: { p50: number; p99: number; max: number };
  fromStart: { p50: number; p99: number };
  rssBeforeMiB: number;
  perConnectionKiB: number;
  cpuWriteMsPerS: number;
  cpuIdleMsPerS: number;
  cpuDetail: string;
  clientCpuMsPerS: number;
  /** Server CPU µs per delivery over the write phase. */
  cpuPerDeliveryUs: number;
  load: string;
}

async function run(name: string): Promise<Result> {
  const n = subscribersOf[name]!;
  console.log(`${name}: starting …`);
  const target = await start(name);
  try {
    const base = target.url;
    const tokens: string[] = [];
    for (let i = 0; i < users; i++) tokens.push(await login(base, i));
    // Warm up: a few writes and one short-lived stream.
    const writer = { authorization: `Bearer ${tokens[0]}`, "content-type": "application/json" };
    for (let i = 0; i < 5; i++)
      await fetch(`${base}/api/collections/posts/records`, {
        method: "POST",
        headers: writer,
        body: JSON.stringify({ title: "warm-up", status: "published" }),
      });
    const warm = await openStream(base, undefined, undefined);
    warm.res.destroy();
    await sleep(1000);
    const rssBefore = await settledRss(target, name);

    // Open the subscribers, 50 at a time.
    const subs: Subscriber[] = [];
    for (let i = 0; i < n; i += 50) {
      const batch = Array.from({ length: Math.min(50, n - i) }, (_, j) => {
        const k = i + j;
        const user = k % 2 === 0 ? (k / 2) % users : undefined;
        return openStream(base, user === undefined ? undefined : tokens[user], user);
      });
      subs.push(...(await Promise.all(batch)));
    }
    await sleep(2000);
    const rssAfter = await settledRss(target, name);
    console.log(`${name}: ${n} streams open`);

    // Idle phase: every connection open, nothing written.
    let cpu0 = cpuByName(target.pids()[0]!);
    await sleep(seconds * 1000);
    const idle = diff(cpu0, cpuByName(target.pids()[0]!));

    // Write phase: one write per interval, each timed from its start and its 201.
    const writes = new Map<string, { start: number; acked: number; draft: boolean }>();
    const writeTimes: number[] = [];
    cpu0 = cpuByName(target.pids()[0]!);
    const client0 = process.cpuUsage();
    const loadBefore = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
    const phaseStart = performance.now();
    const pending: Promise<void>[] = [];
    const count = Math.round((seconds * 1000) / intervalMs);
    for (let i = 0; i < count; i++) {
      const due = phaseStart + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const draft = i % 10 === 9;
      pending.push(
        (async () => {
          const start = performance.now();
          const res = await fetch(`${base}/api/collections/posts/records`, {
            method: "POST",
            headers: writer,
            body: JSON.stringify({ title: `rt ${i}`, status: draft ? "draft" : "published" }),
          });
          const acked = performance.now();
          if (res.status !== 201) throw new Error(`write: ${res.status} ${await res.text()}`);
          const { id } = (await res.json()) as { id: string };
          writes.set(id, { start, acked, draft });
          writeTimes.push(acked - start);
        })(),
      );
    }
    await Promise.all(pending);
    const phaseMs = performance.now() - phaseStart;
    const busy = diff(cpu0, cpuByName(target.pids()[0]!));
    const clientCpu = process.cpuUsage(client0);

    // Wait (up to 15 s) for every expected delivery.
    const sees = (s: Subscriber, w: { draft: boolean }) => !w.draft || s.user === 0;
    let expected = 0;
    for (const s of subs) for (const w of writes.values()) if (sees(s, w)) expected++;
    const deadline = Date.now() + 15_000;
    const arrived = () => {
      let got = 0;
      for (const s of subs) for (const [id, w] of writes) if (sees(s, w) && s.got.has(id)) got++;
      return got;
    };
    while (arrived() < expected && Date.now() < deadline) await sleep(200);

    const from201: number[] = [];
    const fromStart: number[] = [];
    let repeated = 0;
    let leaked = 0;
    for (const s of subs)
      for (const [id, w] of writes) {
        const times = s.got.get(id);
        if (times === undefined) continue;
        if (!sees(s, w)) {
          leaked++;
          continue;
        }
        repeated += times.length - 1;
        from201.push(times[0]! - w.acked);
        fromStart.push(times[0]! - w.start);
      }
    from201.sort((a, b) => a - b);
    fromStart.sort((a, b) => a - b);
    writeTimes.sort((a, b) => a - b);
    for (const s of subs) s.res.destroy();
    const delivered = from201.length;
    const perSecond = (ms: number, over: number) => (ms * 1000) / over;
    return {
      target: name,
      subscribers: n,
      writes: writes.size,
      expected,
      delivered,
      missing: expected - delivered,
      repeated,
      leaked,
      write: { p50: pct(writeTimes, 50), p99: pct(writeTimes, 99) },
      from201: { p50: pct(from201, 50), p99: pct(from201, 99), max: from201.at(-1) ?? Number.NaN },
      fromStart: { p50: pct(fromStart, 50), p99: pct(fromStart, 99) },
      rssBeforeMiB: rssBefore / 1024,
      perConnectionKiB: (rssAfter - rssBefore) / n,
      cpuWriteMsPerS: perSecond(total(busy), phaseMs),
      cpuIdleMsPerS: perSecond(total(idle), seconds * 1000),
      cpuDetail: Object.entries(busy)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${Math.round(perSecond(v, phaseMs))}`)
        .join(", "),
      clientCpuMsPerS: perSecond((clientCpu.user + clientCpu.system) / 1000, phaseMs),
      cpuPerDeliveryUs: (total(busy) * 1000) / Math.max(1, delivered),
      load: `${loadBefore} → ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`,
    };
  } finally {
    await target.stop();
  }
}

const results: Result[] = [];
for (const name of ["node", "workers"]) if (wanted.includes(name)) results.push(await run(name));

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const lines = [
  `# Realtime fan-out (${new Date().toISOString().slice(0, 10)})`,
  "",
  `One write every ${intervalMs} ms for ${seconds} s (every 10th a draft only its author's streams may see), SSE subscribers on \`posts\`, half anonymous, half signed in over ${users} accounts. Latency is from the write's 201 (the commit came before it) to each delivery; "from start" counts from the write request's start. CPU is the server's process tree (ms of CPU per wall second; 1000 = one core), over the write phase and over an idle phase with every stream open. Machine: ${process.env.BENCH_MACHINE ?? "2 shared cores"}; the load generator runs on the same machine.`,
  "",
  "| target | subscribers | writes | deliveries (expected) | missing | repeated | leaked drafts | write p50/p99 ms | delivery after 201 p50 / p99 / max ms | from start p50 / p99 ms | server RSS before (MiB) | RSS per connection (KiB) | server CPU writing (ms/s) | server CPU per delivery (µs) | server CPU idle (ms/s) | client CPU (ms/s) | machine load (1 min) |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...results.map(
    (r) =>
      `| ${r.target} | ${r.subscribers} | ${r.writes} | ${r.delivered} (${r.expected}) | ${r.missing} | ${r.repeated} | ${r.leaked} | ${f(r.write.p50)} / ${f(r.write.p99)} | ${f(r.from201.p50)} / ${f(r.from201.p99)} / ${f(r.from201.max)} | ${f(r.fromStart.p50)} / ${f(r.fromStart.p99)} | ${f(r.rssBeforeMiB)} | ${f(r.perConnectionKiB)} | ${f(r.cpuWriteMsPerS, 0)} | ${f(r.cpuPerDeliveryUs)} | ${f(r.cpuIdleMsPerS, 0)} | ${f(r.clientCpuMsPerS, 0)} | ${r.load} |`,
  ),
  "",
  ...results.map((r) => `- ${r.target} CPU while writing, by process: ${r.cpuDetail}`),
  "",
];
const report = lines.join("\n");
console.log(report);
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/realtime-latest.md", report);
const bad = results.filter((r) => r.missing > 0 || r.leaked > 0 || r.repeated > 0);
if (bad.length > 0) {
  console.error(`deliveries missing, repeated or leaked: ${bad.map((r) => r.target).join(", ")}`);
  process.exitCode = 1;
}
