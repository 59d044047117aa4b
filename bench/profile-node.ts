// `npm run bench:profile -- <scenario>`: where the Node home's CPU goes under load. Runs the
// production build (`node --cpu-prof dist/server.js`) on the benchmark dataset with the peer
// benchmark's fair settings, drives one scenario with autocannon, and maps the V8 profile back
// to source files through dist/server.js.map: self time by area (our src/ folders, each
// dependency, Node internals, GC, idle), the share of samples with each area anywhere on the
// stack, and the hottest functions.
//
// Scenarios: list (public list of 20), cache (the same, shared cache on: the per-request
// overhead with no database work), total, owner (bearer), get, create.
// Env: PROFILE_SECONDS (10), BENCH_CONNECTIONS (16), PROFILE_SKIP_BUILD=1, PROFILE_OUT (a .md path),
// PROFILE_DIST (another build's dist/ folder, e.g. a `git archive` of an older commit built with
// `npx tsx scripts/build.ts`: profiles that build instead, for a before/after; implies no build),
// PROFILE_NODE_FLAGS (space-separated extra Node flags, e.g. --experimental-async-context-frame),
// PROFILE_FROM (the directory of an earlier run, printed at its end: its .cpuprofile is mapped
// again through PROFILE_DIST's or dist/'s source map, with no new run).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSigningJwk } from "../src/core/accounts/signing-keys";
import { benchToken, nodeScenarios, seedBenchDatabase } from "./lib/dataset";
import { runLoad } from "./lib/load";
import { cpuTimeMs, startProcess } from "./lib/target";
import { nearbaseBenchEnv } from "./peers/settings";

const name = process.argv[2] ?? "get";
const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const scenarios = nodeScenarios;
const make = scenarios[name];
if (make === undefined)
  throw new Error(`unknown scenario ${name}: one of ${Object.keys(scenarios).join(", ")}`);

const from = process.env.PROFILE_FROM;
const dir = from ?? mkdtempSync(join(tmpdir(), "nearbase-profile-"));
const distDir = resolve(process.env.PROFILE_DIST ?? "dist");
if (from === undefined) await profileRun();

async function profileRun() {
  await seedBenchDatabase(join(dir, "data.db"));
  if (process.env.PROFILE_SKIP_BUILD !== "1" && process.env.PROFILE_DIST === undefined)
    execFileSync("npm", ["run", "--silent", "build"], { stdio: "inherit" });
  const port = 18_850;
  const target = await startProcess(
    "nearbase",
    resolve("node_modules/.bin/node"),
    [
      ...(process.env.PROFILE_NODE_FLAGS ?? "").split(" ").filter(Boolean),
      "--cpu-prof",
      `--cpu-prof-dir=${dir}`,
      join(distDir, "server.js"),
    ],
    {
      env: {
        ...nearbaseBenchEnv,
        JWT_PRIVATE_KEYS: JSON.stringify([await generateSigningJwk()]),
        PORT: String(port),
        DATABASE_URL: `file:${join(dir, "data.db")}`,
        SHARED_CACHE: name === "cache" ? "on" : "off",
      },
      url: `http://127.0.0.1:${port}`,
      readyPath: "/ready",
    },
  );
  try {
    const token = await benchToken(target.url);
    const pid = target.pids()[0]!;
    const result = await runLoad(target.url, make!(token), seconds, connections, () =>
      cpuTimeMs(pid),
    );
    console.log(
      `${name}: ${result.requestsPerSec.toFixed(0)} req/s, ${result.cpuMsPerRequest?.toFixed(2)} CPU ms/req, non-2xx ${result.non2xx}`,
    );
  } finally {
    await target.stop();
  }
}

// ── the profile, mapped to sources ──
interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}
const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
if (file === undefined) throw new Error("no profile written (did the server exit cleanly?)");
const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as Profile;
// The bundle is dist/server.js, or dist/nearbase.js behind a dist/server.js launcher, plus the
// chunks it splits off (dist/chunk-*.js): every file of distDir with a source map is mapped.
const mapped = readdirSync(distDir).filter(
  (f) => f.endsWith(".js") && existsSync(join(distDir, `${f}.map`)),
);
if (mapped.length === 0) throw new Error(`no source map in ${distDir}`);
const maps = new Map<string, SourceMap>();
/** The source map of the dist file a frame runs in, if it is one of ours. */
function mapOf(url: string): SourceMap | undefined {
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  if (dirname(path) !== distDir || !mapped.includes(basename(path))) return undefined;
  let map = maps.get(path);
  if (map === undefined) {
    map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, "utf8")));
    maps.set(path, map);
  }
  return map;
}

/** Where a frame's code comes from: `src/core/records`, `drizzle-orm`, `node:internal`, `(gc)`… */
function place(frame: Frame): { area: string; source: string } {
  if (frame.url === "") {
    const fn = frame.functionName;
    if (fn === "(garbage collector)") return { area: "(garbage collector)", source: fn };
    if (fn === "(idle)" || fn === "(program)" || fn === "(root)") return { area: fn, source: fn };
    return { area: "(native/builtin)", source: fn };
  }
  const map = mapOf(frame.url);
  if (map === undefined) {
    if (frame.url.startsWith("node:")) return { area: "node:internal", source: frame.url };
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url)?.[1];
    return { area: pkg ?? frame.url, source: frame.url };
  }
  const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string };
  const source = (entry.originalSource ?? "?").replace(/^.*?(node_modules\/|src\/)/, "$1");
  // drizzle-orm's own source maps point one level too high (../src/…), so its files land
  // in node_modules/src/.
  if (source.startsWith("node_modules/src/")) return { area: "drizzle-orm", source };
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source)?.[1];
  if (pkg !== undefined) return { area: pkg, source };
  const parts = source.split("/");
  return {
    area: parts
      .slice(0, parts[1] === "core" || parts[1] === "http" || parts[1] === "platform" ? 3 : 2)
      .join("/")
      .replace(/\.ts$/, ""),
    source,
  };
}

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const places = new Map<number, { area: string; source: string }>();
const placeOf = (id: number) => {
  let p = places.get(id);
  if (p === undefined) {
    p = place(byId.get(id)!.callFrame);
    places.set(id, p);
  }
  return p;
};
const self = new Map<string, number>();
const onStack = new Map<string, number>();
const functions = new Map<string, number>();
// Each sample charged to the innermost frame of our own code or of Hono's middleware and Node
// adapter: what each middleware, route and service costs by itself, callees in Node or a
// dependency included and the `next()` it awaits excluded (a middleware's frames nest around
// the rest of the chain, so "on the stack" shares say little about one of them).
const ownCode =
  /^(src\/|node_modules\/hono\/dist\/middleware\/|node_modules\/@hono\/node-server\/)/;
const innermost = new Map<string, number>();
let busy = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i + 1] ?? 0;
  const leaf = profile.samples[i]!;
  const { area, source } = placeOf(leaf);
  self.set(area, (self.get(area) ?? 0) + dt);
  if (area === "(idle)") continue;
  busy += dt;
  const fn = `${byId.get(leaf)!.callFrame.functionName || "(anonymous)"} — ${source}`;
  functions.set(fn, (functions.get(fn) ?? 0) + dt);
  const seen = new Set<string>();
  for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id))
    seen.add(placeOf(id).area);
  for (const a of seen) onStack.set(a, (onStack.get(a) ?? 0) + dt);
  let charged = `(outside: ${area})`;
  for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
    const p = placeOf(id);
    if (ownCode.test(p.source)) {
      charged = `${byId.get(id)!.callFrame.functionName || "(anonymous)"} — ${p.source}`;
      break;
    }
  }
  innermost.set(charged, (innermost.get(charged) ?? 0) + dt);
}
const pct = (v: number) => `${((100 * v) / busy).toFixed(1)} %`;
const table = (title: string, m: Map<string, number>, n: number, skip: string[] = []) => [
  `| ${title} | share of busy CPU |`,
  "|---|---:|",
  ...[...m]
    .filter(([k]) => !skip.includes(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `| ${k} | ${pct(v)} |`),
];
const report = [
  `# Node home profile: ${name} (${new Date().toISOString().slice(0, 10)})`,
  "",
  `\`node --cpu-prof dist/server.js\`, autocannon ${connections} connections × ${seconds} s, main thread only (libSQL's own threads are not sampled). Busy = samples not idle; idle was ${((100 * (self.get("(idle)") ?? 0)) / (busy + (self.get("(idle)") ?? 0))).toFixed(0)} % of the main thread's time.`,
  "",
  ...table("self time by area", self, 25, ["(idle)"]),
  "",
  ...table("area anywhere on the stack", onStack, 25, ["(idle)", "(root)", "(program)"]),
  "",
  ...table("hottest functions (self)", functions, 30),
  "",
  ...table("innermost frame of our code or Hono's middleware/adapter", innermost, 30),
  "",
].join("\n");
console.log(report);
if (from === undefined) console.log(`(profile kept in ${dir}: PROFILE_FROM=${dir} maps it again)`);
if (process.env.PROFILE_OUT) writeFileSync(process.env.PROFILE_OUT, report);
