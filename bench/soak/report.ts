import { percentile } from "./lib";
import type { Bucket } from "./workload";

/** One sample of the server process, every few seconds. */
export interface Sample {
  t: number;
  rss: number;
  fds: number;
  /** Node home only (from the preloaded probe). */
  heapUsed?: number;
  heapTotal?: number;
  /** V8-tracked memory outside the heap (Buffers, ArrayBuffers), and the ArrayBuffer part. */
  external?: number;
  arrayBuffers?: number;
  lagP99?: number;
  /** GET /health latency from the load generator (a no-I/O route: queueing in the server). */
  healthMs: number;
}

export interface Growth {
  name: string;
  first: number;
  last: number;
  /** Least-squares slope, units per hour, over the samples after warm-up. */
  slopePerHour: number;
  /** Least-squares slope, units per hour, over the last third of the samples after warm-up. */
  endSlopePerHour: number;
  /** The end slope at or below which a series counts as levelled off (units per hour). */
  tolerancePerHour: number;
  /**
   * Growth that looks like a leak: the medians of three equal thirds after warm-up rose each
   * time, by more than the thresholds, AND the series was still rising faster than
   * `tolerancePerHour` over the last third.
   */
  monotonic: boolean;
}

function median(v: number[]) {
  return percentile(v, 50);
}

/** Least-squares slope of y over x (x in seconds), per hour. */
export function slopePerHour(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 3600;
}

/**
 * Growth of a series after warm-up. A leak rises for as long as the load runs; a bounded cache
 * (the shared cache, SQLite's page caches, V8's code space) rises until it is full and then
 * stays. So a series is flagged ("monotonic") when both hold:
 * - the medians of its three thirds rise each time and the last third's exceeds the first's by
 *   more than `minRise` (absolute) and `minRatio` (relative) — not a heap that breathes;
 * - over the last third it still rises faster than `tolerancePerHour` (least squares) — not a
 *   cache that filled during the run and has levelled off.
 * The second condition only ever clears a series the first one flagged. A leak that never stops
 * still fails whenever its rise over the run clears the thresholds — about `minRatio` × level
 * ÷ (⅔ × hours after warm-up) per hour, so a longer run sees a slower leak (96 minutes, RSS near
 * 270 MiB: ~30 MiB/h) — and a fill still under way at the end fails: the run was too short to
 * tell. The tolerance is printed beside the verdict so a reader sees what "levelled off" allowed.
 */
export function growth(
  name: string,
  points: [number, number][],
  minRise: number,
  minRatio: number,
  tolerancePerHour: number,
): Growth {
  const n = points.length;
  const ys = points.map((p) => p[1]);
  const third = Math.floor(n / 3);
  const [a, b, c] = [ys.slice(0, third), ys.slice(third, 2 * third), ys.slice(2 * third)].map(
    median,
  ) as [number, number, number];
  const endSlope = slopePerHour(points.slice(2 * third));
  const rose = n >= 6 && a < b && b < c && c - a > minRise && (a === 0 || (c - a) / a > minRatio);
  return {
    name,
    first: ys[0] ?? Number.NaN,
    last: ys.at(-1) ?? Number.NaN,
    slopePerHour: slopePerHour(points),
    endSlopePerHour: endSlope,
    tolerancePerHour,
    monotonic: rose && endSlope > tolerancePerHour,
  };
}

/**
 * What a soak judges, from its samples: RSS, open FDs and (Node) heap used after warm-up — the
 * first fifth of the run or 30 s, whichever is longer (JIT, pools and caches filling). The end
 * tolerances are what "levelled off" allows over the last third: RSS 8 MiB/h (a process that
 * kept that up would gain ~190 MiB a day, which an operator would call a leak — so it is the
 * most this check lets through unnoticed), heap used 4 MiB/h, FDs 2/h.
 */
export function judgeGrowth(samples: Sample[]): Growth[] {
  const end = samples.at(-1)?.t ?? 0;
  const warm = samples.filter((s) => s.t >= Math.max(30, end / 5));
  const g = [
    growth(
      "RSS (MiB)",
      warm.map((s) => [s.t, s.rss / 2 ** 20]),
      16,
      0.1,
      8,
    ),
    growth(
      "open FDs",
      warm.map((s) => [s.t, s.fds]),
      10,
      0.1,
      2,
    ),
  ];
  if (warm.some((s) => s.heapUsed !== undefined))
    g.push(
      growth(
        "heap used (MiB)",
        warm.map((s) => [s.t, (s.heapUsed ?? 0) / 2 ** 20]),
        8,
        0.1,
        4,
      ),
    );
  return g;
}

/**
 * Medians of a Node home's memory per window of `windowSeconds` (MiB): RSS, V8 heap used and
 * total, external (Buffers/ArrayBuffers), and native = RSS − heap total − external (libSQL and
 * SQLite, malloc, thread stacks, the node binary's touched pages).
 */
export function memoryTable(samples: Sample[], windowSeconds: number): string[] {
  const rows = [
    "| minutes | RSS | heap used | heap total | external | native |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  const end = samples.at(-1)?.t ?? 0;
  for (let from = 0; from < end; from += windowSeconds) {
    const w = samples.filter((s) => s.t >= from && s.t < from + windowSeconds);
    if (w.length === 0) continue;
    const m = (f: (s: Sample) => number | undefined) => {
      const v = w.map(f).filter((x): x is number => x !== undefined);
      return v.length === 0 ? "–" : mib(median(v)).toFixed(1);
    };
    rows.push(
      `| ${Math.round(from / 60)}–${Math.round(Math.min(end, from + windowSeconds) / 60)} | ${m((s) => s.rss)} | ${m((s) => s.heapUsed)} | ${m((s) => s.heapTotal)} | ${m((s) => s.external)} | ${m((s) => (s.heapTotal === undefined || s.external === undefined ? undefined : s.rss - s.heapTotal - s.external))} |`,
    );
  }
  return rows;
}

export interface Summary {
  seconds: number;
  requests: number;
  throughput: number;
  p50: number;
  p99: number;
  max: number;
  byStatus: Record<string, number>;
  fiveXx: number;
  unanswered: number;
  /** Non-2xx answers by "op status". */
  notOk: Record<string, number>;
}

export function summarize(buckets: Bucket[]): Summary {
  const byStatus: Record<string, number> = {};
  const notOk: Record<string, number> = {};
  const latencies: number[] = [];
  for (const b of buckets) {
    for (const [k, n] of Object.entries(b.notOk)) notOk[k] = (notOk[k] ?? 0) + n;
    for (const [s, n] of Object.entries(b.byStatus)) byStatus[s] = (byStatus[s] ?? 0) + n;
    for (const l of b.latencies) latencies.push(l);
  }
  const requests = latencies.length;
  const seconds = Math.max(1, buckets.length);
  return {
    seconds,
    requests,
    throughput: requests / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.reduce((a, b) => Math.max(a, b), 0),
    byStatus,
    fiveXx: Object.entries(byStatus)
      .filter(([s]) => /^5\d\d$/.test(s))
      .reduce((a, [, n]) => a + n, 0),
    unanswered: (byStatus.neterr ?? 0) + (byStatus.timeout ?? 0) + (byStatus["0"] ?? 0),
    notOk,
  };
}

const mib = (b: number) => b / 1024 / 1024;

interface Panel {
  title: string;
  unit: string;
  series: { name: string; color: string; points: [number, number][] }[];
  /** Shaded spans (chaos faults), with labels. */
  spans?: { from: number; to: number; label: string }[];
}

/** Small multiples as a standalone SVG (no dependencies): one panel per metric over time. */
export function svgChart(title: string, panels: Panel[], width = 900): string {
  const ph = 150;
  const left = 60;
  const top = 40;
  const gap = 40;
  const height = top + panels.length * (ph + gap) + 10;
  const maxX = Math.max(
    1,
    ...panels.flatMap((p) => p.series.flatMap((s) => s.points.map((q) => q[0]))),
  );
  const plotW = width - left - 150;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  panels.forEach((panel, i) => {
    const y0 = top + i * (ph + gap);
    const maxY = Math.max(
      1e-9,
      ...panel.series.flatMap((s) => s.points.map((q) => q[1]).filter(Number.isFinite)),
    );
    const sx = (x: number) => left + (x / maxX) * plotW;
    const sy = (y: number) => y0 + ph - (y / (maxY * 1.1)) * ph;
    for (const span of panel.spans ?? []) {
      out.push(
        `<rect x="${sx(span.from).toFixed(1)}" y="${y0}" width="${Math.max(1, sx(span.to) - sx(span.from)).toFixed(1)}" height="${ph}" fill="#f5d0d0" opacity="0.6"/>`,
        `<text x="${(sx(span.from) + 2).toFixed(1)}" y="${y0 + 10}" font-size="9" fill="#933">${esc(span.label)}</text>`,
      );
    }
    out.push(
      `<text x="${left}" y="${y0 - 6}" font-weight="bold">${esc(panel.title)} (${esc(panel.unit)})</text>`,
      `<line x1="${left}" y1="${y0 + ph}" x2="${left + plotW}" y2="${y0 + ph}" stroke="#888"/>`,
      `<line x1="${left}" y1="${y0}" x2="${left}" y2="${y0 + ph}" stroke="#888"/>`,
      `<text x="${left - 4}" y="${y0 + 4}" text-anchor="end">${fmt(maxY * 1.1)}</text>`,
      `<text x="${left - 4}" y="${y0 + ph}" text-anchor="end">0</text>`,
      `<text x="${left + plotW}" y="${y0 + ph + 14}" text-anchor="end">${Math.round(maxX)} s</text>`,
    );
    panel.series.forEach((s, k) => {
      const pts = s.points
        .filter((q) => Number.isFinite(q[1]))
        .map((q) => `${sx(q[0]).toFixed(1)},${sy(q[1]).toFixed(1)}`)
        .join(" ");
      out.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts}"/>`,
        `<text x="${left + plotW + 10}" y="${y0 + 14 + k * 14}" fill="${s.color}">${esc(s.name)}</text>`,
      );
    });
  });
  out.push("</svg>");
  return out.join("\n");
}

function fmt(v: number) {
  return v >= 100 ? Math.round(v).toString() : v.toFixed(v >= 10 ? 1 : 2);
}
function esc(s: string) {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** The standard panels for a run: throughput and errors, latency, memory, descriptors. */
export function standardPanels(
  buckets: Bucket[],
  samples: Sample[],
  spans?: Panel["spans"],
): Panel[] {
  const perSecond = buckets.map((b) => {
    const total = b.latencies.length;
    const bad = Object.entries(b.byStatus)
      .filter(([s]) => !/^2\d\d$/.test(s))
      .reduce((a, [, n]) => a + n, 0);
    return { t: b.t, total, bad, p99: percentile(b.latencies, 99) };
  });
  const panels: Panel[] = [
    {
      title: "Requests per second",
      unit: "req/s",
      spans,
      series: [
        { name: "all", color: "#1f77b4", points: perSecond.map((p) => [p.t, p.total]) },
        { name: "non-2xx", color: "#d62728", points: perSecond.map((p) => [p.t, p.bad]) },
      ],
    },
    {
      title: "Latency p99 per second",
      unit: "ms",
      spans,
      series: [{ name: "p99", color: "#9467bd", points: perSecond.map((p) => [p.t, p.p99]) }],
    },
    {
      title: "Server memory",
      unit: "MiB",
      spans,
      series: [
        { name: "RSS", color: "#2ca02c", points: samples.map((s) => [s.t, mib(s.rss)]) },
        ...(samples.some((s) => s.heapUsed !== undefined)
          ? [
              {
                name: "heap used",
                color: "#ff7f0e",
                points: samples.map(
                  (s) => [s.t, mib(s.heapUsed ?? Number.NaN)] as [number, number],
                ),
              },
            ]
          : []),
      ],
    },
    {
      title: "Open file descriptors",
      unit: "count",
      spans,
      series: [{ name: "FDs", color: "#8c564b", points: samples.map((s) => [s.t, s.fds]) }],
    },
    {
      title: "Event-loop lag p99 (Node) / GET /health latency",
      unit: "ms",
      spans,
      series: [
        ...(samples.some((s) => s.lagP99 !== undefined)
          ? [
              {
                name: "loop lag p99",
                color: "#e377c2",
                points: samples.map((s) => [s.t, s.lagP99 ?? Number.NaN] as [number, number]),
              },
            ]
          : []),
        { name: "/health", color: "#7f7f7f", points: samples.map((s) => [s.t, s.healthMs]) },
      ],
    },
  ];
  return panels;
}
