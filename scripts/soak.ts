// `npm run soak -- --minutes N [--home node|workers|both] [--rate 60] [--concurrency 12]
//   [--subscribers 10] [--out bench/results] [--date YYYY-MM-DD] [--name FILE] [--no-build]
//   [--node-entry dist|tsx] [--env KEY=VALUE ...] [--sample-seconds 5]` (`--help` prints this)
//
// A mixed workload (bench/soak/workload.ts) for N minutes against a real home on loopback:
// the Node home on an embedded file, as `npm start` runs it (`npm run build`, then
// `node dist/server.js` from a private copy of dist/; `--node-entry tsx` runs
// `src/platform/node/main.ts` through tsx instead, as `npm run dev`), with a probe preloaded for
// heap and event-loop lag; or the Workers home (the deployable worker in a bare workerd, libSQL
// over HTTP). `--no-build` reuses the dist/ already built. Every few seconds: the server's RSS
// and open file descriptors (/proc), heap and loop lag (Node), GET /health latency. Writes
// soak-<home>-<date>.md/.svg/.json and exits 1 on any 5xx or unanswered request, RSS/heap/FD
// growth still going at the end (bench/soak/report.ts, judgeGrowth), or a reconciliation
// failure (an acknowledged write or its event missing, an event not delivered).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  type Home,
  reenableWebhook,
  startNodeSoakHome,
  startWorkersSoakHome,
} from "../bench/soak/homes";
import { openFds, rssBytes, sleep } from "../bench/soak/lib";
import { Ledger, type Reconciliation, reconcile } from "../bench/soak/reconcile";
import {
  type Growth,
  judgeGrowth,
  memoryTable,
  type Sample,
  type Summary,
  standardPanels,
  summarize,
  svgChart,
} from "../bench/soak/report";
import { type Bucket, startWorkload } from "../bench/soak/workload";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    home: { type: "string", default: "node" },
    rate: { type: "string", default: "60" },
    concurrency: { type: "string", default: "12" },
    subscribers: { type: "string", default: "10" },
    out: { type: "string", default: "bench/results" },
    date: { type: "string", default: new Date().toISOString().slice(0, 10) },
    "sample-seconds": { type: "string", default: "5" },
    /** Result file name without extension (default soak-<home>-<date>). */
    name: { type: "string" },
    "no-build": { type: "boolean", default: false },
    /** Node home entry: dist (the built bundle, as `npm start`) or tsx (the sources, as `npm run dev`). */
    "node-entry": { type: "string", default: "dist" },
    /** KEY=VALUE settings for the home under test (repeatable). */
    env: { type: "string", multiple: true, default: [] },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  const text = readFileSync(new URL(import.meta.url), "utf8");
  console.log(
    text
      .slice(0, text.indexOf("\nimport "))
      .replace(/^\/\/ ?/gm, "")
      .trim(),
  );
  process.exit(0);
}
const extraEnv = Object.fromEntries(
  (values.env ?? []).map((kv) => {
    const at = kv.indexOf("=");
    if (at <= 0) {
      console.error(`--env takes KEY=VALUE (got ${JSON.stringify(kv)})`);
      process.exit(2);
    }
    return [kv.slice(0, at), kv.slice(at + 1)];
  }),
);
const minutes = Number(values.minutes);
if (!(minutes > 0 && minutes <= 24 * 60)) {
  console.error("--minutes must be a number of minutes, more than 0 and at most 1440");
  process.exit(2);
}
if (values["node-entry"] !== "dist" && values["node-entry"] !== "tsx") {
  console.error("--node-entry must be dist or tsx");
  process.exit(2);
}
const homes = values.home === "both" ? ["node", "workers"] : [values.home!];
for (const h of homes)
  if (h !== "node" && h !== "workers") {
    console.error("--home must be node, workers or both");
    process.exit(2);
  }

export interface SoakResult {
  home: string;
  minutes: number;
  summary: Summary;
  growth: Growth[];
  reconciliation: Reconciliation;
  realtime?: { changes: number; connects: number };
  loadAverage: number[];
  failures: string[];
}

async function soak(kind: "node" | "workers"): Promise<SoakResult> {
  const dir = mkdtempSync(join(tmpdir(), `nearbase-soak-${kind}-`));
  const home: Home =
    kind === "node"
      ? await startNodeSoakHome(dir, {
          db: "file",
          env: extraEnv,
          entry: values["node-entry"] as "dist" | "tsx",
          build: !values["no-build"],
        })
      : await startWorkersSoakHome(dir, { build: !values["no-build"], env: extraEnv });
  const ledger = new Ledger();
  const prefix = `soak-${kind}-${Date.now()}-`;
  const runStarted = new Date(Date.now() - 1000);
  const workload = await startWorkload({
    base: home.base,
    rate: Number(values.rate),
    concurrency: Number(values.concurrency),
    ledger,
    prefix,
    subscribers: kind === "node" ? Number(values.subscribers) : 0,
  });
  const samples: Sample[] = [];
  const loads: number[] = [];
  const durationMs = minutes * 60_000;
  const sampleMs = Number(values["sample-seconds"]) * 1000;
  const started = performance.now();
  console.error(`soak ${kind}: ${minutes} min at ~${values.rate} req/s against ${home.base}`);
  while (performance.now() - started < durationMs) {
    await sleep(sampleMs);
    const t0 = performance.now();
    await fetch(`${home.base}/health`).then(
      (r) => r.arrayBuffer(),
      () => undefined,
    );
    const probe = home.probe();
    const pid = home.pid();
    samples.push({
      t: workload.elapsedSeconds(),
      rss: rssBytes(pid),
      fds: openFds(pid),
      heapUsed: probe?.heapUsed,
      heapTotal: probe?.heapTotal,
      external: probe?.external,
      arrayBuffers: probe?.arrayBuffers,
      lagP99: probe?.lagP99,
      healthMs: performance.now() - t0,
    });
    loads.push(loadavg()[0]!);
    const last = samples.at(-1)!;
    if (samples.length % 12 === 0)
      console.error(
        `  ${Math.round(last.t)} s: RSS ${(last.rss / 2 ** 20).toFixed(1)} MiB, heap ${((last.heapUsed ?? 0) / 2 ** 20).toFixed(1)} MiB, external ${((last.external ?? 0) / 2 ** 20).toFixed(1)} MiB, FDs ${last.fds}, ledger ${ledger.writes.size}`,
      );
  }
  await workload.stop();

  // Deliveries still due when the load stops get a bounded time to arrive.
  let delivered: Set<string> | undefined;
  let switchedOff: string | undefined;
  if (home.webhook) switchedOff = await reenableWebhook(home.base, home.webhook, runStarted);
  if (home.receiver) {
    const receiver = home.receiver;
    const ids = async () =>
      (
        await home.db.execute({
          sql: "SELECT id FROM nb_events WHERE type = 'posts.created' AND json_extract(data, '$.title') LIKE ?",
          args: [`${prefix}%`],
        })
      ).rows.map((r) => String(r.id));
    const got = () => new Set(receiver.at("/soak").map((r) => r.headers["webhook-id"]!));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const want = await ids();
      const have = got();
      if (want.every((id) => have.has(id))) break;
      await sleep(500);
    }
    delivered = got();
  }
  const reconciliation = await reconcile(home.db, ledger, prefix, delivered);
  await home.stop();
  rmSync(dir, { recursive: true, force: true });

  const buckets: Bucket[] = workload.buckets;
  const summary = summarize(buckets);
  const g: Growth[] = judgeGrowth(samples);
  const failures: string[] = [];
  if (summary.fiveXx > 0) failures.push(`${summary.fiveXx} responses were 5xx`);
  if (summary.unanswered > 0) failures.push(`${summary.unanswered} requests got no answer`);
  for (const x of g)
    if (x.monotonic)
      failures.push(
        `${x.name} grew monotonically (still +${x.endSlopePerHour.toFixed(1)}/h over the last third; levelled off means at most +${x.tolerancePerHour}/h)`,
      );
  if (!reconciliation.ok) failures.push("reconciliation failed (see the table)");
  if (switchedOff !== undefined)
    failures.push(`the webhook endpoint was switched off: ${switchedOff}`);

  const result: SoakResult = {
    home: kind,
    minutes,
    summary,
    growth: g,
    reconciliation,
    realtime: kind === "node" ? workload.realtime() : undefined,
    loadAverage: [
      Math.min(...loads),
      loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length),
      Math.max(...loads),
    ],
    failures,
  };
  const outDir = resolve(values.out!);
  mkdirSync(outDir, { recursive: true });
  const name = values.name ?? `soak-${kind}-${values.date}`;
  writeFileSync(
    join(outDir, `${name}.svg`),
    svgChart(
      `Nearbase soak, ${kind} home, ${minutes} min, ${values.date}`,
      standardPanels(buckets, samples),
    ),
  );
  writeFileSync(
    join(outDir, `${name}.json`),
    `${JSON.stringify({ ...result, samples }, null, 1)}\n`,
  );
  writeFileSync(join(outDir, `${name}.md`), markdown({ ...result, samples }, name));
  console.log(markdown({ ...result, samples }, name));
  return result;
}

function markdown(r: SoakResult & { samples?: Sample[] }, name: string): string {
  const s = r.summary;
  const c = r.reconciliation;
  const rows = [
    `# Soak: ${r.home} home, ${r.minutes} min (${values.date})`,
    "",
    `${r.failures.length === 0 ? "**PASS**" : `**FAIL**: ${r.failures.join("; ")}`}`,
    "",
    `Machine: 2 cores shared with other sessions' test runs (load average min/mean/max over the run ${r.loadAverage.map((x) => x.toFixed(1)).join(" / ")}): latencies are inflated by that load; compare slopes and error counts, not absolutes.`,
    "",
    "| measure | value |",
    "| --- | --- |",
    `| requests | ${s.requests} in ${s.seconds} s (${s.throughput.toFixed(1)} req/s, target ${values.rate}) |`,
    `| latency p50 / p99 / max | ${s.p50.toFixed(1)} / ${s.p99.toFixed(1)} / ${s.max.toFixed(0)} ms |`,
    `| statuses | ${Object.entries(s.byStatus)
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join(", ")} |`,
    `| 5xx / unanswered | ${s.fiveXx} / ${s.unanswered} |`,
    `| non-2xx by operation | ${
      Object.entries(s.notOk)
        .sort()
        .map(([k, v]) => `${k}: ${v}`)
        .join(", ") || "none"
    } |`,
    `| settings given | ${
      Object.entries(extraEnv)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ") || "defaults (plus the load-test settings in bench/soak/lib.ts)"
    } |`,
    ...memoryRows(r),
    ...r.growth.map(
      (g) =>
        `| ${g.name} | ${g.first.toFixed(1)} → ${g.last.toFixed(1)}; slope ${g.slopePerHour.toFixed(1)}/h after warm-up, ${g.endSlopePerHour.toFixed(1)}/h over its last third (tolerance ${g.tolerancePerHour}/h); monotonic growth: ${g.monotonic ? "**yes**" : "no"} |`,
    ),
    ...(r.realtime
      ? [
          `| realtime SSE | ${r.realtime.connects} connects, ${r.realtime.changes} change messages received |`,
        ]
      : []),
    `| writes reconciled | ${c.sent} sent: ${c.acked} acknowledged, ${c.refused} refused, ${c.unknown} unanswered (${c.unknownApplied} applied whole, ${c.unknownAbsent} absent) |`,
    `| lost / half-applied / undelivered | ${c.lostAcked.length} / ${c.recordWithoutEvent.length + c.eventWithoutRecord.length} / ${r.home === "node" ? c.undelivered.length : "n/a (no queue/cron in bare workerd)"} |`,
    "",
    ...(r.samples?.some((x) => x.external !== undefined)
      ? ["", "Memory, medians per 10 minutes (MiB):", "", ...memoryTable(r.samples, 600)]
      : []),
    "",
    `Chart: [${name}.svg](${name}.svg); raw samples: ${name}.json. Rerun: \`npm run soak -- --minutes ${r.minutes} --home ${r.home}${rerunFlags()}${Object.entries(
      extraEnv,
    )
      .map(([k, v]) => ` --env ${k}=${v}`)
      .join("")}\`.`,
    "",
  ];
  return rows.join("\n");
}

/** Flags that differ from the defaults, for the rerun command. */
function rerunFlags(): string {
  const flags: string[] = [];
  if (values.rate !== "60") flags.push(`--rate ${values.rate}`);
  if (values.concurrency !== "12") flags.push(`--concurrency ${values.concurrency}`);
  if (values.subscribers !== "10") flags.push(`--subscribers ${values.subscribers}`);
  if (values.name) flags.push(`--name ${values.name}`);
  if (values["node-entry"] !== "dist") flags.push(`--node-entry ${values["node-entry"]}`);
  return flags.map((f) => ` ${f}`).join("");
}

/** Where the Node home's memory sits at the start (after warm-up) and the end of the run. */
function memoryRows(r: SoakResult & { samples?: Sample[] }): string[] {
  const s = (r.samples ?? []).filter((x) => x.external !== undefined);
  if (s.length < 2) return [];
  const warm = s.find((x) => x.t >= Math.max(30, s.at(-1)!.t / 5)) ?? s[0]!;
  const last = s.at(-1)!;
  const mib = (x: number | undefined) => ((x ?? 0) / 2 ** 20).toFixed(1);
  const native = (x: Sample) => x.rss - (x.heapTotal ?? 0) - (x.external ?? 0);
  return [
    `| memory after warm-up → end (MiB) | RSS ${mib(warm.rss)} → ${mib(last.rss)}; V8 heap total ${mib(warm.heapTotal)} → ${mib(last.heapTotal)}; external ${mib(warm.external)} → ${mib(last.external)} (ArrayBuffers ${mib(warm.arrayBuffers)} → ${mib(last.arrayBuffers)}); rest of RSS (native: libSQL, malloc, code) ${mib(native(warm))} → ${mib(native(last))} |`,
  ];
}

const results: SoakResult[] = [];
for (const h of homes) results.push(await soak(h as "node" | "workers"));
process.exit(results.every((r) => r.failures.length === 0) ? 0 : 1);
