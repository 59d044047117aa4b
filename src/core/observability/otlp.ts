import type { LogSink } from "../kernel/log";
import type { Span, Telemetry } from "./telemetry";

/** OTLP/HTTP JSON (opentelemetry-proto 1.x) span kinds and status codes. */
const kindCode = { internal: 1, server: 2, client: 3 } as const;
const statusError = 2;

export interface OtlpOptions {
  /** Collector base URL, e.g. http://127.0.0.1:4318; spans go to `${endpoint}/v1/traces`. */
  endpoint: string;
  headers: Record<string, string>;
  serviceName: string;
  home: string;
  log: LogSink;
  /** Spans per POST at most; a full batch is sent at once. */
  maxBatch?: number;
  /** How long a partial batch waits for company before it is sent. */
  delayMs?: number;
  fetch?: typeof fetch;
}

type OtlpValue =
  | { stringValue: string }
  | { intValue: string }
  | { doubleValue: number }
  | { boolValue: boolean };

function attribute(
  key: string,
  value: string | number | boolean,
): { key: string; value: OtlpValue } {
  if (typeof value === "string") return { key, value: { stringValue: value } };
  if (typeof value === "boolean") return { key, value: { boolValue: value } };
  return Number.isInteger(value)
    ? { key, value: { intValue: String(value) } }
    : { key, value: { doubleValue: value } };
}

const nanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

export interface ExportSpan extends Span {
  traceId: string;
}

/** The request's own span plus its children, ready for export. */
export function spansOf(
  telemetry: Telemetry,
  name: string,
  endMs: number,
  attributes: Span["attributes"],
  error: boolean,
): ExportSpan[] {
  const { trace } = telemetry;
  const root: ExportSpan = {
    traceId: trace.traceId,
    name,
    kind: "server",
    spanId: trace.spanId,
    parentSpanId: trace.parentSpanId,
    startMs: telemetry.startMs,
    endMs,
    attributes,
    error,
  };
  return [root, ...telemetry.spans.map((s) => ({ ...s, traceId: trace.traceId }))];
}

/** Builds an ExportTraceServiceRequest body. */
export function otlpBody(spans: readonly ExportSpan[], serviceName: string, home: string) {
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [attribute("service.name", serviceName), attribute("nearbase.home", home)],
        },
        scopeSpans: [
          {
            scope: { name: "nearbase" },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: kindCode[s.kind],
              startTimeUnixNano: nanos(s.startMs),
              endTimeUnixNano: nanos(s.endMs),
              attributes: Object.entries(s.attributes).map(([k, v]) => attribute(k, v)),
              status: s.error ? { code: statusError } : {},
            })),
          },
        ],
      },
    ],
  };
}

/**
 * Batches spans and POSTs them to an OTLP/HTTP collector. `flushSoon()` returns a promise the
 * caller hands to `waitUntil` (Workers) or the Node home's deferred set, so the isolate stays
 * alive until the batch is sent. Export failures are logged once per batch and never reach the
 * request. The queue is bounded; past it, spans are dropped and counted.
 */
export class OtlpExporter {
  private queue: ExportSpan[] = [];
  private pending: Promise<void> | undefined;
  dropped = 0;
  private readonly maxQueue = 10_000;

  constructor(private readonly options: OtlpOptions) {}

  enqueue(spans: readonly ExportSpan[]): void {
    const room = this.maxQueue - this.queue.length;
    if (spans.length > room) this.dropped += spans.length - Math.max(room, 0);
    this.queue.push(...spans.slice(0, Math.max(room, 0)));
  }

  flushSoon(): Promise<void> {
    const maxBatch = this.options.maxBatch ?? 256;
    if (this.queue.length >= maxBatch) return this.flush();
    this.pending ??= new Promise<void>((resolve) => {
      setTimeout(() => {
        this.pending = undefined;
        this.flush().then(resolve, resolve);
      }, this.options.delayMs ?? 100);
    });
    return this.pending;
  }

  async flush(): Promise<void> {
    const maxBatch = this.options.maxBatch ?? 256;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, maxBatch);
      const doFetch = this.options.fetch ?? fetch;
      try {
        const res = await doFetch(`${this.options.endpoint.replace(/\/$/, "")}/v1/traces`, {
          method: "POST",
          headers: { ...this.options.headers, "content-type": "application/json" },
          body: JSON.stringify(otlpBody(batch, this.options.serviceName, this.options.home)),
        });
        if (!res.ok) throw new Error(`collector answered ${res.status}`);
        await res.body?.cancel();
      } catch (err) {
        this.options.log.write({
          level: "warn",
          msg: "otlp export failed",
          spans: batch.length,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }
}
