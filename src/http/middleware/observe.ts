import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { endTime, type TimingVariables } from "hono/timing";
import type { LogSink } from "../../core/kernel/log";
import type { AnalyticsSink } from "../../core/kernel/ports";
import { createMetrics } from "../../core/observability/metrics";
import { OtlpExporter, spansOf } from "../../core/observability/otlp";
import { RequestStats } from "../../core/observability/stats";
import { Telemetry, withTelemetry } from "../../core/observability/telemetry";
import { traceFromHeaders } from "../../core/observability/trace";
import type { AppEnv } from "../context";

export interface ObservabilityOptions {
  log: LogSink;
  home: "node" | "workers";
  /** Share of successful requests (status < 400) that get a log line; errors always do. */
  logSampleRate: number;
  otlp: { endpoint: string; headers: Record<string, string>; serviceName: string } | undefined;
  analytics: AnalyticsSink | undefined;
  /**
   * The longest X-Request-Id taken from a caller (longer, or with other characters than
   * `[A-Za-z0-9_=-]`: a fresh UUID instead), as hono/request-id's `limitLength`.
   */
  requestIdLimit: number;
  random?: () => number;
}

/**
 * Everything a request tells about itself, built once per process/isolate: the request
 * middleware (trace context, log line, metrics, Server-Timing, span export) and the stores the
 * /metrics and /api/admin/stats routes read.
 */
export function createObservability(options: ObservabilityOptions) {
  const metrics = createMetrics();
  const stats = new RequestStats();
  const random = options.random ?? Math.random;
  const exporter =
    options.otlp === undefined
      ? undefined
      : new OtlpExporter({ ...options.otlp, home: options.home, log: options.log });

  /**
   * Metrics, request stats, analytics and the (sampled) log line of one finished request. The
   * middleware calls it, and so does the Node home's cache fast path for the hits it answers
   * outside the app (src/platform/node/cache-fast-path.ts), so both count and log alike.
   */
  function record(r: FinishedRequest) {
    const { telemetry, route, method, status, durationMs } = r;
    const trace = telemetry.trace;
    metrics.requests.inc({ route, method, status: String(status) });
    metrics.requestDuration.observe(durationMs / 1000, { route, method });
    for (const span of telemetry.spans) {
      if (span.name.startsWith("db."))
        metrics.dbDuration.observe((span.endMs - span.startMs) / 1000, {
          operation: span.name.slice(3),
        });
    }
    if (telemetry.cache !== undefined) metrics.cache.inc({ result: telemetry.cache });
    if (status === 429) metrics.rateLimited.inc({ route });
    stats.record(`${method} ${route}`, status, durationMs);
    options.analytics?.writeDataPoint({
      blobs: [route, method, String(status), telemetry.cache ?? ""],
      doubles: [durationMs, telemetry.dbTimeMs, telemetry.dbQueries],
      indexes: [route.slice(0, 96)],
    });

    if (status >= 400 || random() < options.logSampleRate) {
      options.log.write({
        level: status >= 500 ? "error" : "info",
        msg: "request",
        requestId: r.requestId,
        traceId: trace.traceId,
        spanId: trace.spanId,
        method,
        route,
        status,
        durationMs: round(durationMs),
        dbMs: round(telemetry.dbTimeMs),
        dbQueries: telemetry.dbQueries,
        cache: telemetry.cache,
        principal: r.principalId,
      });
    }
  }

  /**
   * One middleware for what every request gets first: its id (hono/request-id's behaviour: the
   * caller's X-Request-Id when short and plain, else a UUID, set on the answer before the
   * handler runs), Server-Timing (hono/timing's: `c.get("metric")` for `setMetric`, the total,
   * timers left open ended, the header appended last) and its telemetry (trace context, log
   * line, metrics, span export). Three middlewares before: each cost its own dispatch, promise
   * and closure on every request.
   */
  const middleware: MiddlewareHandler<AppEnv> = async function observe(c, next) {
    let requestId = c.req.header("x-request-id");
    if (!requestId || requestId.length > options.requestIdLimit || /[^\w\-=]/.test(requestId))
      requestId = crypto.randomUUID();
    c.set("requestId", requestId);
    c.header("X-Request-Id", requestId);
    const metric: TimingVariables["metric"] = { headers: [], timers: new Map() };
    c.set("metric", metric);
    const timingStarted = performance.now();
    const trace = traceFromHeaders(c.req.header("traceparent"), c.req.header("tracestate"));
    const telemetry = new Telemetry(trace);
    c.set("telemetry", telemetry);
    const started = performance.now();
    await withTelemetry(telemetry, next);
    const durationMs = performance.now() - started;

    const matched = routePath(c, -1);
    const route = matched === "*" || matched === "/*" ? "(unmatched)" : matched;
    const status = c.res.status;
    const method = c.req.method;
    const principal = c.get("principal");
    // On the answer's own headers: c.header on a finished answer copies the whole Response.
    try {
      c.res.headers.set("x-trace-id", trace.traceId);
    } catch {
      // Immutable headers (an answer fetched as is): Hono's copy, then the field.
      c.header("x-trace-id", trace.traceId);
    }
    // setMetric's format, without its quoting pass (the description has nothing to escape).
    if (telemetry.dbQueries > 0)
      metric.headers.push(
        `db;dur=${telemetry.dbTimeMs.toFixed(1)};desc="${telemetry.dbQueries} queries"`,
      );
    record({
      telemetry,
      route,
      method,
      status,
      durationMs,
      requestId,
      principalId: principal?.kind === "anonymous" ? undefined : principal?.id,
    });

    if (exporter !== undefined && trace.sampled) {
      const attributes = {
        "http.request.method": method,
        "http.route": route,
        "http.response.status_code": status,
        "nearbase.request_id": requestId,
      };
      exporter.enqueue(
        spansOf(
          telemetry,
          `${method} ${route}`,
          telemetry.startMs + durationMs,
          attributes,
          status >= 500,
        ),
      );
      c.get("platform").defer(c, exporter.flushSoon());
    }
    // setMetric's format for the total, without its quoting pass (nothing to escape).
    metric.headers.push(
      `total;dur=${(performance.now() - timingStarted).toFixed(1)};desc="Total Response Time"`,
    );
    for (const key of [...metric.timers.keys()]) endTime(c, key);
    c.res.headers.append("Server-Timing", metric.headers.join(","));
  };

  return { metrics, stats, exporter, middleware, record };
}

export type Observability = ReturnType<typeof createObservability>;

/** What `record` needs to know about a finished request. */
export interface FinishedRequest {
  telemetry: Telemetry;
  /** The matched route as Hono names it (`/api/collections/:name/records`). */
  route: string;
  method: string;
  status: number;
  durationMs: number;
  requestId: string;
  /** The signed-in account or key; undefined for anonymous callers. */
  principalId: string | undefined;
}

const round = (ms: number) => Math.round(ms * 100) / 100;
