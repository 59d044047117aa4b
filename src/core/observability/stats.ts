/**
 * Recent request statistics for operators (`GET /api/admin/stats`): per-minute buckets over the
 * last 15 minutes, each with a bounded reservoir of latencies, so memory stays flat under load
 * while percentiles stay representative.
 */
const minuteMs = 60_000;
const keepMinutes = 15;
const reservoirSize = 1024;

interface Bucket {
  minute: number;
  requests: number;
  errors: number;
  clientErrors: number;
  samples: number[];
  routes: Map<string, { count: number; totalMs: number; maxMs: number }>;
}

export interface WindowStats {
  requests: number;
  errors: number;
  clientErrors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export class RequestStats {
  private readonly buckets: Bucket[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  record(route: string, status: number, durationMs: number): void {
    const minute = Math.floor(this.now() / minuteMs);
    let bucket = this.buckets.at(-1);
    if (bucket?.minute !== minute) {
      bucket = { minute, requests: 0, errors: 0, clientErrors: 0, samples: [], routes: new Map() };
      this.buckets.push(bucket);
      while (this.buckets.length > 0 && this.buckets[0]!.minute <= minute - keepMinutes)
        this.buckets.shift();
    }
    bucket.requests += 1;
    if (status >= 500) bucket.errors += 1;
    else if (status >= 400) bucket.clientErrors += 1;
    if (bucket.samples.length < reservoirSize) {
      bucket.samples.push(durationMs);
    } else {
      const slot = Math.floor(Math.random() * bucket.requests);
      if (slot < reservoirSize) bucket.samples[slot] = durationMs;
    }
    const r = bucket.routes.get(route) ?? { count: 0, totalMs: 0, maxMs: 0 };
    if (r.count > 0 || bucket.routes.size < 500) {
      r.count += 1;
      r.totalMs += durationMs;
      r.maxMs = Math.max(r.maxMs, durationMs);
      bucket.routes.set(route, r);
    }
  }

  /** Buckets of the last `minutes` minutes, this one included (old ones may linger until the next record). */
  private recent(minutes: number): Bucket[] {
    const since = Math.floor(this.now() / minuteMs) - minutes + 1;
    return this.buckets.filter((b) => b.minute >= since);
  }

  /** Totals and latency percentiles (ms) over the last `minutes` minutes, this one included. */
  window(minutes: number): WindowStats {
    const recent = this.recent(minutes);
    const samples = recent.flatMap((b) => b.samples).sort((a, b) => a - b);
    const sum = (pick: (b: Bucket) => number) => recent.reduce((n, b) => n + pick(b), 0);
    const round = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
    return {
      requests: sum((b) => b.requests),
      errors: sum((b) => b.errors),
      clientErrors: sum((b) => b.clientErrors),
      p50: round(percentile(samples, 0.5)),
      p95: round(percentile(samples, 0.95)),
      p99: round(percentile(samples, 0.99)),
    };
  }

  /** Routes by mean latency over the whole kept window, slowest first. */
  slowestRoutes(limit = 5): { route: string; count: number; meanMs: number; maxMs: number }[] {
    const merged = new Map<string, { count: number; totalMs: number; maxMs: number }>();
    for (const b of this.recent(keepMinutes)) {
      for (const [route, r] of b.routes) {
        const m = merged.get(route) ?? { count: 0, totalMs: 0, maxMs: 0 };
        m.count += r.count;
        m.totalMs += r.totalMs;
        m.maxMs = Math.max(m.maxMs, r.maxMs);
        merged.set(route, m);
      }
    }
    return [...merged]
      .map(([route, m]) => ({
        route,
        count: m.count,
        meanMs: Math.round((m.totalMs / m.count) * 100) / 100,
        maxMs: Math.round(m.maxMs * 100) / 100,
      }))
      .sort((a, b) => b.meanMs - a.meanMs)
      .slice(0, limit);
  }
}
