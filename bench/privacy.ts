// `npm run bench:privacy`: the numbers of #13. Not a test: it prints numbers and asserts nothing.
//  1. Export (Node home, in process, real libSQL file): GET /api/me/export for an account owning
//     10k and 100k posts (plus a profile, sessions, a key), the streamed body read and discarded
//     as a client would. Wall time, time to first byte, document size, and peak memory above the
//     process's baseline (RSS and V8 heap+external sampled every 5 ms). Each size runs in a
//     child process of its own, after a full GC, so one run's garbage is not the next one's.
//  2. Encrypted field vs plain (Node home, same run, same process): create and read-by-id through
//     the app for two collections that differ only in `encrypted: ["note"]`, rotated order,
//     medians; and the seal/open primitive alone.
//  3. Export CPU in workerd: the built worker (wrangler deploy --dry-run, as uploaded) in a bare
//     `workerd serve` reaching a local libSQL HTTP server; CPU of the workerd process from
//     /proc/<pid>/task/*/schedstat over N exports of a 1k-record account, minus idle.
// Env: SIZES (default 10000,100000), RUNS (default 200, part 2), N_EXPORT (default 20, part 3),
// WORKERD_RECORDS (default 1000, part 3), ONLY=export|fields|workerd, SKIP_BUILD=1 reuses
// dist/bench-worker.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createApp } from "../src/app";
import { collections } from "../src/collections/index";
import { loadConfig } from "../src/config";
import { loadAuthConfig } from "../src/core/accounts/config";
import { startSession } from "../src/core/accounts/sessions";
import { generateSigningJwk } from "../src/core/accounts/signing-keys";
import { createUser } from "../src/core/accounts/users";
import { createDatabase } from "../src/core/db/client";
import { memorySink } from "../src/core/kernel/log";
import { generateDataKey, Sealer } from "../src/core/kernel/seal";
import { defineCollection, recordColumns } from "../src/core/records/define";
import { openNodeDatabase } from "../src/platform/node/database";
import { migrateDatabase } from "../src/platform/node/migrate";
import { createNodePlatform } from "../src/platform/node/platform";
import { startLibsqlServer } from "../tools/libsql-server/server";
import { processCpuMs } from "./lib/target";
import { startWorkerd } from "./lib/workerd";

const root = resolve(import.meta.dirname, "..");
const only = process.env.ONLY;
const limits = {
  RATE_LIMIT_READ: "100000/60s",
  RATE_LIMIT_WRITE: "100000/60s",
  RATE_LIMIT_AUTH: "100000/60s",
  EXPORT_LIMIT_PER_ACCOUNT: "100000/1h",
};

/** Owned posts for `userId`, inserted 500 a statement (title ~40, body ~200 characters). */
async function seedPosts(client: Client, userId: string, n: number) {
  const now = new Date().toISOString();
  const body = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(4);
  for (let start = 0; start < n; start += 500) {
    const count = Math.min(500, n - start);
    const args: string[] = [];
    const values: string[] = [];
    for (let i = 0; i < count; i++) {
      values.push("(?, ?, ?, ?, ?, 'published', ?)");
      const k = String(start + i).padStart(7, "0");
      args.push(`pst_b${k}`, now, now, `A post about something, number ${k}`, body, userId);
    }
    await client.execute({
      sql: `INSERT INTO posts (id, created, updated, title, body, status, author) VALUES ${values.join(", ")}`,
      args,
    });
  }
}

async function nodeApp(dir: string, extra: Parameters<typeof createApp>[0]["collections"] = []) {
  const url = `file:${join(dir, "bench.db")}`;
  const database = await openNodeDatabase({ url });
  const env = {
    DATABASE_URL: url,
    ...limits,
    LOG_LEVEL: "warn",
    PASSWORD_ITERATIONS: "10000",
    JWT_PRIVATE_KEYS: JSON.stringify([await generateSigningJwk()]),
    DATA_ENCRYPTION_KEYS: JSON.stringify([generateDataKey()]),
  };
  const config = loadConfig(env, "node");
  const platform = createNodePlatform(config, { database, log: memorySink(), env });
  const app = createApp({ platform, config, collections: [...collections, ...extra] });
  const signIn = async () => {
    const now = new Date();
    const user = await createUser(
      platform.db,
      { email: `${crypto.randomUUID()}@example.test`, role: "user", emailVerified: true },
      now,
    );
    const pair = await startSession(
      platform.db,
      await loadAuthConfig(platform, config),
      user!,
      "bench",
      now,
    );
    return { id: user!.id, headers: { authorization: `Bearer ${pair.accessToken}` } };
  };
  return { app, client: database.client, signIn, close: () => database.close() };
}

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);

// ── 1. export, one size per child process ──
async function exportChild(size: number) {
  const dir = mkdtempSync(join(tmpdir(), "nearbase-bench-export-"));
  const home = await nodeApp(dir);
  try {
    const u = await home.signIn();
    await seedPosts(home.client, u.id, size);
    // Warm the route (and the statements) on another account.
    const warm = await home.signIn();
    await (await home.app.request("/api/me/export", { headers: warm.headers })).arrayBuffer();
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 100));
    globalThis.gc?.();
    const base = process.memoryUsage();
    const baseHeap = base.heapUsed + base.external + base.arrayBuffers;
    let peakRss = base.rss;
    let peakHeap = baseHeap;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed + m.external + m.arrayBuffers);
    }, 5);
    const t0 = performance.now();
    const res = await home.app.request("/api/me/export", { headers: u.headers });
    const reader = res.body!.getReader();
    let bytes = 0;
    let firstByte = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (bytes === 0) firstByte = performance.now() - t0;
      bytes += value.byteLength;
    }
    const total = performance.now() - t0;
    clearInterval(sampler);
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed + m.external + m.arrayBuffers);
    // Erasure of the same account: one transaction (the write lock is held throughout).
    const e0 = performance.now();
    const erased = await home.app.request("/api/me", { method: "DELETE", headers: u.headers });
    const eraseMs = performance.now() - e0;
    if (erased.status !== 200) throw new Error(`erase: ${erased.status} ${await erased.text()}`);
    process.stdout.write(
      `${JSON.stringify({ size, status: res.status, ms: total, eraseMs, firstByteMs: firstByte, bytes, peakRssMb: mb(peakRss - base.rss), peakHeapMb: mb(peakHeap - baseHeap), baseRssMb: mb(base.rss) })}\n`,
    );
  } finally {
    home.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function exports(sizes: number[]) {
  console.log("\n## Export (Node home, in process, streamed body read and discarded)\n");
  console.log(
    "| records | time | first byte | document | peak RSS above baseline | peak heap+external above baseline | erasure (one transaction) |",
  );
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const size of sizes) {
    const out = spawnSync(
      process.execPath,
      [
        "--expose-gc",
        "--import",
        "tsx",
        resolve(import.meta.filename),
        "--export-child",
        String(size),
      ],
      { encoding: "utf8", cwd: root, env: { ...process.env }, maxBuffer: 1 << 20 },
    );
    const line = out.stdout.trim().split("\n").at(-1) ?? "";
    if (out.status !== 0 || !line.startsWith("{")) {
      console.log(`| ${size} | failed: ${out.stderr.slice(-400)} |`);
      continue;
    }
    const r = JSON.parse(line) as Record<string, number | string>;
    console.log(
      `| ${size} | ${Number(r.ms).toFixed(0)} ms | ${Number(r.firstByteMs).toFixed(1)} ms | ${mb(Number(r.bytes))} MB | ${r.peakRssMb} MB (of ${r.baseRssMb} MB) | ${r.peakHeapMb} MB | ${Number(r.eraseMs).toFixed(0)} ms |`,
    );
  }
}

// ── 2. encrypted vs plain ──
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function fields(runs: number) {
  const note = () => ({ ...recordColumns(), owner: text().notNull(), note: text() });
  const plainTable = sqliteTable("bench_plain", note());
  const sealedTable = sqliteTable("bench_sealed", note());
  const rules = {
    list: "owner = @request.auth.id",
    view: "owner = @request.auth.id",
    create: "@request.auth.id != ''",
  };
  const extra = [
    defineCollection(plainTable, { idPrefix: "bpl", owner: "owner", rules }),
    defineCollection(sealedTable, {
      idPrefix: "bse",
      owner: "owner",
      encrypted: ["note"],
      cache: false,
      rules,
    }),
  ];
  const dir = mkdtempSync(join(tmpdir(), "nearbase-bench-fields-"));
  const home = await nodeApp(dir, extra);
  try {
    for (const t of ["bench_plain", "bench_sealed"])
      await home.client.execute(
        `CREATE TABLE ${t} (id text PRIMARY KEY, created text NOT NULL, updated text NOT NULL, rev integer NOT NULL DEFAULT 1, owner text NOT NULL, note text)`,
      );
    const u = await home.signIn();
    const value = "Call me on +44 20 7946 0958 after six, ask for the blue door.";
    const times: Record<string, number[]> = {};
    const ids: Record<string, string[]> = { bench_plain: [], bench_sealed: [] };
    const time = async (key: string, op: () => Promise<Response>, status: number) => {
      const t0 = performance.now();
      const res = await op();
      const body = await res.text();
      const list = times[key] ?? [];
      list.push(performance.now() - t0);
      times[key] = list;
      if (res.status !== status) throw new Error(`${key}: ${res.status} ${body}`);
      return body;
    };
    const headers = { ...u.headers, "content-type": "application/json" };
    for (let i = 0; i < runs + 20; i++) {
      const order = i % 2 === 0 ? ["bench_plain", "bench_sealed"] : ["bench_sealed", "bench_plain"];
      for (const c of order) {
        const body = await time(
          `${c} create`,
          () =>
            Promise.resolve(
              home.app.request(`/api/collections/${c}/records`, {
                method: "POST",
                headers,
                body: JSON.stringify({ note: value }),
              }),
            ),
          201,
        );
        ids[c]!.push((JSON.parse(body) as { id: string }).id);
      }
    }
    for (let i = 0; i < runs + 20; i++) {
      const order = i % 2 === 0 ? ["bench_plain", "bench_sealed"] : ["bench_sealed", "bench_plain"];
      for (const c of order)
        await time(
          `${c} read`,
          () =>
            Promise.resolve(
              home.app.request(`/api/collections/${c}/records/${ids[c]![i]}`, {
                headers: u.headers,
              }),
            ),
          200,
        );
      for (const c of order)
        await time(
          `${c} list 20`,
          () =>
            Promise.resolve(
              home.app.request(`/api/collections/${c}/records?limit=20`, { headers: u.headers }),
            ),
          200,
        );
    }
    const sealer = await Sealer.fromKeys([generateDataKey()]);
    const prim: Record<string, number[]> = { seal: [], open: [] };
    for (let i = 0; i < 2000; i++) {
      let t0 = performance.now();
      const s = await sealer.seal(value, `bench_sealed/bse_${i}/note`);
      prim.seal!.push(performance.now() - t0);
      t0 = performance.now();
      await sealer.open(s, `bench_sealed/bse_${i}/note`);
      prim.open!.push(performance.now() - t0);
    }
    console.log(
      `\n## Encrypted field vs plain (Node home, same process, ${runs} each after 20 warm-up, alternating order)\n`,
    );
    console.log("| operation | plain | encrypted | overhead |");
    console.log("| --- | ---: | ---: | ---: |");
    for (const op of ["create", "read", "list 20"]) {
      const p = median(times[`bench_plain ${op}`]!.slice(20));
      const s = median(times[`bench_sealed ${op}`]!.slice(20));
      console.log(
        `| ${op} (median per request) | ${(p * 1000).toFixed(0)} µs | ${(s * 1000).toFixed(0)} µs | +${((s - p) * 1000).toFixed(0)} µs (${((s / p - 1) * 100).toFixed(0)} %) |`,
      );
    }
    console.log(
      `| seal one value (AES-256-GCM, WebCrypto) | | ${(median(prim.seal!) * 1000).toFixed(0)} µs | |`,
    );
    console.log(`| open one value | | ${(median(prim.open!) * 1000).toFixed(0)} µs | |`);
  } finally {
    home.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ── 3. export CPU in workerd ──
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function workerdExport(n: number, records: number) {
  const work = mkdtempSync(join(tmpdir(), "nearbase-bench-privacy-"));
  const dist = join(root, "dist/bench-worker");
  if (process.env.SKIP_BUILD !== "1" || !existsSync(join(dist, "main.js")))
    execFileSync("wrangler", ["deploy", "--dry-run", "--outdir", dist], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    });
  const db = await startLibsqlServer({ path: join(work, "bench.db") });
  const client = createClient({ url: db.url });
  await migrateDatabase(client);
  const keys = JSON.stringify([await generateSigningJwk()]);
  const bindings: Record<string, string> = {
    DATABASE_URL: db.url,
    JWT_PRIVATE_KEYS: keys,
    DATA_ENCRYPTION_KEYS: JSON.stringify([generateDataKey()]),
    LOG_LEVEL: "warn",
    SHARED_CACHE: "off",
    ...limits,
  };
  const config = loadConfig(bindings, "node");
  const auth = await loadAuthConfig({ secrets: { get: async () => keys } }, config);
  const now = new Date();
  const user = await createUser(
    createDatabase(client),
    { email: "bench-export@example.test", role: "user", emailVerified: true },
    now,
  );
  const { accessToken } = await startSession(createDatabase(client), auth, user!, "bench", now);
  await seedPosts(client, user!.id, records);
  const workerd = await startWorkerd({
    modules: { "main.js": readFileSync(join(dist, "main.js")) },
    bindings,
    ready: "/health",
  });
  try {
    const base = workerd.base;
    const get = async () => {
      const res = await fetch(`${base}/api/me/export`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      const body = await res.arrayBuffer();
      if (res.status !== 200)
        throw new Error(`export: ${res.status} ${new TextDecoder().decode(body).slice(0, 300)}`);
      return body.byteLength;
    };
    for (let i = 0; i < 3; i++) await get();
    await sleep(500);
    const idle0 = processCpuMs(workerd.pid);
    const w0 = performance.now();
    await sleep(1000);
    const idleRate = (processCpuMs(workerd.pid) - idle0) / (performance.now() - w0);
    const c0 = processCpuMs(workerd.pid);
    const t0 = performance.now();
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes = await get();
    const wall = performance.now() - t0;
    const cpu = (processCpuMs(workerd.pid) - c0 - idleRate * wall) / n;
    console.log(`\n## Export CPU in workerd (built worker, bare workerd, libSQL over HTTP)\n`);
    console.log("| records | CPU per export | wall per export | document |");
    console.log("| ---: | ---: | ---: | ---: |");
    console.log(
      `| ${records} | ${cpu.toFixed(1)} ms | ${(wall / n).toFixed(0)} ms | ${mb(bytes)} MB |`,
    );
  } finally {
    await workerd.stop();
    await db.close();
    client.close();
    rmSync(work, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf("--export-child");
if (childAt > 0) {
  await exportChild(Number(process.argv[childAt + 1]));
} else {
  const sizes = (process.env.SIZES ?? "10000,100000").split(",").map(Number);
  if (only === undefined || only === "export") exports(sizes);
  if (only === undefined || only === "fields") await fields(Number(process.env.RUNS ?? 200));
  if (only === undefined || only === "workerd")
    await workerdExport(
      Number(process.env.N_EXPORT ?? 20),
      Number(process.env.WORKERD_RECORDS ?? 1000),
    );
}
