import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLineSink } from "../../src/core/kernel/log";
import { tracedFetch } from "../../src/core/observability/fetch";
import { createTestApp, readProblem, type TestApp } from "../harness";

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
  it("continues an inbound traceparent and answers with the trace id", async () => {
    const res = await t.request("/health", {
      headers: { traceparent: `00-${parentTrace}-${parentSpan}-01` },
    });
    expect(res.headers.get("x-trace-id")).toBe(parentTrace);
  });

  it("starts a new trace when the inbound header is malformed", async () => {
    for (const bad of [
      "garbage",
      `00-${"0".repeat(32)}-${parentSpan}-01`,
      `ff-${parentTrace}-${parentSpan}-01`,
    ]) {
      const res = await t.request("/health", { headers: { traceparent: bad } });
      const id = res.headers.get("x-trace-id");
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(id).not.toBe(parentTrace);
    }
  });

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

describe("metrics", () => {
  it("are refused without the metrics token or an admin", async () => {
    const anon = await t.request("/metrics");
    expect(anon.status).toBe(401);
    expect((await readProblem(anon)).code).toBe("UNAUTHENTICATED");
    const wrong = await t.request("/metrics", {
      headers: { authorization: "Bearer not-the-token-at-all" },
    });
    expect(wrong.status).toBe(401);
    const user = await t.signIn("user");
    const forbidden = await t.request("/metrics", { headers: user.headers });
    expect(forbidden.status).toBe(403);
  });

  it("parse as Prometheus text and count the requests made", async () => {
    const scrape = async (headers: Record<string, string>) => {
      const res = await t.request("/metrics", { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      return parsePrometheusTextFormat(await res.text());
    };
    const count = (
      families: ReturnType<typeof parsePrometheusTextFormat>,
      route: string,
      status: string,
    ) =>
      Number(
        families
          .find((f) => f.name === "nearbase_http_requests_total")
          ?.metrics.find(
            (m) =>
              m.labels?.route === route &&
              m.labels?.method === "GET" &&
              m.labels?.status === status,
          )?.value ?? 0,
      );

    const before = await scrape({ authorization: `Bearer ${metricsToken}` });
    for (let i = 0; i < 7; i++) await t.request("/health");
    for (let i = 0; i < 3; i++) await t.request("/definitely-missing");
    const admin = await t.signIn("admin");
    const after = await scrape(admin.headers);

    expect(count(after, "/health", "200") - count(before, "/health", "200")).toBe(7);
    expect(count(after, "(unmatched)", "404") - count(before, "(unmatched)", "404")).toBe(3);
    const latency = after.find((f) => f.name === "nearbase_http_request_duration_seconds");
    expect(latency?.type).toBe("HISTOGRAM");
    // The parser flattens labelled histograms lossily, so read the count series from the text.
    const text = await (await t.request("/metrics", { headers: admin.headers })).text();
    const healthCount =
      /^nearbase_http_request_duration_seconds_count\{method="GET",route="\/health"\} (\d+)$/m.exec(
        text,
      );
    expect(Number(healthCount?.[1])).toBeGreaterThanOrEqual(7);
    expect(after.find((f) => f.name === "nearbase_db_query_duration_seconds")?.type).toBe(
      "HISTOGRAM",
    );
  });
});

describe("admin stats", () => {
  it("are for admins only", async () => {
    expect((await t.request("/api/admin/stats")).status).toBe(401);
    const user = await t.signIn("user");
    const res = await t.request("/api/admin/stats", { headers: user.headers });
    expect(res.status).toBe(403);
    expect((await readProblem(res)).code).toBe("FORBIDDEN");
  });

  it("report request counts, errors, latency percentiles and the slowest routes", async () => {
    const fresh = await createTestApp();
    try {
      for (let i = 0; i < 5; i++) await fresh.request("/ready");
      for (let i = 0; i < 2; i++) await fresh.request("/missing");
      const admin = await fresh.signIn("admin");
      const res = await fresh.request("/api/admin/stats", { headers: admin.headers });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        scope: string;
        windows: Record<
          string,
          { requests: number; clientErrors: number; errors: number; p50: number; p99: number }
        >;
        slowestRoutes: { route: string; count: number }[];
      };
      expect(body.scope).toBe("process");
      expect(body.windows["1m"]).toMatchObject({ requests: 7, clientErrors: 2, errors: 0 });
      expect(body.windows["1m"]!.p50).toBeGreaterThan(0);
      expect(body.windows["1m"]!.p99).toBeGreaterThanOrEqual(body.windows["1m"]!.p50);
      expect(body.slowestRoutes.map((r) => r.route)).toContain("GET /ready");
    } finally {
      await fresh.close();
    }
  });
});

describe("Server-Timing", () => {
  it("reports database time and query count", async () => {
    const res = await t.request("/ready");
    expect(res.headers.get("server-timing")).toMatch(/db;dur=[\d.]+;desc="1 queries"/);
  });

  it("reports the time spent identifying the caller", async () => {
    const user = await t.signIn();
    const res = await t.request("/api/collections/bookmarks/records", { headers: user.headers });
    expect(res.headers.get("server-timing")).toMatch(/auth;dur=[\d.]+;desc="user"/);
  });
});
