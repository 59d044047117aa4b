// `npx tsx bench/ab-node.ts <distA> <distB> [scenario…]`: an interleaved A/B of two builds of
// the Node home (each a dist/ folder: `git archive <commit> | tar -x -C /tmp/x`, link
// node_modules, `npx tsx scripts/build.ts`). Both run side by side on copies of the benchmark
// dataset with the peer benchmark's fair settings; each scenario alternates A, B, B, A … for
// AB_ROUNDS rounds of AB_SECONDS, so the machine's drift hits both alike. Reports the median
// CPU ms/request (the server's CPU time ÷ requests: steadier than req/s on a shared machine)
// and req/s of each, and B ÷ A.
//
// Either build may be `floor` instead: bench/floor.ts (bare hono + libSQL + jose, the same SQL),
// for how far a build is from the floor in CPU per request.
//
// Scenarios: list, total, owner, get, create, cache (default: list owner get create).
// Env: AB_ROUNDS (4), AB_SECONDS (5), BENCH_CONNECTIONS (16), AB_NODE_FLAGS_A / AB_NODE_FLAGS_B
// (space-separated Node flags for one side only, e.g. the same build with and without a flag),
// AB_CPU=main (the server's main thread's CPU only, from /proc/<pid>/task/<pid>/stat, instead of
// the process tree's: what one process's request handling costs, without libSQL's threads).
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { generateSigningJwk } from "../src/core/accounts/signing-keys";
import { benchToken, nodeScenarios, seedBenchDatabase } from "./lib/dataset";
import { type LoadResult, runLoad } from "./lib/load";
import { cpuTimeMs, startProcess, type Target } from "./lib/target";
import { nearbaseBenchEnv } from "./peers/settings";

const [distA, distB, ...picked] = process.argv.slice(2);
if (distA === undefined || distB === undefined)
  throw new Error("usage: bench/ab-node.ts <distA> <distB> [scenario…]");
const rounds = Number(process.env.AB_ROUNDS ?? 4);
const seconds = Number(process.env.AB_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const names = picked.length > 0 ? picked : ["list", "owner", "get", "create"];
const mainThreadOnly = process.env.AB_CPU === "main";

const scenarios = nodeScenarios;

const dir = mkdtempSync(join(tmpdir(), "nearbase-ab-"));
const base = join(dir, "base.db");
await seedBenchDatabase(base);
const jwk = await generateSigningJwk();
const keys = JSON.stringify([jwk]);
const { d: _d, ...publicJwk } = jwk;
const node = resolve("node_modules/.bin/node");
const cache = names.includes("cache") ? "on" : "off";

async function start(label: string, dist: string, port: number): Promise<Target> {
  const db = join(dir, `${label}.db`);
  copyFileSync(base, db);
  const floor = dist === "floor";
  return startProcess(
    label,
    floor ? resolve("node_modules/.bin/tsx") : node,
    [
      ...(process.env[`AB_NODE_FLAGS_${label}`] ?? "").split(" ").filter(Boolean),
      floor ? "bench/floor.ts" : join(resolve(dist), "server.js"),
    ],
    {
      env: {
        ...(floor ? { JWKS: JSON.stringify({ keys: [publicJwk] }) } : nearbaseBenchEnv),
        JWT_PRIVATE_KEYS: keys,
        PORT: String(port),
        DATABASE_URL: `file:${db}`,
        SHARED_CACHE: cache,
      },
      url: `http://127.0.0.1:${port}`,
      readyPath: "/ready",
    },
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const a = await start("A", distA, 18_861);
const b = await start("B", distB, 18_862);
const loads = [loadavg()[0]!];
try {
  const lines: string[] = [
    `| scenario | A ${mainThreadOnly ? "main-thread " : ""}CPU ms/req | B ${mainThreadOnly ? "main-thread " : ""}CPU ms/req | B ÷ A CPU | A req/s | B req/s |`,
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const name of names) {
    const make = scenarios[name];
    if (make === undefined) throw new Error(`unknown scenario ${name}`);
    const runs = new Map<Target, LoadResult[]>([
      [a, []],
      [b, []],
    ]);
    for (let round = 0; round < rounds; round++) {
      for (const t of round % 2 === 0 ? [a, b] : [b, a]) {
        const pid = t.pids()[0]!;
        const result = await runLoad(
          t.url,
          make(await benchToken(t.url)),
          seconds,
          connections,
          () => (mainThreadOnly ? mainThreadMs(pid) : cpuTimeMs(pid)),
        );
        if (result.non2xx + result.errors > 0)
          console.log(`  ${name} ${t === a ? "A" : "B"}: ${result.non2xx + result.errors} failed`);
        runs.get(t)!.push(result);
        loads.push(loadavg()[0]!);
      }
    }
    const cpu = (t: Target) => median(runs.get(t)!.map((r) => r.cpuMsPerRequest ?? Number.NaN));
    const rps = (t: Target) => median(runs.get(t)!.map((r) => r.requestsPerSec));
    const line = `| ${name} | ${cpu(a).toFixed(3)} | ${cpu(b).toFixed(3)} | ${(cpu(b) / cpu(a)).toFixed(2)} | ${rps(a).toFixed(0)} | ${rps(b).toFixed(0)} |`;
    console.log(line);
    lines.push(line);
  }
  console.log(
    `\nA = ${distA}, B = ${distB}; ${rounds} interleaved rounds × ${seconds} s, ${connections} connections; load average (1 min) ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}\n`,
  );
  console.log(lines.join("\n"));
} finally {
  await a.stop();
  await b.stop();
}

/** CPU ms of the process's main thread (utime + stime of its first task). */
function mainThreadMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Clock ticks of 10 ms (CLK_TCK = 100 on Linux, as bench/lib/target.ts reads them).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
