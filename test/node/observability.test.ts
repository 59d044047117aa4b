import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLineSink } from "../../src/core/kernel/log";
import { tracedFetch } from "../../src/core/observability/fetch";
import { createTestApp, type TestApp } from "../harness";

/**
 * Observability that needs the Node harness: the captured log, a loopback collector for OTLP
 * export, a loopback target for outbound trace propagation, and a route added to the app. Trace
 * context, /metrics, admin stats and Server-Timing run in both homes:
 * test/conformance/observability.suite.ts.
 */

/** A loopback HTTP server that records what it receives (stands in for a collector or webhook target). */
async function recorder() {
  const received: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const metricsToken = "test-metrics-token-0123456789";
let collector: Awaited<ReturnType<typeof recorder>>;
let hook: Awaited<ReturnType<typeof recorder>>;
let t: TestApp;

beforeAll(async () => {
  collector = await recorder();
  hook = await recorder();
  t = await createTestApp({
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      METRICS_TOKEN: metricsToken,
      OTEL_SERVICE_NAME: "nb-test",
    },
  });
  t.app.post("/test/outbound", async (c) => {
    const res = await tracedFetch(`${hook.url}/hook`, { method: "POST", body: "{}" });
    return c.json({ status: res.status });
  });
});
afterAll(async () => {
  await t.close();
  await collector.close();
  await hook.close();
});

const parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
const parentSpan = "00f067aa0ba902b7";

describe("structured request logs", () => {
  it("have the request, trace, route pattern, status, timings and db query count", async () => {
    const res = await t.request("/ready", {
      headers: { traceparent: `00-${parentTrace}-${parentSpan}-01` },
    });
    const id = res.headers.get("x-request-id");
    const line = t.log.events.find((e) => e.msg === "request" && e.requestId === id);
    expect(line).toMatchObject({
      level: "info",
      method: "GET",
      route: "/ready",
      status: 200,
      traceId: parentTrace,
    });
    expect(line?.dbQueries).toBeGreaterThanOrEqual(1);
    expect(typeof line?.dbMs).toBe("number");
    expect(typeof line?.durationMs).toBe("number");
    expect(line?.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(line?.spanId).not.toBe(parentSpan);
    // The answer names its trace, with the fields every answer carries.
    expect(res.headers.get("x-trace-id")).toBe(parentTrace);
    expect(res.headers.get("server-timing")).toMatch(/total;dur=/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("share the answer's request id, whose Server-Timing ends with the database, then the total", async () => {
    const res = await t.request("/api/collections/posts/records?limit=1", {
      headers: { "x-request-id": "req-timing-1" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe("req-timing-1");
    expect(res.headers.get("server-timing")).toMatch(
      /(^|,)db;dur=\d+\.\d;desc="[1-9]\d* queries",total;dur=\d+\.\d;desc="Total Response Time"$/,
    );
    const line = t.log.events.find((e) => e.msg === "request" && e.requestId === "req-timing-1");
    expect(line).toMatchObject({ route: "/api/collections/:name/records", status: 200 });
    expect(line?.dbQueries).toBeGreaterThanOrEqual(1);
    // An id that is too long or not plain is replaced, on the answer and in the log alike.
    const replaced = await t.request("/health", { headers: { "x-request-id": "x".repeat(129) } });
    const id = replaced.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(t.log.events.some((e) => e.msg === "request" && e.requestId === id)).toBe(true);
  });

  it("are one valid JSON object per line on the stdout sink", () => {
    const lines: string[] = [];
    const sink = jsonLineSink((l) => lines.push(l));
    sink.write({ level: "info", msg: "request", note: 'quote " and\nnewline' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("\n");
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: "info",
      msg: "request",
      note: 'quote " and\nnewline',
    });
  });

  it("never contain credentials sent with the request", async () => {
    const secret = "Sup3r-S3cret-Passw0rd!";
    await t.request(`/nope?password=${secret}`, {
      method: "POST",
      headers: { authorization: `Bearer ${metricsToken}`, cookie: `session=${secret}` },
      json: { email: "a@example.com", password: secret },
    });
    await t.request("/metrics", { headers: { authorization: `Bearer ${metricsToken}` } });
    const everything = JSON.stringify(t.log.events);
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(metricsToken);
  });

  it("can be sampled, but errors are always logged", async () => {
    const quiet = await createTestApp({ env: { LOG_SAMPLE_RATE: "0" } });
    try {
      await quiet.request("/health");
      await quiet.request("/missing");
      const lines = quiet.log.events.filter((e) => e.msg === "request");
      expect(lines.map((l) => l.status)).toEqual([404]);
    } finally {
      await quiet.close();
    }
  });
});

describe("trace context", () => {
  it("propagates to outbound calls with this request's trace id and a new span", async () => {
    const res = await t.request("/test/outbound", {
      method: "POST",
      headers: { traceparent: `00-${parentTrace}-${parentSpan}-01`, tracestate: "vendor=abc" },
    });
    expect(await res.json()).toEqual({ status: 200 });
    const call = hook.received.at(-1);
    const [version, traceId, spanId, flags] = String(call?.headers.traceparent).split("-");
    expect({ version, traceId, flags }).toEqual({
      version: "00",
      traceId: parentTrace,
      flags: "01",
    });
    expect(spanId).not.toBe(parentSpan);
    expect(call?.headers.tracestate).toBe("vendor=abc");
  });

  it("exports spans as OTLP/HTTP JSON to the configured collector", async () => {
    await t.request("/ready", { headers: { traceparent: `00-${parentTrace}-${parentSpan}-01` } });
    await t.platform.settle();
    const spans = collector.received
      .filter((r) => r.path === "/v1/traces")
      .flatMap((r) => {
        const body = JSON.parse(r.body);
        expect(body.resourceSpans[0].resource.attributes).toContainEqual({
          key: "service.name",
          value: { stringValue: "nb-test" },
        });
        return body.resourceSpans[0].scopeSpans[0].spans as {
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          kind: number;
          startTimeUnixNano: string;
          endTimeUnixNano: string;
        }[];
      });
    const server = spans.find((s) => s.name === "GET /ready" && s.parentSpanId === parentSpan);
    expect(server).toMatchObject({ traceId: parentTrace, kind: 2 });
    const db = spans.filter((s) => s.parentSpanId === server?.spanId && s.name.startsWith("db."));
    expect(db.length).toBeGreaterThanOrEqual(1);
    expect(db[0]).toMatchObject({ traceId: parentTrace, kind: 3 });
    expect(BigInt(server!.endTimeUnixNano)).toBeGreaterThanOrEqual(
      BigInt(server!.startTimeUnixNano),
    );
  });
});
