// `npm run bench:workers-cpu`: CPU per request of the BUILT worker (dist, minified, as
// `wrangler deploy` uploads it) in a bare `workerd serve` — no wrangler proxy, no miniflare —
// next to a hello-world Hono worker measured the same way. CPU is utime+stime of the workerd
// process from /proc/<pid>/stat (clock ticks), over N sequential requests, minus the process's
// idle CPU over the same wall time. The worker reaches a local libSQL HTTP server (as Turso).
//
//   first request  a fresh workerd per sample: CPU of its first GET /health (parse, global
//                  scope, config, platform and app built on first use), median of FIRST_SAMPLES
//   steady state   N sequential requests per scenario on a warmed process; beside the
//                  hello-world floor, the DB-read floor: hello-world + the one libSQL round
//                  trip a read makes (bench/workers/hello-db.ts), which reads are also shown
//                  against (where `bench/workers/profile-reads.ts` says the rest goes)
//
//   log-in         POST /api/auth/login per password profile (PASSWORD_PROFILE free, standard,
//                  strong; PASSWORD_ITERATIONS=10000), each in a workerd of its own, N_LOGIN times;
//                  and the hash alone (bench/workers/pbkdf2-probe.ts, same workerd, same /proc
//                  method): the difference is log-in's non-hash work (rate-limit rows, user
//                  lookup, session insert, token signing, the libSQL round trips).
//
// Env: AB=<dir>[,<dir>…] (interleaved A/B of builds, see abSteady; ROUNDS), ONLY=first|reads|steady (first requests only; no log-ins; steady state only), N (default 400), N_LOGIN (default 60; a quarter for scrypt), FIRST_SAMPLES (default 5), SKIP_BUILD=1 to reuse dist/bench-worker,
// DIST=<dir> to measure another build (e.g. an older commit's `wrangler deploy --dry-run`).
// /proc counts in clock ticks (10 ms here): single-request figures are medians of coarse samples.
// The bare workerd has no cache service, so the shared cache is off: list/get are uncached reads.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { processCpuMs } from "./lib/target";
import { startWorkerd as startBareWorkerd, type Workerd } from "./lib/workerd";
import { seedWorkersBench } from "./workers/dataset";

const N = Number(process.env.N ?? 400);
const N_LOGIN = Number(process.env.N_LOGIN ?? 60);
const FIRST_SAMPLES = Number(process.env.FIRST_SAMPLES ?? 5);
const root = resolve(import.meta.dirname, "..");

// workerd (like production Workers) refuses random values at module scope: the built worker is
// loaded as it is, so a module that makes one at import fails here, as it would on deploy.
/** Answers that were not what the scenario expects (reported, not fatal: an older build may 500). */
const unexpected = new Set<string>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Worker {
  /** The bundle (main.js). */
  main: Uint8Array;
  bindings: Record<string, string>;
}

/**
 * A workerd of its own for the worker: up once its socket accepts (no request sent, the isolate
 * stays cold), then 300 ms to settle.
 */
async function startWorkerd(worker: Worker) {
  const proc = await startBareWorkerd({
    modules: { "main.js": worker.main },
    bindings: worker.bindings,
  });
  await sleep(300);
  return proc;
}

/** Bundles a small worker as the built one is (minified ESM), in memory. */
async function bundle(entry: string, external: string[] = []): Promise<Uint8Array> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "neutral",
    external,
    nodePaths: [join(root, "node_modules")],
    write: false,
    logLevel: "error",
  });
  return out.outputFiles[0]!.contents;
}

/**
 * Idle CPU of a process, ms per wall ms: the lower of two 1 s windows after a 0.5 s pause. Right
 * after start (or a request) workerd's background threads still work for a while; counting that
 * as idle subtracted too much from what followed (negative costs on a loaded machine).
 */
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

type Req = () => Request;

async function measure(
  proc: { pid: number },
  idle: number,
  n: number,
  make: Req,
  expect: number,
): Promise<number> {
  for (let i = 0; i < 20; i++) await (await fetch(make())).arrayBuffer();
  const c0 = processCpuMs(proc.pid);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const res = await fetch(make());
    await res.arrayBuffer();
    if (res.status !== expect)
      unexpected.add(
        `${new URL(make().url).pathname.replace(/pst_\w+$/, ":id")} answered ${res.status}`,
      );
  }
  const wall = performance.now() - t0;
  return (processCpuMs(proc.pid) - c0 - idle * wall) / n;
}

/** Reads next to the DB-read floor (hello-world + one libSQL round trip), printed after the table. */
const aboveDbFloor: [string, number, number][] = [];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;

/**
 * A new process per sample: CPU of its start (parse + global scope), of its first request (to
 * `path`) and of requests 2–10 (`then`, in turn), medians over FIRST_SAMPLES.
 */
async function firstRequests(worker: Worker, path: string, then: string[]) {
  const startup: number[] = [];
  const first: number[] = [];
  const next: number[] = [];
  for (let i = 0; i < FIRST_SAMPLES; i++) {
    const proc = await startWorkerd(worker);
    startup.push(processCpuMs(proc.pid));
    const idle = await idleRate(proc.pid);
    const timed = async (paths: string[]) => {
      const c0 = processCpuMs(proc.pid);
      const t0 = performance.now();
      for (const p of paths) await (await fetch(proc.base + p)).arrayBuffer();
      await sleep(100);
      return processCpuMs(proc.pid) - c0 - idle * (performance.now() - t0);
    };
    first.push(await timed([path]));
    next.push((await timed(Array.from({ length: 9 }, (_, k) => then[k % then.length]!))) / 9);
    await proc.stop();
  }
  return { startup: median(startup), first: median(first), next: median(next) };
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), "nearbase-workers-cpu-"));

  // The worker as `wrangler deploy` uploads it (wrangler.toml: minify, aliases).
  const dist = process.env.DIST ?? join(root, "dist/bench-worker");
  if (process.env.SKIP_BUILD !== "1" && process.env.DIST === undefined) {
    execFileSync("wrangler", ["deploy", "--dry-run", "--outdir", dist], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    });
  }
  const built = readFileSync(join(dist, "main.js"));
  const entry = join(work, "hello.ts");
  writeFileSync(
    entry,
    `import { Hono } from "hono";\nconst app = new Hono();\napp.get("*", (c) => c.json({ status: "ok" }));\nexport default app;\n`,
  );
  const hello: Worker = { main: await bundle(entry), bindings: {} };

  // libSQL over HTTP on a fresh migrated database, seeded with published posts and a user.
  const data = await seedWorkersBench(work);
  const { env, ids, bearer } = data;
  const app: Worker = { main: built, bindings: env };

  const rows: [string, number, number][] = [];
  // A new isolate: its start, its first request and the next nine (a list, a get, /health).
  const then = [
    "/api/collections/posts/records?limit=20",
    `/api/collections/posts/records/${ids[0]}`,
    "/health",
  ];
  // The floor of a database read: hello-world + the one libSQL round trip a read makes
  // (bench/workers/hello-db.ts), a page of 20 posts and one post, answered as JSON.
  const helloDb: Worker = {
    main: await bundle(join(root, "bench/workers/hello-db.ts")),
    bindings: { DATABASE_URL: env.DATABASE_URL! },
  };
  if (process.env.AB !== undefined)
    return abSteady(app, hello, helloDb, process.env.AB.split(","), data, work);
  // ONLY=steady: the steady-state reads and create alone (no new isolates, no log-ins).
  if (process.env.ONLY !== "steady") {
    const firstApp = await firstRequests(app, "/health", then);
    const firstHello = await firstRequests(hello, "/health", then);
    rows.push([
      "workerd start: parse + global scope (whole process)",
      firstApp.startup,
      firstHello.startup,
    ]);
    rows.push(["first request of a new isolate (/health)", firstApp.first, firstHello.first]);
    rows.push([
      "requests 2–10 of a new isolate (list, get, /health), each",
      firstApp.next,
      firstHello.next,
    ]);
  }
  if (process.env.ONLY === "first") return report(rows, work, data);

  // Steady state.
  const helloProc = await startWorkerd(hello);
  const helloIdle = await idleRate(helloProc.pid);
  const floor = await measure(
    helloProc,
    helloIdle,
    N,
    () => new Request(`${helloProc.base}/x`),
    200,
  );
  await helloProc.stop();
  const helloDbProc = await startWorkerd(helloDb);
  const helloDbIdle = await idleRate(helloDbProc.pid);
  const dbFloor = {
    list: await measure(
      helloDbProc,
      helloDbIdle,
      N,
      () => new Request(`${helloDbProc.base}/`),
      200,
    ),
    get: await measure(
      helloDbProc,
      helloDbIdle,
      N,
      () => new Request(`${helloDbProc.base}/?q=one`),
      200,
    ),
  };
  await helloDbProc.stop();
  rows.push([
    "hello-world + one libSQL round trip, page of 20 (DB-read floor)",
    dbFloor.list,
    floor,
  ]);
  rows.push(["hello-world + one libSQL round trip, one row (DB-read floor)", dbFloor.get, floor]);
  const proc = await startWorkerd(app);
  const idle = await idleRate(proc.pid);
  let k = 0;
  const scenarios: [string, Req, number][] = [
    ["/health", () => new Request(`${proc.base}/health`), 200],
    [
      "anonymous public list of 20, uncached",
      () => new Request(`${proc.base}/api/collections/posts/records?limit=20`),
      200,
    ],
    [
      "signed-in owner-filtered list",
      () =>
        new Request(
          `${proc.base}/api/collections/posts/records?limit=20&filter=author%3D'usr_bench'`,
          {
            headers: bearer,
          },
        ),
      200,
    ],
    [
      "get by id",
      () => new Request(`${proc.base}/api/collections/posts/records/${ids[k++ % ids.length]}`),
      200,
    ],
    [
      "create",
      () =>
        new Request(`${proc.base}/api/collections/posts/records`, {
          method: "POST",
          headers: { ...bearer, "content-type": "application/json" },
          body: JSON.stringify({ title: `bench ${k++}`, status: "draft" }),
        }),
      201,
    ],
  ];
  for (const [name, make, status] of scenarios) {
    const ms = await measure(proc, idle, N, make, status);
    rows.push([name, ms, floor]);
    const overDb = name.includes("list")
      ? dbFloor.list
      : name === "get by id"
        ? dbFloor.get
        : undefined;
    if (overDb !== undefined) aboveDbFloor.push([name, ms, overDb]);
  }
  await proc.stop();
  if (process.env.ONLY !== "reads" && process.env.ONLY !== "steady")
    await logins(env, app.main, rows, floor);
  return report(rows, work, data);
}

/**
 * AB=<dir>[,<dir>…]: the built worker (A: DIST or the fresh build) against other builds
 * (`<dir>/main.js`), steady-state reads interleaved — ROUNDS (default 5) rounds of N requests per
 * scenario, the order of the builds rotating each round, all processes and the hello-world floor
 * warm side by side — so that load on a shared machine falls on all alike. Per build and
 * scenario: the median, and the median of each round's ratio to A (measured back to back).
 */
async function abSteady(
  app: Worker,
  hello: Worker,
  helloDb: Worker,
  others: string[],
  data: Awaited<ReturnType<typeof seedWorkersBench>>,
  work: string,
) {
  const rounds = Number(process.env.ROUNDS ?? 5);
  const builds: { name: string; worker: Worker }[] = [{ name: "A", worker: app }];
  others.forEach((dir, i) => {
    const worker: Worker = { main: readFileSync(join(dir, "main.js")), bindings: app.bindings };
    builds.push({ name: others.length === 1 ? "B" : `B${i + 1}`, worker });
  });
  const helloProc = await startWorkerd(hello);
  const helloIdle = await idleRate(helloProc.pid);
  const dbProc = await startWorkerd(helloDb);
  const dbIdle = await idleRate(dbProc.pid);
  const procs: { name: string; proc: Workerd; idle: number }[] = [];
  for (const { name, worker } of builds) {
    const proc = await startWorkerd(worker);
    procs.push({ name, proc, idle: await idleRate(proc.pid) });
  }
  let k = 0;
  const paths: [string, (base: string) => Request, number][] = [
    [
      "anonymous public list of 20, uncached",
      (base) => new Request(`${base}/api/collections/posts/records?limit=20`),
      200,
    ],
    [
      "signed-in owner-filtered list",
      (base) =>
        new Request(`${base}/api/collections/posts/records?limit=20&filter=author%3D'usr_bench'`, {
          headers: data.bearer,
        }),
      200,
    ],
    [
      "get by id",
      (base) =>
        new Request(`${base}/api/collections/posts/records/${data.ids[k++ % data.ids.length]}`),
      200,
    ],
    [
      "create",
      (base) =>
        new Request(`${base}/api/collections/posts/records`, {
          method: "POST",
          headers: { ...data.bearer, "content-type": "application/json" },
          body: JSON.stringify({ title: `bench ${k++}`, status: "draft" }),
        }),
      201,
    ],
  ];
  const samples = new Map<string, number[]>();
  const push = (key: string, v: number) => samples.set(key, [...(samples.get(key) ?? []), v]);
  for (let r = 0; r < rounds; r++) {
    push(
      "hello",
      await measure(helloProc, helloIdle, N, () => new Request(`${helloProc.base}/x`), 200),
    );
    push("db page", await measure(dbProc, dbIdle, N, () => new Request(`${dbProc.base}/`), 200));
    push(
      "db one",
      await measure(dbProc, dbIdle, N, () => new Request(`${dbProc.base}/?q=one`), 200),
    );
    for (const [scenario, make, status] of paths) {
      const order = [...procs.slice(r % procs.length), ...procs.slice(0, r % procs.length)];
      for (const { name, proc, idle } of order)
        push(`${name} ${scenario}`, await measure(proc, idle, N, () => make(proc.base), status));
    }
    console.error(`round ${r + 1}/${rounds} done`);
  }
  await Promise.all([helloProc, dbProc, ...procs.map((p) => p.proc)].map((p) => p.stop()));
  await data.close();
  rmSync(work, { recursive: true, force: true });
  const floor = median(samples.get("hello")!);
  console.log(
    `\nA/B, ${rounds} interleaved rounds of N=${N}: A = ${process.env.DIST ?? "this tree"}, ${builds
      .slice(1)
      .map((b, i) => `${b.name} = ${others[i]}`)
      .join(", ")}`,
  );
  const dbPage = median(samples.get("db page")!);
  const dbOne = median(samples.get("db one")!);
  console.log(
    `hello-world floor: ${floor.toFixed(3)} ms/req; DB-read floor (hello-world + one libSQL round trip): page of 20 ${dbPage.toFixed(3)}, one row ${dbOne.toFixed(3)} (medians)\n`,
  );
  console.log(
    "| scenario | build | ms/req | above hello-world | above DB-read floor | ratio to A, paired median (quartiles) |",
  );
  console.log("|---|---|---:|---:|---:|---|");
  for (const [scenario] of paths) {
    const as = samples.get(`A ${scenario}`)!;
    for (const { name } of builds) {
      const xs = samples.get(`${name} ${scenario}`)!;
      const m = median(xs);
      const ratios = xs.map((x, i) => x / as[i]!);
      const paired =
        name === "A"
          ? ""
          : `${median(ratios).toFixed(2)} (${quantile(ratios, 0.25).toFixed(2)}–${quantile(ratios, 0.75).toFixed(2)})`;
      const db = scenario.includes("list") ? dbPage : scenario === "get by id" ? dbOne : undefined;
      console.log(
        `| ${scenario} | ${name} | ${m.toFixed(3)} | ${(m - floor).toFixed(3)} | ${db === undefined ? "" : (m - db).toFixed(3)} | ${paired} |`,
      );
    }
  }
  for (const line of unexpected) console.log(`unexpected: ${line}`);
}

/** The password profiles (src/core/accounts/passwords.ts) as a home configures them. */
const loginProfiles: [string, string, Record<string, string>][] = [
  ["free", "free (PBKDF2-SHA256 25k)", { PASSWORD_PROFILE: "free" }],
  ["standard", "standard, the default (PBKDF2-SHA256 100k)", {}],
  ["strong", "strong (scrypt N=2^14 r=8 p=5)", { PASSWORD_PROFILE: "strong" }],
  ["10000", "PASSWORD_ITERATIONS=10000", { PASSWORD_ITERATIONS: "10000" }],
];

/**
 * Log-in per profile (a workerd each, one account signed up through the API, then N_LOGIN
 * sequential log-ins) and one hash alone in the probe worker: CPU of `n` hashes per request
 * minus CPU of empty requests, per hash.
 */
async function logins(
  env: Record<string, string>,
  main: Uint8Array,
  rows: [string, number, number][],
  floor: number,
) {
  const probe: Worker = {
    main: await bundle(join(root, "bench/workers/pbkdf2-probe.ts"), ["node:*"]),
    bindings: {},
  };
  const probeProc = await startWorkerd(probe);
  const probeIdle = await idleRate(probeProc.pid);
  for (const [profile, label, extra] of loginProfiles) {
    const proc = await startWorkerd({
      main,
      bindings: {
        ...env,
        ...extra,
        LOGIN_LIMIT_PER_ACCOUNT: "999999/1s",
        LOGIN_LIMIT_PER_ACCOUNT_TOTAL: "999999/1s",
      },
    });
    const email = `login-${profile}@example.test`;
    const password = "correct horse battery staple";
    const signup = await fetch(`${proc.base}/api/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password }),
    });
    if (signup.status !== 201) unexpected.add(`signup (${profile}) answered ${signup.status}`);
    await signup.arrayBuffer();
    const idle = await idleRate(proc.pid);
    const n = profile === "strong" ? Math.ceil(N_LOGIN / 4) : N_LOGIN;
    const login = await measure(
      proc,
      idle,
      n,
      () =>
        new Request(`${proc.base}/api/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email, password }),
        }),
      200,
    );
    await proc.stop();
    const ops = profile === "strong" ? 2 : 10;
    const url = (n: number) => new Request(`${probeProc.base}/?op=hash&profile=${profile}&n=${n}`);
    const withHashes = await measure(probeProc, probeIdle, n, () => url(ops), 200);
    const empty = await measure(probeProc, probeIdle, n, () => url(0), 200);
    const hash = (withHashes - empty) / ops;
    rows.push([`log-in, ${label}`, login, floor]);
    rows.push([`  hash alone, ${label}`, hash, 0]);
    rows.push([`  log-in without the hash, ${label}`, login - hash, floor]);
  }
  await probeProc.stop();
}

async function report(
  rows: [string, number, number][],
  work: string,
  data: { close(): Promise<void> },
) {
  await data.close();
  rmSync(work, { recursive: true, force: true });
  console.log(`\nworkerd CPU per request (N=${N}, first request: median of ${FIRST_SAMPLES})\n`);
  console.log("| scenario | workerd CPU ms/req | hello-world | minus hello-world |");
  console.log("|---|---:|---:|---:|");
  for (const [name, ms, base] of rows) {
    console.log(`| ${name} | ${ms.toFixed(2)} | ${base.toFixed(2)} | ${(ms - base).toFixed(2)} |`);
  }
  if (aboveDbFloor.length > 0) {
    console.log("\n| read | workerd CPU ms/req | DB-read floor | minus DB-read floor |");
    console.log("|---|---:|---:|---:|");
    for (const [name, ms, base] of aboveDbFloor)
      console.log(
        `| ${name} | ${ms.toFixed(2)} | ${base.toFixed(2)} | ${(ms - base).toFixed(2)} |`,
      );
  }
  for (const line of unexpected) console.log(`unexpected: ${line}`);
}

await main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
