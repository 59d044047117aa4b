import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const call = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`http://nearbase.test${path}`, init));

describe("observability in workerd", () => {
  it("continues the caller's trace and times database work", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const res = await call("/ready", {
      headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-trace-id")).toBe(traceId);
    expect(res.headers.get("server-timing")).toMatch(/db;dur=[\d.]+;desc="1 queries"/);
  });

  it("keeps /metrics and admin stats closed to anonymous callers", async () => {
    for (const path of ["/metrics", "/api/admin/stats"]) {
      const res = await call(path);
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    }
  });
});
