// `npm run bench:peers` (`-- --quick` for a short smoke run): Nearbase's production start path
// (`node dist/server.js`, one process and NODE_WORKERS=auto), the floor (bare hono + libSQL +
// jose, same SQL), PocketBase 0.22 and Directus 11 — installed on demand into bench/.peers/ —
// on the same data (1k users, 10k posts), rules and indexes, in one run with the order of
// targets rotated per scenario and round. Reports req/s, p50/p99, CPU ms per request (process
// tree utime+stime ÷ requests: steadier than req/s on a shared machine), RSS, start to first
// 200, into bench/results/peers-<date>.md and .svg.
//
// Creates (scenario 6) are deleted from each target's own file right after its create run, so
// every round's lists read the same rows in every target (a create adds drafts that a
// newest-first public list would otherwise have to skip, each target by its own create rate).
//
// Env: BENCH_SECONDS (default 10; quick 2), BENCH_ROUNDS (5; quick 1), BENCH_CONNECTIONS (16),
// PEERS_TARGETS (comma list; default every target), PEERS_SKIP_BUILD=1 (reuse dist/server.js).
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createClient } from "@libsql/client";
import { generateSigningJwk } from "../../src/core/accounts/signing-keys";
import {
  benchEmail,
  benchPassword,
  benchUser,
  dataset,
  samplePostId,
  seedBenchDatabase,
} from "../lib/dataset";
import { type LoadResult, runLoad, type Scenario } from "../lib/load";
import { barChart, type Row } from "../lib/report";
import { cpuTimeMs, memoryKiB, startProcess, type Target } from "../lib/target";
import { setupDirectus } from "./directus";
import { setupPocketBase } from "./pocketbase";
import { nearbaseBenchEnv } from "./settings";

const quick = process.argv.includes("--quick");
const seconds = Number(process.env.BENCH_SECONDS ?? (quick ? 2 : 10));
const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 5));
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const allTargets = [
  "floor",
  "nearbase",
  "nearbase-workers",
  "nearbase+cache",
  "pocketbase",
  "directus",
];
const wanted = (process.env.PEERS_TARGETS ?? allTargets.join(",")).split(",");
const node = resolve("node_modules/.bin/node");

// The machine may be shared: its load is reported next to the numbers (same-run ratios and CPU
// ms/request are what to compare; absolute req/s move with the load).
const loads = [loadavg()[0]!];
const loadSampler = setInterval(() => loads.push(loadavg()[0]!), 10_000);
loadSampler.unref();

const dir = mkdtempSync(join(tmpdir(), "nearbase-peers-"));
const base = join(dir, "base.db");
console.log(`seeding ${dataset.posts} posts, ${dataset.users} users into ${base} …`);
await seedBenchDatabase(base);
const copy = (name: string) => {
  const path = join(dir, `${name}.db`);
  copyFileSync(base, path);
  return path;
};
if (process.env.PEERS_SKIP_BUILD !== "1")
  execFileSync("npm", ["run", "build"], { stdio: "inherit" });

const jwk = await generateSigningJwk();
const keys = JSON.stringify([jwk]);
const { d: _d, ...publicJwk } = jwk;
// Fair settings: no rate limits, no request logging, no totals unless the scenario asks.
const nearbaseEnv = { JWT_PRIVATE_KEYS: keys, ...nearbaseBenchEnv };

/** How each kind of server spells the same requests. */
interface Api {
  list: string;
  listTotal: string;
  ownerList: string;
  get: string;
  create: string;
  createBody(userId: string): string;
  login: { path: string; body: string; token(json: unknown): string };
  auth(token: string): Record<string, string>;
}
const postBody = { title: "bench", body: "", status: "draft", tags: [] as string[] };
const nearbaseApi: Api = {
  list: "/api/collections/posts/records?limit=20",
  listTotal: "/api/collections/posts/records?limit=20&total=true",
  ownerList: "/api/collections/bookmarks/records?limit=20",
  get: `/api/collections/posts/records/${samplePostId}`,
  create: "/api/collections/posts/records",
  createBody: () => JSON.stringify(postBody),
  login: {
    path: "/api/auth/login",
    body: JSON.stringify({ email: benchEmail, password: benchPassword }),
    token: (json) => (json as { accessToken: string }).accessToken,
  },
  auth: (token) => ({ authorization: `Bearer ${token}` }),
};
const pocketbaseApi: Api = {
  list: "/api/collections/posts/records?perPage=20&sort=-created,-id&skipTotal=1",
  listTotal: "/api/collections/posts/records?perPage=20&sort=-created,-id",
  ownerList: "/api/collections/bookmarks/records?perPage=20&sort=-created,-id&skipTotal=1",
  get: `/api/collections/posts/records/${samplePostId}`,
  create: "/api/collections/posts/records",
  // PocketBase has no "owner" field: the author is sent and the create rule checks it.
  createBody: (userId) => JSON.stringify({ ...postBody, author: userId }),
  login: {
    path: "/api/collections/users/auth-with-password",
    body: JSON.stringify({ identity: benchEmail, password: benchPassword }),
    token: (json) => (json as { token: string }).token,
  },
  auth: (token) => ({ authorization: `Bearer ${token}` }),
};
const directusApi = (postId: string): Api => ({
  list: "/items/posts?limit=20&sort=-created,-id",
  listTotal: "/items/posts?limit=20&sort=-created,-id&meta=filter_count",
  ownerList: "/items/bookmarks?limit=20&sort=-created,-id",
  get: `/items/posts/${postId}`,
  create: "/items/posts",
  createBody: (userId) => JSON.stringify({ ...postBody, author: userId }),
  login: {
    path: "/auth/login",
    body: JSON.stringify({ email: benchEmail, password: benchPassword }),
    token: (json) => (json as { data: { access_token: string } }).data.access_token,
  },
  auth: (token) => ({ authorization: `Bearer ${token}` }),
});

interface Entry {
  target: Target;
  api: Api;
  userId: string;
  token: string;
  idleRssMiB: number;
  /** The target's database file, where its creates are deleted after each create run. */
  db: string;
  note?: string;
}
const entries = new Map<string, Entry>();
const notes: string[] = [];
const startups: string[] = [];
const startup = new Map<string, { ms: number; cpuMs: number; rssMiB: number }>();

async function add(
  name: string,
  api: Api,
  userId: string,
  db: string,
  start: () => Promise<Target>,
) {
  const target = await start();
  // CPU time to the first 200 (process tree): the start's cost, which a loaded machine's
  // scheduling does not stretch the way it stretches the wall-clock time.
  const startCpuMs = target.pids().reduce((sum, pid) => sum + cpuTimeMs(pid), 0);
  await new Promise((r) => setTimeout(r, 1000));
  const idleRssMiB = target.pids().reduce((sum, pid) => sum + memoryKiB(pid).rss, 0) / 1024;
  const token = await logIn(name, target.url, api);
  entries.set(name, { target, api, userId, token, idleRssMiB, db });
  startup.set(name, { ms: target.startupMs, cpuMs: startCpuMs, rssMiB: idleRssMiB });
  startups.push(
    `| ${name} | ${target.startupMs.toFixed(0)} | ${startCpuMs.toFixed(0)} | ${idleRssMiB.toFixed(1)} |`,
  );
  console.log(
    `${name}: first 200 after ${target.startupMs.toFixed(0)} ms (${startCpuMs.toFixed(0)} ms CPU), idle RSS ${idleRssMiB.toFixed(1)} MiB`,
  );
}

/** A fresh access token (tokens live 15 minutes; a full run is longer). */
async function logIn(name: string, url: string, api: Api): Promise<string> {
  const res = await fetch(url + api.login.path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: api.login.body,
  });
  if (!res.ok) throw new Error(`${name}: login failed ${res.status} ${await res.text()}`);
  return api.login.token(await res.json());
}

/**
 * Deletes the posts the create scenario added (title "bench"; seeded titles end in "#<n>") from
 * the target's file, beside the running server (WAL files; a busy timeout waits out its writes).
 * Nearbase's outbox keeps their events: no scenario reads them.
 */
async function removeCreates(e: Entry): Promise<number> {
  const db = createClient({ url: `file:${e.db}` });
  try {
    await db.execute("PRAGMA busy_timeout = 30000");
    const rs = await db.execute("DELETE FROM posts WHERE title = 'bench'");
    return rs.rowsAffected;
  } finally {
    db.close();
  }
}

const nearbase = (name: string, port: number, env: Record<string, string>) => () =>
  startProcess(name, node, ["dist/server.js"], {
    env: { ...nearbaseEnv, PORT: String(port), DATABASE_URL: `file:${copy(name)}`, ...env },
    url: `http://127.0.0.1:${port}`,
    readyPath: "/ready",
    pollMs: 10,
  });

try {
  // `npm start` (tsx, TypeScript compiled at run time): start and memory only, for comparison.
  {
    const t = await startProcess("npm start", "npm", ["start"], {
      env: { ...nearbaseEnv, PORT: "18830", DATABASE_URL: `file:${copy("npm-start")}` },
      url: "http://127.0.0.1:18830",
      readyPath: "/ready",
      pollMs: 10,
    });
    const cpu = t.pids().reduce((sum, pid) => sum + cpuTimeMs(pid), 0);
    await new Promise((r) => setTimeout(r, 1000));
    const rss = t.pids().reduce((sum, pid) => sum + memoryKiB(pid).rss, 0) / 1024;
    startups.push(
      `| nearbase via npm start (tsx; not loaded) | ${t.startupMs.toFixed(0)} | ${cpu.toFixed(0)} | ${rss.toFixed(1)} |`,
    );
    console.log(
      `npm start: first 200 after ${t.startupMs.toFixed(0)} ms, idle RSS ${rss.toFixed(1)} MiB`,
    );
    await t.stop();
  }
  if (wanted.includes("floor"))
    await add("floor", nearbaseApi, benchUser, join(dir, "floor.db"), () =>
      startProcess("floor", "tsx", ["bench/floor.ts"], {
        env: {
          PORT: "18820",
          DATABASE_URL: `file:${copy("floor")}`,
          JWKS: JSON.stringify({ keys: [publicJwk] }),
          JWT_PRIVATE_KEYS: keys,
        },
        url: "http://127.0.0.1:18820",
        readyPath: "/ready",
        pollMs: 10,
      }),
    );
  if (wanted.includes("nearbase"))
    await add(
      "nearbase",
      nearbaseApi,
      benchUser,
      join(dir, "nearbase.db"),
      nearbase("nearbase", 18821, { SHARED_CACHE: "off" }),
    );
  if (wanted.includes("nearbase-workers"))
    await add(
      "nearbase-workers",
      nearbaseApi,
      benchUser,
      join(dir, "nearbase-workers.db"),
      nearbase("nearbase-workers", 18822, { SHARED_CACHE: "off", NODE_WORKERS: "auto" }),
    );
  if (wanted.includes("nearbase+cache"))
    await add(
      "nearbase+cache",
      nearbaseApi,
      benchUser,
      join(dir, "nearbase+cache.db"),
      nearbase("nearbase+cache", 18823, {}),
    );
  if (wanted.includes("pocketbase")) {
    mkdirSync(join(dir, "pocketbase"));
    const pb = await setupPocketBase(join(dir, "pocketbase"), 18824, {
      email: benchEmail,
      password: benchPassword,
      source: base,
      userId: benchUser,
      users: dataset.users,
    });
    notes.push(`PocketBase password hashes: bcrypt cost ${pb.passwordHashCost}.`);
    await add(
      "pocketbase",
      pocketbaseApi,
      benchUser,
      join(dir, "pocketbase", "pb_data", "data.db"),
      pb.start,
    );
  }
  if (wanted.includes("directus")) {
    try {
      mkdirSync(join(dir, "directus"));
      const d = await setupDirectus(join(dir, "directus"), 18825, {
        email: benchEmail,
        password: benchPassword,
        source: base,
        userId: benchUser,
        users: dataset.users,
      });
      notes.push(...d.notes);
      await add(
        "directus",
        directusApi(d.samplePostId),
        d.userId,
        join(dir, "directus", "directus.db"),
        d.start,
      );
    } catch (err) {
      const why = `Directus did not run: ${(err as Error).message.slice(0, 600)}`;
      console.log(why);
      notes.push(why);
    }
  }

  const scenarios: {
    id: string;
    title: string;
    make(e: Entry): Scenario;
    only?: string[];
    bearer?: boolean;
  }[] = [
    {
      id: "1",
      title: "public list of 20 newest",
      make: (e) => ({ id: "1", title: "", path: e.api.list }),
    },
    {
      id: "2",
      title: "same, Nearbase shared cache on",
      make: (e) => ({ id: "2", title: "", path: e.api.list }),
      only: ["nearbase+cache"],
    },
    {
      id: "3",
      title: "list + total count",
      make: (e) => ({ id: "3", title: "", path: e.api.listTotal }),
    },
    {
      id: "4",
      title: "owner-only list (bearer)",
      make: (e) => ({ id: "4", title: "", path: e.api.ownerList, headers: e.api.auth(e.token) }),
      bearer: true,
    },
    { id: "5", title: "get one by id", make: (e) => ({ id: "5", title: "", path: e.api.get }) },
    {
      id: "6",
      title: "create (bearer)",
      bearer: true,
      make: (e) => ({
        id: "6",
        title: "",
        method: "POST",
        path: e.api.create,
        headers: { ...e.api.auth(e.token), "content-type": "application/json" },
        body: e.api.createBody(e.userId),
      }),
    },
    {
      id: "7",
      title: "log-in",
      make: (e) => ({
        id: "7",
        title: "",
        method: "POST",
        path: e.api.login.path,
        headers: { "content-type": "application/json" },
        body: e.api.login.body,
        // Slow hashes at 16 connections on a loaded machine outlast autocannon's 10 s default.
        timeoutSeconds: 60,
      }),
    },
  ];
  const only = process.env.BENCH_SCENARIOS?.split(",");
  const results = new Map<string, LoadResult[]>();
  const names = [...entries.keys()];
  for (let round = 0; round < rounds; round++) {
    for (const [si, scenario] of scenarios.entries()) {
      if (only !== undefined && !only.includes(scenario.id)) continue;
      const applicable = names.filter((n) =>
        scenario.only === undefined ? n !== "nearbase+cache" : scenario.only.includes(n),
      );
      // Rotate who goes first, so warming and the machine's drift do not favour one target.
      const shift = (si + round) % Math.max(1, applicable.length);
      const order = [...applicable.slice(shift), ...applicable.slice(0, shift)];
      for (const name of order) {
        const e = entries.get(name)!;
        if (scenario.bearer)
          e.token = await logIn(name, e.target.url, e.api).catch((err: Error) => {
            // The old token may still be good; if not, the run's failures say so.
            console.log(`  ${err.message.slice(0, 200)}`);
            return e.token;
          });
        const pids = e.target.pids();
        const result = await runLoad(e.target.url, scenario.make(e), seconds, connections, () =>
          pids.reduce((sum, pid) => sum + cpuTimeMs(pid), 0),
        );
        if (scenario.id === "6") console.log(`  ${await removeCreates(e)} creates deleted`);
        const key = `${scenario.id}|${name}`;
        results.set(key, [...(results.get(key) ?? []), result]);
        console.log(
          `round ${round + 1} ${scenario.title.padEnd(32)} ${name.padEnd(17)} ${result.requestsPerSec.toFixed(0).padStart(6)} req/s  p50 ${result.p50}  p99 ${result.p99}  cpu ${result.cpuMsPerRequest?.toFixed(2)} ms/req  non-2xx ${result.non2xx}`,
        );
        if (result.non2xx > 0) {
          const s = scenario.make(e);
          const probe = await fetch(e.target.url + s.path, {
            method: s.method ?? "GET",
            headers: s.headers,
            body: s.body,
          });
          console.log(`  ${name} answered ${probe.status}: ${(await probe.text()).slice(0, 200)}`);
        }
      }
    }
  }

  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const summary = (key: string): LoadResult | undefined => {
    const rs = results.get(key);
    if (!rs) return undefined;
    return {
      requestsPerSec: median(rs.map((r) => r.requestsPerSec)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      errors: rs.reduce((a, r) => a + r.errors, 0),
      non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
      total: rs.reduce((a, r) => a + r.total, 0),
      cpuMsPerRequest: median(rs.map((r) => r.cpuMsPerRequest ?? Number.NaN)),
    };
  };
  // Same-run ratios: target A over target B within each round (measured minutes apart, under
  // the same load), then the median over rounds. Runs with failed requests are left out.
  const clean = (r: LoadResult) => r.non2xx + r.errors === 0 && r.requestsPerSec > 0;
  const sameRun = (a: string, b: string): number | undefined => {
    const xs = results.get(a) ?? [];
    const ys = results.get(b) ?? [];
    const ratios = xs.flatMap((x, i) => {
      const y = ys[i];
      return y !== undefined && clean(x) && clean(y) ? [x.requestsPerSec / y.requestsPerSec] : [];
    });
    return ratios.length === 0 ? undefined : median(ratios);
  };
  // The same ratio from CPU per request (B's CPU ms/req over A's, per round, median): what
  // each answer costs, which the machine's changing load moves less than req/s.
  const sameRunCpu = (a: string, b: string): number | undefined => {
    const xs = results.get(a) ?? [];
    const ys = results.get(b) ?? [];
    const ratios = xs.flatMap((x, i) => {
      const y = ys[i];
      return y !== undefined && clean(x) && clean(y) && x.cpuMsPerRequest && y.cpuMsPerRequest
        ? [y.cpuMsPerRequest / x.cpuMsPerRequest]
        : [];
    });
    return ratios.length === 0 ? undefined : median(ratios);
  };
  const times = (n: number | undefined) => (n === undefined ? "—" : `${n.toFixed(2)}×`);
  const rows: Row[] = [];
  const detail: string[] = [
    "| scenario | target | req/s | p50 ms | p99 ms | CPU ms/req | non-2xx | RSS MiB | × PocketBase | × floor |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  const fmt = (n: number | undefined, d = 0) =>
    n === undefined || Number.isNaN(n) ? "—" : n.toFixed(d);
  for (const scenario of scenarios) {
    const peerId = scenario.id === "2" ? "1" : scenario.id;
    for (const name of names) {
      const r = summary(`${scenario.id}|${name}`);
      if (!r) continue;
      const rss =
        entries
          .get(name)!
          .target.pids()
          .reduce((sum, pid) => sum + memoryKiB(pid).rss, 0) / 1024;
      const ratio = (other: string) =>
        name === "pocketbase" || name === "floor"
          ? "—"
          : times(sameRun(`${scenario.id}|${name}`, `${peerId}|${other}`));
      detail.push(
        `| ${scenario.id} ${scenario.title} | ${name} | ${fmt(r.requestsPerSec)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.cpuMsPerRequest, 2)} | ${r.non2xx + r.errors} | ${fmt(rss, 1)} | ${ratio("pocketbase")} | ${ratio("floor")} |`,
      );
      rows.push({
        scenario: `${scenario.id} ${scenario.title}`,
        target: name,
        result: r,
        rssMiB: rss,
        peakMiB: 0,
        ratio: sameRun(`${scenario.id}|${name}`, `${peerId}|pocketbase`),
      });
    }
  }
  // The issue's table: Nearbase (one process and all cores) against the peers.
  const headline: string[] = [
    "| scenario | Nearbase req/s (1 process / all cores) | ÷ PocketBase | ÷ Directus | ÷ floor | CPU ms/req NB / PB / Directus |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const scenario of scenarios) {
    const nbName = scenario.id === "2" ? "nearbase+cache" : "nearbase";
    const peerId = scenario.id === "2" ? "1" : scenario.id;
    const nb = summary(`${scenario.id}|${nbName}`);
    if (!nb) continue;
    const nbw = scenario.id === "2" ? undefined : summary(`${scenario.id}|nearbase-workers`);
    const pb = summary(`${peerId}|pocketbase`);
    const dx = summary(`${peerId}|directus`);
    const both = (other: string) => {
      const one = times(sameRun(`${scenario.id}|${nbName}`, `${peerId}|${other}`));
      return nbw
        ? `${one} / ${times(sameRun(`${scenario.id}|nearbase-workers`, `${peerId}|${other}`))}`
        : one;
    };
    headline.push(
      `| ${scenario.title} | ${fmt(nb.requestsPerSec)}${nbw ? ` / ${fmt(nbw.requestsPerSec)}` : ""} | ${both("pocketbase")} | ${both("directus")} | ${both("floor")} | ${fmt(nb.cpuMsPerRequest, 2)} / ${fmt(pb?.cpuMsPerRequest, 2)} / ${fmt(dx?.cpuMsPerRequest, 2)} |`,
    );
  }

  // The issue's goals, checked against this run (same-run ratios).
  // The goals are judged on req/s; the last column gives the same ratio from CPU per request.
  const goals: string[] = [
    "| goal | measured | met | same ratio by CPU ms/req |",
    "|---|---|:-:|---:|",
  ];
  const goal = (
    what: string,
    measured: number | undefined,
    ok: (n: number) => boolean,
    unit = "×",
    byCpu?: number,
  ) =>
    goals.push(
      `| ${what} | ${measured === undefined || Number.isNaN(measured) ? "not measured" : `${measured.toFixed(2)}${unit}`} | ${measured === undefined || Number.isNaN(measured) ? "—" : ok(measured) ? "yes" : "no"} | ${byCpu === undefined || Number.isNaN(byCpu) ? "—" : `${byCpu.toFixed(2)}×`} |`,
    );
  for (const s of scenarios.filter((x) => ["1", "3", "4", "5", "6"].includes(x.id))) {
    goal(
      `${s.title}: Nearbase ≥ 1.2× PocketBase`,
      sameRun(`${s.id}|nearbase`, `${s.id}|pocketbase`),
      (n) => n >= 1.2,
      "×",
      sameRunCpu(`${s.id}|nearbase`, `${s.id}|pocketbase`),
    );
    if (names.includes("nearbase-workers"))
      goal(
        `${s.title}: Nearbase, all cores ≥ 1.2× PocketBase`,
        sameRun(`${s.id}|nearbase-workers`, `${s.id}|pocketbase`),
        (n) => n >= 1.2,
        "×",
        sameRunCpu(`${s.id}|nearbase-workers`, `${s.id}|pocketbase`),
      );
  }
  for (const s of scenarios.filter((x) => ["1", "3", "4"].includes(x.id)))
    goal(
      `${s.title}: Nearbase ≥ 0.8× the floor`,
      sameRun(`${s.id}|nearbase`, `${s.id}|floor`),
      (n) => n >= 0.8,
      "×",
      sameRunCpu(`${s.id}|nearbase`, `${s.id}|floor`),
    );
  goal(
    "shared-cache hit ≥ 5× the uncached list",
    sameRun("2|nearbase+cache", "1|nearbase"),
    (n) => n >= 5,
    "×",
    sameRunCpu("2|nearbase+cache", "1|nearbase"),
  );
  goal(
    "start → first 200 ≤ 400 ms (seeded data)",
    startup.get("nearbase")?.ms,
    (n) => n <= 400,
    " ms",
  );
  goal(
    "start: CPU ms to first 200 ≤ 400 (what the start costs, load aside)",
    startup.get("nearbase")?.cpuMs,
    (n) => n <= 400,
    " ms",
  );
  goal(
    "idle RSS ≤ 90 MiB (production start path)",
    startup.get("nearbase")?.rssMiB,
    (n) => n <= 90,
    " MiB",
  );
  clearInterval(loadSampler);
  loads.push(loadavg()[0]!);
  const loadNote = `load average (1 min) during the run: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}, median ${median(loads).toFixed(1)}`;

  const date = new Date().toISOString().slice(0, 10);
  const note = [
    `# Nearbase vs peers — ${date}${quick ? " (quick smoke run)" : ""}`,
    "",
    `Machine: ${process.env.BENCH_MACHINE ?? "2 cores (shared)"}, ${loadNote}; autocannon on loopback, ${connections} connections × ${seconds} s after a 1 s warm-up, ${rounds} round(s); req/s, latency and CPU are medians over rounds, and every ratio is the median of the ratios measured within the same round (targets run minutes apart under the same load; runs with failed requests left out); order of targets rotated per scenario and round; bearer scenarios log in afresh before each run (tokens live 15 minutes).`,
    `Dataset: ${dataset.posts} posts, ${dataset.users} users, the same rows in every target (copied from Nearbase's seeded file), the same rules (public reads of published posts or your own; bookmarks private to their owner; creates need a signed-in user), the same indexes, ANALYZE on each.`,
    "Nearbase runs its production start path (`npm run build`, `node dist/server.js`); `nearbase-workers` is the same with NODE_WORKERS=auto. CPU ms/req is the process tree's utime+stime over the measured run ÷ requests answered.",
    "Fair settings: rate limits off (PocketBase 0.22 has none; Directus RATE_LIMITER_ENABLED=false), request logs off (Nearbase LOG_SAMPLE_RATE=0, PocketBase logs.maxDays=0 and --dev=false, Directus LOG_LEVEL=warn), totals off unless the scenario asks (PocketBase skipTotal=1), newest first by (created, id), 20 per page, the same create body. Nearbase's shared cache is off except in `nearbase+cache`.",
    "Creates are fair between rounds: each target's create run is followed by a delete of the posts it created (title 'bench'), on its own file, so the lists of the next round read the same rows everywhere.",
    "Deviations: PocketBase and Directus need the author in the create body (their create rule checks it equals the caller); Nearbase sets it from the token. Log-in costs differ by design: Nearbase PBKDF2-SHA256 100k, PocketBase bcrypt, Directus argon2id.",
    ...notes.map((n) => `- ${n}`),
    "",
    "## Headline",
    "",
    ...headline,
    "",
    "## Goals (issue #21), this run",
    "",
    ...goals,
    "",
    "## Start to first 200 and idle memory (seeded data)",
    "",
    "| target | start → first 200 ms | CPU ms to first 200 | idle RSS MiB |",
    "|---|---:|---:|---:|",
    ...startups,
    "",
    "## Every scenario × target",
    "",
    ...detail,
    "",
    `Reproduce: \`npm run bench:peers${quick ? " -- --quick" : ""}\` (BENCH_SECONDS=${seconds} BENCH_ROUNDS=${rounds}).`,
    "",
  ].join("\n");
  mkdirSync("bench/results", { recursive: true });
  const suffix = quick ? "-quick" : "";
  writeFileSync(`bench/results/peers-${date}${suffix}.md`, note);
  writeFileSync(
    `bench/results/peers-${date}${suffix}.svg`,
    barChart(rows, `Nearbase vs PocketBase, Directus and the floor, req/s (${date})`),
  );
  console.log(`\n${note}\nwritten to bench/results/peers-${date}${suffix}.md and .svg`);
} finally {
  for (const e of entries.values()) await e.target.stop();
}
