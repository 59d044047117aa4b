// npx tsx bench/soak/overload.ts [--limits 256,0] [--rates 50,100,200,400,800] [--seconds 8]
//   [--out bench/results/overload-<date>.md]
//
// The overload curve of the Node home: offered load (log-ins per second, each a PBKDF2 hash on
// libuv's thread pool, so work piles up in flight) against a real process, once per
// MAX_IN_FLIGHT_REQUESTS value (0 = no limit), with autocannon at a fixed overall rate (latency
// corrected for coordinated omission). Reports per rate: answered 2xx per second, 503s per
// second, other statuses and errors, p50/p99 latency of all answers, and the server's peak RSS.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { generateSigningJwk } from "../../src/core/accounts/signing-keys";
import { loadTestEnv, rssBytes, signUp, startNodeHome } from "./lib";

const { values } = parseArgs({
  options: {
    limits: { type: "string", default: "256,0" },
    rates: { type: "string", default: "50,100,200,400,800" },
    seconds: { type: "string", default: "8" },
    connections: { type: "string", default: "1000" },
    out: { type: "string" },
  },
});
const limits = values.limits!.split(",").map(Number);
const rates = values.rates!.split(",").map(Number);
const seconds = Number(values.seconds);

interface Point {
  limit: number;
  rate: number;
  ok: number;
  shed: number;
  other: number;
  errors: number;
  p50: number;
  p99: number;
  rssMiB: number;
}

const points: Point[] = [];
const loads: number[] = [];
for (const limit of limits) {
  const dir = mkdtempSync(join(tmpdir(), "nearbase-overload-"));
  const home = await startNodeHome({
    ...loadTestEnv,
    DATABASE_URL: `file:${join(dir, "overload.db")}`,
    JWT_PRIVATE_KEYS: JSON.stringify([await generateSigningJwk()]),
    DATA_KEYS_FILE: join(dir, "keys.json"),
    MAX_IN_FLIGHT_REQUESTS: String(limit),
  });
  const account = await signUp(home.base, "overload@example.com");
  for (const rate of rates) {
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes(home.child.pid ?? 0));
    }, 250);
    const result = await autocannon({
      url: `${home.base}/api/auth/login`,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: account.email, password: account.password }),
      connections: Math.min(Number(values.connections), rate * 4),
      overallRate: rate,
      duration: seconds,
      timeout: 30,
    });
    clearInterval(sampler);
    loads.push(loadavg()[0]!);
    const codes = result.statusCodeStats as Record<string, { count: number }>;
    const count = (k: string) => codes[k]?.count ?? 0;
    const answered = Object.values(codes).reduce((a, c) => a + c.count, 0);
    const point: Point = {
      limit,
      rate,
      ok: count("200") / seconds,
      shed: count("503") / seconds,
      other: (answered - count("200") - count("503")) / seconds,
      errors: result.errors + result.timeouts,
      p50: result.latency.p50,
      p99: result.latency.p99,
      rssMiB: peak / 2 ** 20,
    };
    points.push(point);
    console.error(JSON.stringify(point));
    // Let the backlog drain before the next rate.
    await new Promise((r) => setTimeout(r, 3000));
  }
  await home.stop("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}

const md = [
  "# Overload curve: Node home, log-ins (PBKDF2, 10,000 iterations) at a fixed offered rate",
  "",
  `autocannon at a fixed overall rate for ${seconds} s per point (latency corrected for coordinated omission), against a real process; MAX_IN_FLIGHT_REQUESTS per table (0 = no limit). Machine: 2 cores shared with other sessions (load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}): read the shape, not the absolutes.`,
  "",
  "| limit | offered /s | 200 /s | 503 /s | other /s | errors | p50 ms | p99 ms | peak RSS MiB |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ...points.map(
    (p) =>
      `| ${p.limit === 0 ? "none" : p.limit} | ${p.rate} | ${p.ok.toFixed(0)} | ${p.shed.toFixed(0)} | ${p.other.toFixed(0)} | ${p.errors} | ${p.p50} | ${p.p99} | ${p.rssMiB.toFixed(0)} |`,
  ),
  "",
  "Rerun: `npx tsx bench/soak/overload.ts`.",
  "",
].join("\n");
if (values.out) writeFileSync(resolve(values.out), md);
console.log(md);
