// `npm run bench`: Nearbase (Node home, Workers home under wrangler dev) against the floor (bare
// hono + libSQL + jose doing the same SQL and token checks), same dataset, same run. Prints a
// markdown table with ratios to the floor and writes it, with an SVG chart, to bench/results/.
// BENCH_SECONDS (default 5) and BENCH_CONNECTIONS (default 16) set the load; BENCH_TARGETS
// (default floor,node,workers) picks targets.
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSigningJwk } from "../src/core/accounts/signing-keys";
import {
  benchEmail,
  dataset,
  benchPassword as password,
  samplePostId,
  seedBenchDatabase,
} from "./lib/dataset";
import { runLoad, type Scenario } from "./lib/load";
import { barChart, markdownTable, type Row } from "./lib/report";
import { memoryKiB, startProcess, type Target } from "./lib/target";
import { nearbaseBenchEnv } from "./peers/settings";
import { graphqlBaseline, graphqlOwnerList, graphqlPublicList } from "./scenarios/graphql";

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const wanted = (process.env.BENCH_TARGETS ?? "floor,node,workers").split(",");
const only = process.env.BENCH_SCENARIOS?.split(",");

/**
 * The admin dashboard's first load (#16): /_/, its script and its styles as the Node home sends
 * them to a browser asking for gzip — bytes on the wire (Content-Length), and uncompressed.
 */
async function adminFirstLoad(url: string) {
  const get = async (path: string) => {
    const res = await fetch(url + path, { headers: { "accept-encoding": "gzip" } });
    if (!res.ok) throw new Error(`admin UI ${path}: ${res.status}`);
    const wire = Number(res.headers.get("content-length"));
    const text = await res.text(); // fetch undoes the gzip
    return { wire, raw: Buffer.byteLength(text), text };
  };
  const page = await get("/_/");
  const assets = [...page.text.matchAll(/(?:src|href)="(\/_\/assets\/[^"]+\.(?:js|css))"/g)];
  const files = [page, ...(await Promise.all(assets.map((m) => get(m[1]!))))];
  const kib = (n: number) => (n / 1024).toFixed(1);
  return `Admin dashboard (/_/) first load from the Node home: ${kib(files.reduce((n, f) => n + f.wire, 0))} KiB gzip on the wire (${kib(files.reduce((n, f) => n + f.raw, 0))} KiB uncompressed; HTML, script, styles; budget 150 KiB).`;
}

const dir = mkdtempSync(join(tmpdir(), "nearbase-bench-"));
const base = join(dir, "base.db");
console.log(`seeding ${dataset.posts} posts, ${dataset.users} users into ${base} …`);
await seedBenchDatabase(base);
const copy = (name: string) => {
  const path = join(dir, `${name}.db`);
  copyFileSync(base, path);
  return path;
};

const jwk = await generateSigningJwk();
const keys = JSON.stringify([jwk]);
const { d: _d, ...publicJwk } = jwk;
// The benchmark's settings (bench/peers/settings.ts: no rate limits, no request logging), shared
// with bench:graphql, bench:peers and bench:profile. HOST is the Node home's listen address only.
const { HOST: _host, ...settings } = nearbaseBenchEnv;
const common = { JWT_PRIVATE_KEYS: keys, ...settings };
const ports = {
  floor: 18801,
  node: 18802,
  nodeCached: 18803,
  workers: 18804,
  workersCached: 18805,
};

const targets: Record<string, Target> = {};
try {
  if (wanted.includes("floor")) {
    targets.floor = await startProcess("floor", "tsx", ["bench/floor.ts"], {
      env: {
        PORT: String(ports.floor),
        DATABASE_URL: `file:${copy("floor")}`,
        JWKS: JSON.stringify({ keys: [publicJwk] }),
        JWT_PRIVATE_KEYS: keys,
      },
      url: `http://127.0.0.1:${ports.floor}`,
      readyPath: "/ready",
    });
  }
  if (wanted.includes("node")) {
    targets.node = await startProcess("node", "tsx", ["src/platform/node/main.ts"], {
      env: {
        ...common,
        PORT: String(ports.node),
        DATABASE_URL: `file:${copy("node")}`,
        SHARED_CACHE: "off",
      },
      url: `http://127.0.0.1:${ports.node}`,
      readyPath: "/ready",
    });
    targets["node+cache"] = await startProcess("node+cache", "tsx", ["src/platform/node/main.ts"], {
      env: {
        ...common,
        PORT: String(ports.nodeCached),
        DATABASE_URL: `file:${copy("node-cached")}`,
      },
      url: `http://127.0.0.1:${ports.nodeCached}`,
      readyPath: "/ready",
    });
  }
  if (wanted.includes("workers")) {
    const started = performance.now();
    const vars = Object.entries({ ...common, SHARED_CACHE: "off" }).flatMap(([k, v]) => [
      "--var",
      `${k}:${v}`,
    ]);
    targets.workers = await startProcess("workers", "tsx", ["scripts/dev.ts", ...vars], {
      env: { PORT: String(ports.workers), DEV_DB_PATH: copy("workers") },
      url: `http://127.0.0.1:${ports.workers}`,
      readyPath: "/ready",
      timeoutMs: 90_000,
    });
    console.log(`workers: wrangler dev ready after ${Math.round(performance.now() - started)} ms`);
    // A second instance with the edge cache (Cache API) on; its own inspector port.
    const cachedVars = Object.entries(common).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
    targets["workers+cache"] = await startProcess(
      "workers+cache",
      "tsx",
      ["scripts/dev.ts", ...cachedVars],
      {
        env: {
          PORT: String(ports.workersCached),
          INSPECTOR_PORT: "9339",
          DEV_DB_PATH: copy("workers-cached"),
        },
        url: `http://127.0.0.1:${ports.workersCached}`,
        readyPath: "/ready",
        timeoutMs: 90_000,
      },
    );
  }

  // Tokens: Nearbase targets log in for real; the floor's tokens come from its own login.
  const tokens: Record<string, string> = {};
  for (const [name, target] of Object.entries(targets)) {
    const res = await fetch(`${target.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: benchEmail, password }),
    });
    if (!res.ok) throw new Error(`${name}: login failed ${res.status} ${await res.text()}`);
    tokens[name] = ((await res.json()) as { accessToken: string }).accessToken;
  }

  const json = { "content-type": "application/json" };
  const scenarios = (name: string): (Scenario & { targets: string[] })[] => {
    const auth = { authorization: `Bearer ${tokens[name]}` };
    return [
      {
        id: "1",
        title: "1 public list of 20 (no cache)",
        path: "/api/collections/posts/records?limit=20",
        targets: ["floor", "node", "workers"],
      },
      {
        id: "2",
        title: "2 public list of 20 (edge cache hit)",
        path: "/api/collections/posts/records?limit=20",
        targets: ["floor", "node+cache", "workers+cache"],
      },
      {
        id: "3",
        title: "3 owner-filtered list (JWT + rule)",
        path: "/api/collections/bookmarks/records?limit=20",
        headers: auth,
        targets: ["floor", "node", "workers"],
      },
      {
        id: "4",
        title: "4 get by id",
        path: `/api/collections/posts/records/${samplePostId}`,
        targets: ["floor", "node", "workers"],
      },
      {
        id: "5",
        title: "5 create",
        method: "POST",
        path: "/api/collections/posts/records",
        headers: { ...auth, ...json },
        body: JSON.stringify({ title: "bench" }),
        targets: ["floor", "node", "workers"],
      },
      {
        id: "6",
        title: "6 login (PBKDF2 100k)",
        method: "POST",
        path: "/api/auth/login",
        headers: json,
        body: JSON.stringify({ email: benchEmail, password }),
        targets: ["floor", "node", "workers"],
      },
      { ...graphqlPublicList(), targets: ["node", "workers"] },
      { ...graphqlOwnerList(tokens[name] ?? ""), targets: ["node", "workers"] },
      {
        id: "7",
        title: "7 mixed 80/15/5 read/write/auth",
        path: "/",
        targets: ["floor", "node", "workers"],
        requests: [
          ...Array.from({ length: 16 }, () => ({
            method: "GET" as const,
            path: "/api/collections/posts/records?limit=20",
          })),
          {
            method: "POST" as const,
            path: "/api/collections/posts/records",
            headers: { ...auth, ...json },
            body: JSON.stringify({ title: "mixed" }),
          },
          {
            method: "POST" as const,
            path: "/api/collections/posts/records",
            headers: { ...auth, ...json },
            body: JSON.stringify({ title: "mixed" }),
          },
          {
            method: "POST" as const,
            path: "/api/collections/posts/records",
            headers: { ...auth, ...json },
            body: JSON.stringify({ title: "mixed" }),
          },
          {
            method: "POST" as const,
            path: "/api/auth/login",
            headers: json,
            body: JSON.stringify({ email: benchEmail, password }),
          },
        ],
      },
    ];
  };

  // Sequential log-in latency per target: one request at a time, so it is the cost of one
  // PBKDF2 verify (+ a session write) in that home, not a queueing figure.
  const loginLatency: string[] = [];
  for (const [name, target] of Object.entries(targets)) {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const res = await fetch(`${target.url}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: benchEmail, password }),
      });
      await res.arrayBuffer();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    loginLatency.push(`| ${name} | ${times[5]!.toFixed(1)} | ${times[0]!.toFixed(1)} |`);
  }

  const rows: Row[] = [];
  for (const scenario of scenarios("floor").filter(
    (s) => only === undefined || only.includes(s.id),
  )) {
    let floor: Row | undefined;
    for (const name of scenario.targets) {
      const target = targets[name];
      if (!target) continue;
      const s = scenarios(name).find((x) => x.id === scenario.id)!;
      const result = await runLoad(target.url, s, seconds, connections);
      const mem = target
        .pids()
        .map(memoryKiB)
        .reduce((a, m) => ({ rss: a.rss + m.rss, peak: a.peak + m.peak }), { rss: 0, peak: 0 });
      const row: Row = {
        scenario: scenario.title,
        target: name,
        result,
        rssMiB: mem.rss / 1024,
        peakMiB: mem.peak / 1024,
        ratio: undefined,
      };
      if (name === "floor") floor = row;
      else if (floor) row.ratio = result.requestsPerSec / floor.result.requestsPerSec;
      // GraphQL scenarios: relative to the same read over REST on the same target.
      const rest = graphqlBaseline[scenario.id];
      if (rest !== undefined) {
        const same = rows.find((r) => r.scenario.startsWith(rest) && r.target === name);
        if (same) row.ratio = result.requestsPerSec / same.result.requestsPerSec;
      }
      if (scenario.id === "2" && name.endsWith("+cache")) {
        const home = name.replace("+cache", "");
        const uncached = rows.find((r) => r.scenario.startsWith("1 ") && r.target === home);
        if (uncached) row.ratio = result.requestsPerSec / uncached.result.requestsPerSec;
      }
      rows.push(row);
      if (result.non2xx > 0 && s.requests === undefined) {
        const probe = await fetch(target.url + s.path, {
          method: s.method ?? "GET",
          headers: s.headers,
          body: s.body,
        });
        console.log(
          `  ${name}: a failing request answered ${probe.status}: ${(await probe.text()).slice(0, 200)}`,
        );
      }
      console.log(
        `${scenario.title.padEnd(36)} ${name.padEnd(11)} ${result.requestsPerSec.toFixed(0).padStart(7)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms  non-2xx ${result.non2xx}`,
      );
    }
  }

  const adminUi = targets.node
    ? await adminFirstLoad(targets.node.url).catch((e: Error) => `Admin dashboard: ${e.message}.`)
    : undefined;

  const date = new Date().toISOString().slice(0, 10);
  const table = markdownTable(rows);
  const note = [
    `# Nearbase benchmark — ${date}`,
    "",
    `Machine: ${process.env.BENCH_MACHINE ?? "2 cores, 24 GiB (shared)"}; ${seconds} s per scenario at ${connections} connections after a 1 s warm-up; autocannon on loopback.`,
    `Dataset: ${dataset.posts} posts, ${dataset.users} users (seeded deterministically). "× floor" is throughput relative to the floor in this run; for scenario 2 (cache hit) it is relative to Nearbase's own uncached scenario 1; for 8 and 9 (GraphQL) to REST scenarios 1 and 3 on the same target.`,
    "Memory: RSS and peak (VmHWM) of the target's process tree after the scenario (Workers: wrangler + workerd + the local libSQL server).",
    "",
    table,
    "",
    "Sequential log-in (one at a time; mostly one PBKDF2-SHA256 100k verify):",
    "",
    "| target | median ms | min ms |",
    "|---|---:|---:|",
    ...loginLatency,
    "",
    ...(adminUi === undefined ? [] : [adminUi, ""]),
  ].join("\n");
  // BENCH_RESULTS_DIR: write a trial run elsewhere than the committed results.
  const out = process.env.BENCH_RESULTS_DIR ?? "bench/results";
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/${date}.md`, note);
  const chart = barChart(rows, `Nearbase vs floor, req/s (${date})`);
  writeFileSync(`${out}/${date}.svg`, chart);
  writeFileSync(`${out}/latest.svg`, chart);
  writeFileSync(`${out}/latest.md`, note);
  console.log(`\n${note}\nwritten to ${out}/${date}.md and .svg`);
} finally {
  for (const target of Object.values(targets)) await target.stop();
}
