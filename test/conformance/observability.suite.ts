import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Home, type MakeHome, readProblem } from "./home";

const metricsToken = "test-metrics-token-0123456789";
const parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
const parentSpan = "00f067aa0ba902b7";

/**
 * What operators and callers see of observability over HTTP: trace context, /metrics, admin
 * stats and Server-Timing. Logs, span export and outbound propagation need the Node harness's
 * captured log and loopback servers: test/node/observability.test.ts.
 */
export function defineObservabilitySuite(makeHome: MakeHome) {
  let t: Home;
  beforeAll(async () => {
    t = await makeHome({ env: { METRICS_TOKEN: metricsToken } });
  });
  afterAll(() => t.close());

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
      const fresh = await makeHome();
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
        // Statistics describe one process (Node) or one isolate (Workers).
        expect(body.scope).toBe(fresh.name === "workers" ? "isolate" : "process");
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
      const res = await t.request("/ready", {
        headers: { traceparent: `00-${parentTrace}-${parentSpan}-01` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-trace-id")).toBe(parentTrace);
      expect(res.headers.get("server-timing")).toMatch(/db;dur=[\d.]+;desc="1 queries"/);
    });

    it("reports the time spent identifying the caller", async () => {
      const user = await t.signIn();
      const res = await t.request("/api/collections/bookmarks/records", { headers: user.headers });
      expect(res.headers.get("server-timing")).toMatch(/auth;dur=[\d.]+;desc="user"/);
    });
  });
}
