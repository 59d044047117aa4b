// `npx tsx bench/cache-hit.ts <dist> [<distWithoutFastPath>]`: what a shared-cache hit costs next
// to the uncached list, in one run (issue #21's goal: a hit ≥ 5× the uncached list). Targets, on
// copies of the benchmark dataset with the peer benchmark's fair settings (no rate limits, no
// request log), each `node <dist>/server.js`, one process:
//   uncached   SHARED_CACHE=off, the public list of 20
//   hit        SHARED_CACHE=on, the same list (every request after the first a fresh hit)
//   hit-app    the same from <distWithoutFastPath> (a build before the Node cache fast path)
//   bare       a bare node:http server answering the same bytes with the same fields (the floor
//              for any hit: what node:http and the socket cost)
// Rounds rotate the order, so the machine's drift hits all alike; reports median CPU ms/request
// (the server's CPU time ÷ requests answered: steadier than req/s on a shared machine) and req/s.
// Env: CH_ROUNDS (5), CH_SECONDS (5), BENCH_CONNECTIONS (16), CH_ENV (JSON: settings on top of
// the fair ones for every Nearbase target, e.g. '{"RATE_LIMIT_READ":"999999/1s","LOG_SAMPLE_RATE":"1"}'
// for the limiter and the request log as a default configuration runs them).
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { generateSigningJwk } from "../src/core/accounts/signing-keys";
import { nodeScenarios, seedBenchDatabase } from "./lib/dataset";
import { type LoadResult, runLoad } from "./lib/load";
import { cpuTimeMs, startProcess, type Target } from "./lib/target";
import { nearbaseBenchEnv } from "./peers/settings";

const [dist, distApp] = process.argv.slice(2);
if (dist === undefined) throw new Error("usage: bench/cache-hit.ts <dist> [<distWithoutFastPath>]");
const rounds = Number(process.env.CH_ROUNDS ?? 5);
const seconds = Number(process.env.CH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const scenario = nodeScenarios.list!("");
const extraEnv = JSON.parse(process.env.CH_ENV ?? "{}") as Record<string, string>;

const dir = mkdtempSync(join(tmpdir(), "nearbase-cache-hit-"));
const base = join(dir, "base.db");
await seedBenchDatabase(base);
const keys = JSON.stringify([await generateSigningJwk()]);
const node = resolve("node_modules/.bin/node");

function nearbase(label: string, from: string, port: number, cache: "on" | "off") {
  const db = join(dir, `${label}.db`);
  copyFileSync(base, db);
  return startProcess(label, node, [join(resolve(from), "server.js")], {
    env: {
      ...nearbaseBenchEnv,
      ...extraEnv,
      JWT_PRIVATE_KEYS: keys,
      PORT: String(port),
      DATABASE_URL: `file:${db}`,
      SHARED_CACHE: cache,
    },
    url: `http://127.0.0.1:${port}`,
    readyPath: "/ready",
  });
}

const targets: Target[] = [
  await nearbase("uncached", dist, 18_871, "off"),
  await nearbase("hit", dist, 18_872, "on"),
];
if (distApp !== undefined) targets.push(await nearbase("hit-app", distApp, 18_873, "on"));

// The bare floor answers with a hit's own bytes and fields (taken from the "hit" target).
const sample = await fetch(targets[1]!.url + scenario.path);
const sampleBody = Buffer.from(await sample.arrayBuffer());
const sampleHeaders = Object.fromEntries(
  [...sample.headers].filter(([n]) => !["date", "connection", "keep-alive"].includes(n)),
);
const bareScript = join(dir, "bare.mjs");
writeFileSync(
  bareScript,
  [
    `import { createServer } from "node:http";`,
    `const body = Buffer.from(${JSON.stringify(sampleBody.toString("base64"))}, "base64");`,
    `const headers = ${JSON.stringify(sampleHeaders)};`,
    `createServer((req, res) => { res.writeHead(200, headers); res.end(body); })`,
    `  .listen(18874, "127.0.0.1");`,
  ].join("\n"),
);
targets.push(
  await startProcess("bare", node, [bareScript], {
    env: {},
    url: "http://127.0.0.1:18874",
    readyPath: "/",
  }),
);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const runs = new Map<Target, LoadResult[]>(targets.map((t) => [t, []]));
const loads = [loadavg()[0]!];
try {
  for (let round = 0; round < rounds; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    for (const t of order) {
      const pid = t.pids()[0]!;
      const result = await runLoad(t.url, scenario, seconds, connections, () => cpuTimeMs(pid));
      if (result.non2xx + result.errors > 0)
        console.log(`  ${t.name}: ${result.non2xx + result.errors} failed`);
      runs.get(t)!.push(result);
      loads.push(loadavg()[0]!);
      console.log(
        `  round ${round + 1} ${t.name}: ${result.cpuMsPerRequest?.toFixed(3)} CPU ms/req, ${result.requestsPerSec.toFixed(0)} req/s`,
      );
    }
  }
  const cpu = (t: Target) => median(runs.get(t)!.map((r) => r.cpuMsPerRequest ?? Number.NaN));
  const rps = (t: Target) => median(runs.get(t)!.map((r) => r.requestsPerSec));
  const uncached = targets[0]!;
  const lines = [
    "| target | CPU ms/req | uncached CPU ÷ this | req/s | ÷ uncached req/s |",
    "|---|---:|---:|---:|---:|",
    ...targets.map(
      (t) =>
        `| ${t.name} | ${cpu(t).toFixed(3)} | ${(cpu(uncached) / cpu(t)).toFixed(2)}× | ${rps(t).toFixed(0)} | ${(rps(t) / rps(uncached)).toFixed(2)}× |`,
    ),
  ];
  console.log(
    `\n${scenario.path}; settings ${JSON.stringify({ ...nearbaseBenchEnv, ...extraEnv })}; ${rounds} rotated rounds × ${seconds} s, ${connections} connections; load average (1 min) ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}\n`,
  );
  console.log(lines.join("\n"));
} finally {
  for (const t of targets) await t.stop();
}
