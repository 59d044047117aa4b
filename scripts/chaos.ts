// `npm run chaos [-- --home node|workers] [--phase-seconds 15] [--rate 40] [--out bench/results]
//   [--date YYYY-MM-DD] [--no-build]`
//
// Faults on a timeline during a soak-style mixed workload (bench/soak/workload.ts), all on
// loopback, bounded (12 phases): the libSQL server hangs, answers 503, refuses connections, is
// restarted mid-load; the webhook receiver is down (Node home); the server process is killed
// with SIGKILL and restarted. Each phase reports what the clients saw (share answered 2xx,
// statuses, p99) and how long recovery took; at the end every write is reconciled with the
// database and the webhook receiver. Exits 1 if anything was lost or half-applied, an event
// went undelivered, a request hung (client timeout), a fault surfaced as a 5xx other than 503,
// or a request went unanswered outside the kill phase.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  type Home,
  reenableWebhook,
  startNodeSoakHome,
  startWorkersSoakHome,
} from "../bench/soak/homes";
import { openFds, percentile, rssBytes, sleep } from "../bench/soak/lib";
import { Ledger, reconcile } from "../bench/soak/reconcile";
import { type Sample, standardPanels, summarize, svgChart } from "../bench/soak/report";
import { startWorkload } from "../bench/soak/workload";

const { values } = parseArgs({
  options: {
    home: { type: "string", default: "node" },
    "phase-seconds": { type: "string", default: "15" },
    rate: { type: "string", default: "40" },
    concurrency: { type: "string", default: "10" },
    out: { type: "string", default: "bench/results" },
    date: { type: "string", default: new Date().toISOString().slice(0, 10) },
    "no-build": { type: "boolean", default: false },
  },
});
const kind = values.home as "node" | "workers";
if (kind !== "node" && kind !== "workers") {
  console.error("--home must be node or workers");
  process.exit(2);
}
const phaseMs = Number(values["phase-seconds"]) * 1000;
if (!(phaseMs >= 3000 && phaseMs <= 300_000)) {
  console.error("--phase-seconds must be from 3 to 300");
  process.exit(2);
}

interface Phase {
  name: string;
  /** Starts the fault (or nothing); returns how to end it. */
  fault?: (home: Home) => Promise<(() => Promise<void>) | undefined>;
  /** Unanswered requests are expected here (the process is dead until it restarts). */
  killsProcess?: boolean;
  nodeOnly?: boolean;
}

const phases: Phase[] = [
  { name: "baseline" },
  {
    name: "libSQL hangs",
    fault: async (h) => {
      await h.libsql!.proxy.set({ mode: "hang" });
      return () => h.libsql!.proxy.set({ mode: "none" });
    },
  },
  { name: "recovered" },
  {
    name: "libSQL answers 503",
    fault: async (h) => {
      await h.libsql!.proxy.set({ mode: "error", status: 503 });
      return () => h.libsql!.proxy.set({ mode: "none" });
    },
  },
  { name: "recovered" },
  {
    name: "libSQL gone (refused)",
    fault: async (h) => {
      await h.libsql!.proxy.set({ mode: "refuse" });
      return () => h.libsql!.proxy.set({ mode: "none" });
    },
  },
  { name: "recovered" },
  {
    name: "libSQL server restart mid-load",
    fault: async (h) => {
      await h.libsql!.restart();
      return undefined;
    },
  },
  {
    name: "webhook receiver down (503)",
    nodeOnly: true,
    fault: async (h) => {
      h.receiver!.set(() => 503);
      return async () => h.receiver!.set(() => 204);
    },
  },
  { name: "recovered" },
  {
    name: "server SIGKILL + restart",
    killsProcess: true,
    fault: async (h) => {
      await h.killAndRestart();
      return undefined;
    },
  },
  { name: "recovered" },
];

async function main() {
  const dir = mkdtempSync(join(tmpdir(), `nearbase-chaos-${kind}-`));
  const home =
    kind === "node"
      ? await startNodeSoakHome(dir, { db: "http", env: { DATABASE_TIMEOUT_MS: "1000" } })
      : await startWorkersSoakHome(dir, { build: !values["no-build"] });
  const ledger = new Ledger();
  const prefix = `chaos-${kind}-${Date.now()}-`;
  const runStarted = new Date(Date.now() - 1000);
  const workload = await startWorkload({
    base: home.base,
    rate: Number(values.rate),
    concurrency: Number(values.concurrency),
    ledger,
    prefix,
    subscribers: kind === "node" ? 5 : 0,
    requestTimeoutMs: 20_000,
  });
  const samples: Sample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await sleep(1000);
      const probe = home.probe();
      samples.push({
        t: workload.elapsedSeconds(),
        rss: rssBytes(home.pid()),
        fds: openFds(home.pid()),
        heapUsed: probe?.heapUsed,
        lagP99: probe?.lagP99,
        healthMs: Number.NaN,
      });
    }
  })();
  const timeline: { name: string; from: number; to: number; faultEnded?: number; phase: Phase }[] =
    [];
  const loads: number[] = [];
  for (const phase of phases) {
    if (phase.nodeOnly && kind !== "node") continue;
    const from = workload.elapsedSeconds();
    console.error(`${from.toFixed(0)} s: ${phase.name}`);
    const end = await phase.fault?.(home);
    const left = phaseMs - (workload.elapsedSeconds() - from) * 1000;
    if (left > 0) await sleep(left);
    await end?.();
    const to = workload.elapsedSeconds();
    timeline.push({ name: phase.name, from, to, phase });
    loads.push(loadavg()[0]!);
  }
  await workload.stop();
  sampling = false;
  await sampler;

  let delivered: Set<string> | undefined;
  let switchedOff: string | undefined;
  if (home.webhook) switchedOff = await reenableWebhook(home.base, home.webhook, runStarted);
  if (home.receiver) {
    const receiver = home.receiver;
    const got = () => new Set(receiver.at("/soak").map((r) => r.headers["webhook-id"]!));
    // A delivery claimed when the process was killed is retried once its claim expires
    // (endpoint timeout + 30 s).
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      const want = (
        await home.db.execute({
          sql: "SELECT id FROM nb_events WHERE type = 'posts.created' AND json_extract(data, '$.title') LIKE ?",
          args: [`${prefix}%`],
        })
      ).rows.map((r) => String(r.id));
      const have = got();
      if (want.every((id) => have.has(id))) break;
      await sleep(500);
    }
    delivered = got();
  }
  const c = await reconcile(home.db, ledger, prefix, delivered);
  await home.stop();
  rmSync(dir, { recursive: true, force: true });

  // Per phase: what the clients saw.
  const buckets = workload.buckets;
  const failures: string[] = [];
  const rows = timeline.map((p, i) => {
    const inPhase = buckets.filter((b) => b.t >= Math.floor(p.from) && b.t < Math.floor(p.to));
    const s = summarize(inPhase);
    const ok = Object.entries(s.byStatus)
      .filter(([k]) => /^2\d\d$/.test(k))
      .reduce((a, [, n]) => a + n, 0);
    const other5xx = Object.entries(s.byStatus).filter(([k]) => /^5\d\d$/.test(k) && k !== "503");
    if (other5xx.length > 0)
      failures.push(`${p.name}: ${other5xx.map(([k, n]) => `${n}× ${k}`).join(", ")}`);
    if ((s.byStatus.timeout ?? 0) > 0)
      failures.push(`${p.name}: ${s.byStatus.timeout} requests hung past the client timeout`);
    // Requests that failed to connect while the process was dead may complete (fail) just
    // after the restart: the first 2 s after a kill are its.
    const graceTo = timeline[i - 1]?.phase.killsProcess ? p.from + 2 : p.from;
    const unanswered = inPhase
      .filter((b) => b.t >= Math.floor(graceTo))
      .reduce((a, b) => a + (b.byStatus.neterr ?? 0), 0);
    if (!p.phase.killsProcess && unanswered > 0)
      failures.push(`${p.name}: ${unanswered} requests unanswered (connection failed)`);
    // Recovery: seconds from the phase's start until the first full second of only 2xx.
    const clean = inPhase.find(
      (b) => b.latencies.length > 0 && Object.keys(b.byStatus).every((k) => /^2\d\d$/.test(k)),
    );
    return {
      name: p.name,
      seconds: `${p.from.toFixed(0)}–${p.to.toFixed(0)}`,
      requests: s.requests,
      availability: s.requests === 0 ? Number.NaN : ok / s.requests,
      byStatus: s.byStatus,
      p99: percentile(
        inPhase.flatMap((b) => b.latencies),
        99,
      ),
      firstClean: clean === undefined ? undefined : clean.t - Math.floor(p.from),
    };
  });
  if (!c.ok) failures.push("reconciliation failed");
  const faultSpans = timeline
    .filter((p) => p.phase.fault !== undefined)
    .map((p) => ({ from: p.from, to: p.to, label: p.name }));
  const outDir = resolve(values.out!);
  mkdirSync(outDir, { recursive: true });
  const name = `chaos-${kind}-${values.date}`;
  writeFileSync(
    join(outDir, `${name}.svg`),
    svgChart(
      `Nearbase chaos, ${kind} home, ${values.date}`,
      standardPanels(buckets, samples, faultSpans).slice(0, 4),
    ),
  );
  const md = [
    `# Chaos: ${kind} home (${values.date})`,
    "",
    failures.length === 0 ? "**PASS**: nothing lost" : `**FAIL**: ${failures.join("; ")}`,
    "",
    `${kind === "node" ? "Node home on a libSQL server over HTTP (DATABASE_TIMEOUT_MS=1000) through the fault proxy, embedded-file durability underneath" : "Workers home: the deployable worker in a bare workerd, libSQL over HTTP (DATABASE_TIMEOUT_MS=2000) through the fault proxy"}; mixed workload at ~${values.rate} req/s, ${values["phase-seconds"]} s phases. Machine: 2 cores shared with other sessions (load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}).`,
    "",
    "| phase | s | requests | answered 2xx | statuses | p99 ms | first all-2xx second |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.seconds} | ${r.requests} | ${(r.availability * 100).toFixed(1)}% | ${Object.entries(
          r.byStatus,
        )
          .sort()
          .map(([k, v]) => `${k}: ${v}`)
          .join(
            ", ",
          )} | ${r.p99.toFixed(0)} | ${r.firstClean === undefined ? "none" : `+${r.firstClean} s`} |`,
    ),
    "",
    "Reconciliation (what clients were told vs the database and the webhook receiver):",
    "",
    `- ${c.sent} writes sent (creates and batches of three): ${c.acked} acknowledged, ${c.refused} refused (4xx), ${c.unknown} unanswered or 5xx — of those ${c.unknownApplied} applied whole (record and event), ${c.unknownAbsent} not at all`,
    `- acknowledged but missing: **${c.lostAcked.length}**; refused but applied: **${c.appliedRefused.length}**; record without event / event without record: **${c.recordWithoutEvent.length} / ${c.eventWithoutRecord.length}**`,
    `- posts.created events not delivered to the receiver: ${delivered === undefined ? "n/a (bare workerd has no queue or cron)" : `**${c.undelivered.length}**`}`,
    ...(switchedOff === undefined
      ? []
      : [
          `- the receiver outage switched the webhook endpoint off (policy WEBHOOK_DISABLE_AFTER_FAILURES, default 100: "${switchedOff}"); the script then did what an operator does — PATCH enabled: true and POST /replay for the run's range — and the count above is after that`,
        ]),
    "",
    `Chart: [${name}.svg](${name}.svg) (faults shaded). Rerun: \`npm run chaos -- --home ${kind}\`.`,
    "",
  ].join("\n");
  writeFileSync(join(outDir, `${name}.md`), md);
  writeFileSync(
    join(outDir, `${name}.json`),
    `${JSON.stringify({ rows, reconciliation: c, failures, samples }, null, 1)}\n`,
  );
  console.log(md);
  process.exit(failures.length === 0 ? 0 : 1);
}

await main();
