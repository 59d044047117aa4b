// `npx tsx bench/workers/profile-reads.ts`: where workerd's CPU goes on the reads of issue #22
// (public list, owner list, get by id), steady state. The built worker, unminified (as
// `wrangler deploy --dry-run --minify=false` bundles it: esbuild's `// path` markers name each
// function's source file or package), runs in a bare workerd with the V8 inspector; the seeded
// libSQL server of bench:workers-cpu sits behind a counting proxy. Per scenario: WARM requests,
// then N sequential requests under Profiler.start/stop (Chrome DevTools Protocol over Node 22's
// WebSocket), reported per request: sampled time by category — JS by package/source file,
// (program) = workerd's native work outside JS (KJ I/O, HTTP, the subrequest), (garbage
// collector) — the heaviest functions by self time, and libSQL HTTP subrequests per request.
// The same for the hello-world worker and the hello-world + one libSQL round trip worker
// (bench/workers/hello-db.ts). A tool for finding what to cut, not a benchmark: sampling adds
// overhead (INTERVAL µs, default 100) and the inspector's own thread is not counted.
// Env: N (default 2000), WARM (default 300), INTERVAL, DIST=<dir with an unminified main.js>,
// TOP (functions listed, default 30), JSON=<file> to keep the summaries, RAW=<dir> to keep the
// .cpuprofile files (Chrome DevTools opens them).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { startWorkerd } from "../lib/workerd";
import { readScenarios, seedWorkersBench } from "./dataset";
import { connectInspector } from "./inspector";

const root = resolve(import.meta.dirname, "../..");
const N = Number(process.env.N ?? 2000);
const WARM = Number(process.env.WARM ?? 300);
const INTERVAL = Number(process.env.INTERVAL ?? 100);
const TOP = Number(process.env.TOP ?? 30);

/** A counting HTTP proxy in front of the libSQL server: subrequests and their Hrana request types. */
async function countingProxy(target: string) {
  const upstream = new URL(target);
  const stats = { requests: 0, kinds: new Map<string, number>() };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      stats.requests++;
      let kind = `${req.method} ${req.url}`;
      try {
        const parsed = JSON.parse(body.toString()) as { requests?: { type: string }[] };
        if (parsed.requests) kind += ` [${parsed.requests.map((r) => r.type).join(",")}]`;
      } catch {
        // Not JSON (a GET): the method and path say enough.
      }
      stats.kinds.set(kind, (stats.kinds.get(kind) ?? 0) + 1);
      const out = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: upstream.host },
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats,
    reset() {
      stats.requests = 0;
      stats.kinds.clear();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

interface Worker {
  /** The bundle's text (main.js), also for mapping lines to source sections. */
  bundle: string;
  bindings: Record<string, string>;
}

/** The worker in a workerd of its own with the inspector attached and the profiler enabled. */
async function startProfiled(worker: Worker) {
  const workerd = await startWorkerd({
    modules: { "main.js": worker.bundle },
    bindings: worker.bindings,
    inspector: true,
  });
  const { send, close } = await connectInspector(workerd.inspectorPort!);
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: INTERVAL });
  return {
    base: workerd.base,
    pid: workerd.pid,
    send,
    async stop() {
      close();
      await workerd.stop();
    },
  };
}

/**
 * CPU ms per thread name of a process (/proc/<pid>/task/<tid>/schedstat, ns on CPU): the
 * isolate's thread, V8's background threads (GC, compilers) and workerd's others apart.
 */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${task}/comm`, "utf8").trim();
      const ns = Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
      out.set(name, (out.get(name) ?? 0) + ns / 1e6);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Each bundle line's source: the package (node_modules) or the src/ file esbuild marked it with. */
function sections(bundle: string): string[] {
  const lines = bundle.split("\n");
  const out: string[] = [];
  let current = "(bundle prelude)";
  for (let i = 0; i < lines.length; i++) {
    // esbuild writes paths relative to the build's directory: `src/…`, `node_modules/…`, or
    // `../../<elsewhere>/node_modules/…` when node_modules is a link (a copy of the tree).
    const m = /^\/\/ (\S*node_modules\/\S+|(?:src|bench)\/\S+)$/.exec(lines[i]!);
    if (m) current = m[1]!.replace(/^.*node_modules\/(@[^/]+\/[^/]+|[^/]+)\/.*/, "$1");
    out[i] = current;
  }
  return out;
}

interface Summary {
  name: string;
  n: number;
  subrequests: number;
  kinds: Record<string, number>;
  /** ms per request per thread name, without the profiler (N requests before the profiled N). */
  threads: Record<string, number>;
  /** ms per request */
  sampled: number;
  byCategory: [string, number][];
  bySource: [string, number][];
  byFunction: [string, number][];
  /** Self time with the native calls a JS function makes (fetch, Request, Headers…) added to it. */
  byCaller: [string, number][];
}

function summarise(name: string, n: number, p: Profile, sectionOf: string[]): Summary {
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const caller = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, t: number) => m.set(k, (m.get(k) ?? 0) + t);
  const category = new Map<string, number>();
  const source = new Map<string, number>();
  const fn = new Map<string, number>();
  const label = (x: ProfileNode) => {
    const f = x.callFrame;
    let where: string;
    if (f.url.endsWith("main.js")) where = sectionOf[f.lineNumber] ?? "?";
    else if (f.url === "") where = f.functionName.startsWith("(") ? f.functionName : "(native)";
    else where = f.url.replace(/^.*\//, "");
    const isJs = !where.startsWith("(");
    return {
      where,
      isJs,
      key: `${f.functionName || "(anonymous)"}  ${where}${isJs ? `:${f.lineNumber + 1}` : ""}`,
    };
  };
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // Each sample counts one interval: on a loaded machine the sampler thread is sometimes late,
    // and weighting by the delta would hand the wait to whatever stack came next.
    const t = INTERVAL / 1000;
    const node = byId.get(p.samples[i]!)!;
    const f = node.callFrame;
    if (f.functionName === "(idle)") continue;
    total += t;
    const { where, isJs, key } = label(node);
    add(category, isJs ? (where.startsWith("src/") ? "JS: src/" : "JS: packages") : where, t);
    add(source, where, t);
    add(fn, key, t);
    // A native frame (fetch, Request, a getter) counts for the nearest JS function calling it.
    let owner = node;
    if (where === "(native)") {
      for (let x = parent.get(node.id); x !== undefined; x = parent.get(x)) {
        const up = byId.get(x)!;
        if (label(up).isJs) {
          owner = up;
          break;
        }
      }
    }
    add(caller, label(owner).key, t);
  }
  const sorted = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([key, t]) => [key, t / n] as [string, number]);
  return {
    name,
    n,
    subrequests: 0,
    kinds: {},
    threads: {},
    sampled: total / n,
    byCategory: sorted(category, 10),
    bySource: sorted(source, 25),
    byFunction: sorted(fn, TOP),
    byCaller: sorted(caller, TOP),
  };
}

function print(s: Summary) {
  const f = (ms: number) => `${(ms * 1000).toFixed(1).padStart(7)} µs`;
  console.log(
    `\n=== ${s.name}: ${(s.sampled * 1000).toFixed(0)} µs sampled per request (not idle), ` +
      `${(s.subrequests / s.n).toFixed(2)} libSQL subrequests per request`,
  );
  for (const [k, v] of Object.entries(s.kinds)) console.log(`    ${(v / s.n).toFixed(2)} × ${k}`);
  console.log("-- CPU by thread, unprofiled (/proc schedstat; includes idle background work)");
  for (const [k, t] of Object.entries(s.threads).sort((a, b) => b[1] - a[1]))
    if (t >= 0.001) console.log(`${f(t)}  ${k}`);
  console.log("-- by category");
  for (const [k, t] of s.byCategory) console.log(`${f(t)}  ${k}`);
  console.log("-- self time by source (package or src/ file)");
  for (const [k, t] of s.bySource) console.log(`${f(t)}  ${k}`);
  console.log("-- self time by function");
  for (const [k, t] of s.byFunction) console.log(`${f(t)}  ${k}`);
  console.log("-- self time by function, with the native calls it makes");
  for (const [k, t] of s.byCaller) console.log(`${f(t)}  ${k}`);
}

async function bundleOf(entry: string, dir: string): Promise<string> {
  const outfile = join(dir, "bundle.js");
  await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    nodePaths: [join(root, "node_modules")],
    outfile,
    logLevel: "error",
  });
  return readFileSync(outfile, "utf8");
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), "nearbase-profile-reads-"));
  const data = await seedWorkersBench(work);
  const proxy = await countingProxy(data.url);
  const dist = process.env.DIST ?? join(work, "dist");
  if (process.env.DIST === undefined)
    execFileSync("wrangler", ["deploy", "--dry-run", "--outdir", dist, "--minify=false"], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    });
  const helloEntry = join(work, "hello.ts");
  writeFileSync(
    helloEntry,
    `import { Hono } from "hono";\nconst app = new Hono();\napp.get("*", (c) => c.json({ status: "ok" }));\nexport default app;\n`,
  );
  const env = { ...data.env, DATABASE_URL: proxy.url };
  const workers: [
    string,
    Worker,
    { name: string; path: (i: number) => string; auth: boolean }[],
  ][] = [
    [
      "hello-world",
      { bundle: await bundleOf(helloEntry, work), bindings: {} },
      [{ name: "GET /x", path: () => "/x", auth: false }],
    ],
    [
      "hello-world + one libSQL round trip",
      {
        bundle: await bundleOf(join(root, "bench/workers/hello-db.ts"), work),
        bindings: { DATABASE_URL: proxy.url },
      },
      [
        { name: "page of 20", path: () => "/", auth: false },
        { name: "one row", path: () => "/?q=one", auth: false },
      ],
    ],
    [
      "Nearbase",
      {
        bundle: readFileSync(join(dist, "main.js"), "utf8"),
        bindings: env,
      },
      [...readScenarios(data.ids)],
    ],
  ];
  const summaries: Summary[] = [];
  for (const [label, worker, scenarios] of workers) {
    const sectionOf = sections(worker.bundle);
    const w = await startProfiled(worker);
    for (const s of scenarios) {
      const get = async (i: number) => {
        const res = await fetch(w.base + s.path(i), { headers: s.auth ? data.bearer : {} });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${s.name} answered ${res.status}`);
      };
      for (let i = 0; i < WARM; i++) await get(i);
      const before = threadCpu(w.pid);
      for (let i = 0; i < N; i++) await get(i);
      const after = threadCpu(w.pid);
      const threads: Record<string, number> = {};
      for (const [name, ms] of after) threads[name] = (ms - (before.get(name) ?? 0)) / N;
      proxy.reset();
      await w.send("Profiler.start");
      for (let i = 0; i < N; i++) await get(i);
      const { profile } = (await w.send("Profiler.stop")) as { profile: Profile };
      if (process.env.RAW !== undefined)
        writeFileSync(
          join(process.env.RAW, `${label}-${s.name}.cpuprofile`.replace(/[^\w.-]+/g, "_")),
          JSON.stringify(profile),
        );
      const summary = summarise(`${label}: ${s.name}`, N, profile, sectionOf);
      summary.subrequests = proxy.stats.requests;
      summary.threads = threads;
      summary.kinds = Object.fromEntries(proxy.stats.kinds);
      print(summary);
      summaries.push(summary);
    }
    await w.stop();
  }
  if (process.env.JSON !== undefined)
    writeFileSync(process.env.JSON, JSON.stringify(summaries, null, 2));
  await proxy.close();
  await data.close();
  rmSync(work, { recursive: true, force: true });
}

await main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
