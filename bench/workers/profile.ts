// `npx tsx bench/workers/profile.ts [path…]`: a V8 CPU profile of the built worker in a bare
// workerd, taken through its inspector — the global scope (the bundle is loaded by a dynamic
// import inside the first request, so the profiler sees it) and the first requests to each path,
// then REPEAT warm requests per path. Prints self time by source file (the unminified bundle keeps
// esbuild's `// path` markers) and the heaviest functions. A tool for finding what to change,
// not a benchmark: sampling adds overhead. Env: REPEAT (default 200), DATABASE_URL (a libSQL HTTP
// server, e.g. `npm run libsql:serve`; paths that need no database work without it), AUTH (a
// bearer token sent with every request), GLOBAL=0 (profile requests only, not the global scope).
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { generateSigningJwk } from "../../src/core/accounts/signing-keys";
import { connectInspector } from "./inspector";

const root = resolve(import.meta.dirname, "../..");
const paths = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["/health"];
const repeat = Number(process.env.REPEAT ?? 200);

async function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

const work = mkdtempSync(join(tmpdir(), "nearbase-profile-"));
const dist = join(work, "dist");
mkdirSync(dist);
execFileSync("wrangler", ["deploy", "--dry-run", "--outdir", dist, "--minify=false"], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" },
});
const bundle = readFileSync(join(dist, "main.js"), "utf8");
writeFileSync(join(work, "worker.js"), bundle);
// The entry imports the real worker on first use, so its global scope runs inside a profiled
// request; GLOBAL=0 loads it at start (as deployed), so only the requests are profiled.
writeFileSync(
  join(work, "entry.js"),
  process.env.GLOBAL === "0"
    ? `export { default } from "./worker.js";`
    : `let w; export default { async fetch(r, e, c) { w ??= (await import("./worker.js")).default; return w.fetch(r, e, c); } };`,
);
const port = await freePort();
const inspector = await freePort();
const bindings: Record<string, string> = {
  DATABASE_URL: process.env.DATABASE_URL ?? "http://127.0.0.1:9",
  JWT_PRIVATE_KEYS: JSON.stringify([await generateSigningJwk()]),
  LOG_LEVEL: "warn",
  SHARED_CACHE: "off",
  RATE_LIMIT_READ: "100000/60s",
  RATE_LIMIT_WRITE: "100000/60s",
  RATE_LIMIT_AUTH: "100000/60s",
};
const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(
  readFileSync(join(root, "wrangler.toml"), "utf8"),
)![1]!;
writeFileSync(
  join(work, "config.capnp"),
  `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker), (name = "net", network = (allow = ["public", "private", "local"]))],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "entry.js", esModule = embed "entry.js"), (name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "${compatibilityDate}",
  globalOutbound = "net",
  bindings = [${Object.entries(bindings)
    .map(([name, text]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(text)})`)
    .join(", ")}],
);
`,
);
const child = spawn(
  join(root, "node_modules/workerd/bin/workerd"),
  ["serve", join(work, "config.capnp"), `--inspector-addr=127.0.0.1:${inspector}`],
  { stdio: ["ignore", "ignore", "inherit"] },
);
process.on("exit", () => child.kill());
const { send, close } = await connectInspector(inspector, 100);

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
for (const path of paths)
  await (await fetch(`http://127.0.0.1:${port}${path}`, { headers })).text();
summarise(
  `global scope + first request of ${paths.join(", ")}`,
  ((await send("Profiler.stop")) as { profile: Profile }).profile,
);
await send("Profiler.start");
for (let i = 0; i < repeat; i++)
  for (const path of paths)
    await (await fetch(`http://127.0.0.1:${port}${path}`, { headers })).text();
summarise(
  `${repeat} warm requests of each`,
  ((await send("Profiler.stop")) as { profile: Profile }).profile,
);
close();
child.kill();
