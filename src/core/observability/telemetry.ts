import { AsyncLocalStorage } from "node:async_hooks";
import { newSpanId, type TraceContext } from "./trace";

export type SpanKind = "server" | "client" | "internal";

export interface Span {
  name: string;
  kind: SpanKind;
  spanId: string;
  parentSpanId: string | undefined;
  startMs: number;
  endMs: number;
  attributes: Record<string, string | number | boolean>;
  error: boolean;
}

/**
 * What one request (or background job) measured about itself: its trace, the spans it opened,
 * database time and query count, and the cache outcome. Logs, Server-Timing, metrics and OTLP
 * export all read this one object.
 */
export class Telemetry {
  readonly spans: Span[] = [];
  dbTimeMs = 0;
  dbQueries = 0;
  cache: "HIT" | "MISS" | "BYPASS" | "STALE" | "STALE-IF-ERROR" | undefined;
  readonly startMs = Date.now();

  constructor(readonly trace: TraceContext) {}

  /** Times `work` as a child span of the request; errors are recorded and rethrown. */
  async span<T>(
    name: string,
    kind: SpanKind,
    attributes: Span["attributes"],
    work: (spanId: string) => Promise<T>,
  ): Promise<T> {
    const spanId = newSpanId();
    const startMs = Date.now();
    const started = performance.now();
    let error = false;
    try {
      return await work(spanId);
    } catch (err) {
      error = true;
      throw err;
    } finally {
      const durationMs = performance.now() - started;
      this.spans.push({
        name,
        kind,
        spanId,
        parentSpanId: this.trace.spanId,
        startMs,
        endMs: startMs + durationMs,
        attributes,
        error,
      });
      if (name.startsWith("db.")) {
        this.dbTimeMs += durationMs;
        this.dbQueries += 1;
      }
    }
  }
}

const storage = new AsyncLocalStorage<Telemetry>();

/** Runs `work` with `telemetry` as the current request's (node:async_hooks; Workers supports it). */
export function withTelemetry<T>(telemetry: Telemetry, work: () => T): T {
  return storage.run(telemetry, work);
}

/** The current request's telemetry, or undefined outside a request (start-up, scripts). */
export function currentTelemetry(): Telemetry | undefined {
  return storage.getStore();
}
