/**
 * A small in-process metrics registry with Prometheus text exposition (version 0.0.4). Counters
 * and histograms keyed by label sets; label values are escaped. Bounded: a metric refuses new
 * label sets past `maxSeries`, so a hostile path cannot grow memory (routes are patterns anyway).
 */
type Labels = Record<string, string>;

const maxSeries = 2000;

/**
 * Label sets seen before, by an unambiguous spelling of their names and values in the order
 * given (each length-prefixed): every request counts the same few sets, and sorting, escaping
 * and joining them again was a visible share of a read's CPU. Forgets everything past its bound.
 */
const labelKeys = new Map<string, string>();
const maxLabelKeys = 4096;

function labelKey(labels: Labels): string {
  let spelled = "";
  for (const k in labels) {
    const v = labels[k] ?? "";
    spelled += `${k.length}:${k}${v.length}:${v}`;
  }
  let key = labelKeys.get(spelled);
  if (key === undefined) {
    key = Object.keys(labels)
      .sort()
      .map((k) => `${k}="${escapeLabel(labels[k] ?? "")}"`)
      .join(",");
    if (labelKeys.size >= maxLabelKeys) labelKeys.clear();
    labelKeys.set(spelled, key);
  }
  return key;
}

const needsEscape = /[\\\n"]/;

function escapeLabel(value: string): string {
  // Label values are routes, methods and statuses: nearly never anything to escape.
  if (!needsEscape.test(value)) return value;
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function escapeHelp(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

export class Counter {
  readonly series = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    if (!this.series.has(key) && this.series.size >= maxSeries) return;
    this.series.set(key, (this.series.get(key) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.series.get(labelKey(labels)) ?? 0;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} counter`];
    for (const [key, value] of this.series)
      lines.push(`${this.name}${key ? `{${key}}` : ""} ${value}`);
    return lines;
  }
}

/** A value that goes up and down (set, not added), per label set. */
export class Gauge {
  readonly series = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  set(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    if (!this.series.has(key) && this.series.size >= maxSeries) return;
    this.series.set(key, value);
  }

  get(labels: Labels = {}): number | undefined {
    return this.series.get(labelKey(labels));
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} gauge`];
    for (const [key, value] of this.series)
      lines.push(`${this.name}${key ? `{${key}}` : ""} ${value}`);
    return lines;
  }
}

/** Seconds-based latency buckets, from 1 ms to 10 s. */
export const latencyBuckets = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export class Histogram {
  readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = latencyBuckets,
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      if (this.series.size >= maxSeries) return;
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]! += 1;
    s.sum += value;
    s.count += 1;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} histogram`];
    for (const [key, s] of this.series) {
      const sep = key ? "," : "";
      this.buckets.forEach((le, i) => {
        lines.push(`${this.name}_bucket{${key}${sep}le="${le}"} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket{${key}${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${key ? `{${key}}` : ""} ${s.sum}`);
      lines.push(`${this.name}_count${key ? `{${key}}` : ""} ${s.count}`);
    }
    return lines;
  }
}

/**
 * Metrics of background work (the outbox and webhook delivery), which runs outside any request
 * and any app instance: one set per process or isolate, rendered with every app's metrics.
 */
export const eventMetrics = {
  eventsWritten: new Counter(
    "nearbase_events_written_total",
    "Outbox events committed with their writes, by collection.",
  ),
  eventsDispatched: new Counter(
    "nearbase_events_dispatched_total",
    "Outbox events fanned out into webhook deliveries.",
  ),
  deliveries: new Counter(
    "nearbase_webhook_deliveries_total",
    "Webhook delivery attempts by what followed (succeeded, retry, dead).",
  ),
  deliveryDuration: new Histogram(
    "nearbase_webhook_attempt_duration_seconds",
    "Webhook HTTP attempt latency by outcome.",
  ),
  endpointsDisabled: new Counter(
    "nearbase_webhook_endpoints_disabled_total",
    "Webhook endpoints switched off after persistent failure.",
  ),
  backlog: new Gauge(
    "nearbase_webhook_backlog",
    "Work not yet done, as last seen by this process's dispatcher: outbox events not fanned out (kind=events), deliveries pending or in flight to enabled endpoints (kind=deliveries).",
  ),
  oldestPending: new Gauge(
    "nearbase_webhook_oldest_pending_seconds",
    "Age of the oldest event not yet delivered (not fanned out, or with a delivery pending to an enabled endpoint).",
  ),
};

export type EventMetrics = typeof eventMetrics;

/** The metrics Nearbase keeps about itself; one instance per process or isolate. */
export function createMetrics() {
  const m = {
    requests: new Counter(
      "nearbase_http_requests_total",
      "HTTP requests by route pattern, method and status.",
    ),
    requestDuration: new Histogram(
      "nearbase_http_request_duration_seconds",
      "HTTP request latency by route pattern and method.",
    ),
    dbDuration: new Histogram(
      "nearbase_db_query_duration_seconds",
      "libSQL statement latency by operation.",
    ),
    cache: new Counter(
      "nearbase_cache_requests_total",
      "Shared cache lookups by result (HIT, MISS, STALE, BYPASS).",
    ),
    rateLimited: new Counter(
      "nearbase_rate_limited_total",
      "Requests answered 429 by route pattern.",
    ),
  };
  return {
    ...m,
    render(): string {
      return `${[...Object.values(m), ...Object.values(eventMetrics)]
        .flatMap((metric) => metric.render())
        .join("\n")}\n`;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
