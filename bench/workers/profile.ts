// `npx tsx bench/workers/profile.ts [path…]`: a V8 CPU profile of the built worker in a bare
// workerd, taken through its inspector — the global scope (the bundle is loaded by a dynamic
// import inside the first request, so the profiler sees it) and the first requests to each path,
// then REPEAT warm requests per path. Prints self time by source file (the unminified bundle keeps
// esbuild's `// path` markers) and the heaviest functions. A tool for finding what to change,
// not a benchmark: sampling adds overhead. Env: REPEAT (default 200), DATABASE_URL (a libSQL HTTP
// server, e.g. `npm run libsql:serve`; paths that need no database work without it), AUTH (a
// bearer token sent with every request), GLOBAL=0 (profile requests only, not the global scope).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSigningJwk } from "../../src/core/accounts/signing-keys";
import { startWorkerd } from "../lib/workerd";
import { connectInspector } from "./inspector";

const paths = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["/health"];
const repeat = Number(process.env.REPEAT ?? 200);

const work = mkdtempSync(join(tmpdir(), "nearbase-profile-"));
const dist = join(work, "dist");
mkdirSync(dist);
execFileSync("wrangler", ["deploy", "--dry-run", "--outdir", dist, "--minify=false"], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" },
});
const bundle = readFileSync(join(dist, "main.js"), "utf8");
// The entry imports the real worker on first use, so its global scope runs inside a profiled
// request; GLOBAL=0 loads it at start (as deployed), so only the requests are profiled.
const entry =
  process.env.GLOBAL === "0"
    ? `export { default } from "./worker.js";`
    : `let w; export default { async fetch(r, e, c) { w ??= (await import("./worker.js")).default; return w.fetch(r, e, c); } };`;
const workerd = await startWorkerd({
  modules: { "entry.js": entry, "worker.js": bundle },
  bindings: {
    DATABASE_URL: process.env.DATABASE_URL ?? "http://127.0.0.1:9",
    JWT_PRIVATE_KEYS: JSON.stringify([await generateSigningJwk()]),
    LOG_LEVEL: "warn",
    SHARED_CACHE: "off",
    RATE_LIMIT_READ: "100000/60s",
    RATE_LIMIT_WRITE: "100000/60s",
    RATE_LIMIT_AUTH: "100000/60s",
  },
  inspector: true,
});
const { send, close } = await connectInspector(workerd.inspectorPort!, 100);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const lines = bundle.split("\n");
const sectionOf: string[] = [];
let current = "(bundle prelude)";
for (let i = 0; i < lines.length; i++) {
  const m = /^\/\/ ((?:node_modules|src)\/\S+)$/.exec(lines[i]!);
  if (m) current = m[1]!.replace(/^node_modules\/(@[^/]+\/[^/]+|[^/]+)\/.*/, "$1 (pkg)");
  sectionOf[i] = current;
}

function summarise(title: string, p: Profile) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const where = (n: Node) =>
    n.callFrame.url.endsWith("worker.js")
      ? (sectionOf[n.callFrame.lineNumber] ?? "?")
      : `[${n.callFrame.functionName || n.callFrame.url || "native"}]`;
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const t = p.timeDeltas[i] ?? 0;
    const n = byId.get(p.samples[i]!)!;
    if (n.callFrame.functionName === "(idle)") continue;
    total += t;
    self.set(where(n), (self.get(where(n)) ?? 0) + t);
    const seen = new Set<string>();
    for (let x: number | undefined = n.id; x !== undefined; x = parent.get(x)) {
      const f = byId.get(x)!;
      const k = `${f.callFrame.functionName || "(anonymous)"}  ${where(f)}`;
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + t);
    }
  }
  const show = (m: Map<string, number>, n: number) => {
    for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n))
      console.log(`${(t / 1000).toFixed(2).padStart(9)} ms  ${k}`);
  };
  console.log(`\n=== ${title}: ${(total / 1000).toFixed(1)} ms sampled (not idle)`);
  console.log("-- self time by source");
  show(self, 25);
  console.log("-- inclusive, by function");
  show(incl, 45);
}

await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 50 });
const headers: Record<string, string> =
  process.env.AUTH === undefined ? {} : { authorization: `Bearer ${process.env.AUTH}` };
await send("Profiler.start");
for (const path of paths) await (await fetch(`${workerd.base}${path}`, { headers })).text();
summarise(
  `global scope + first request of ${paths.join(", ")}`,
  ((await send("Profiler.stop")) as { profile: Profile }).profile,
);
await send("Profiler.start");
for (let i = 0; i < repeat; i++)
  for (const path of paths) await (await fetch(`${workerd.base}${path}`, { headers })).text();
summarise(
  `${repeat} warm requests of each`,
  ((await send("Profiler.stop")) as { profile: Profile }).profile,
);
close();
await workerd.stop();
