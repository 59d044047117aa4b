import { describe, expect, it } from "vitest";
import { percentile, RequestStats } from "./stats";

const minute = 60_000;

/** A clock the test moves by hand, starting mid-minute. */
function manualClock(start = 100 * minute + 30_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("percentile", () => {
  it("is null for no samples", () => {
    expect(percentile([], 0.5)).toBeNull();
  });

  it("uses the nearest rank", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.95)).toBe(95);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(percentile(sorted, 1)).toBe(100);
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile([1, 2, 3], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([7], 0.99)).toBe(7);
  });
});

describe("RequestStats.window", () => {
  it("counts requests, server errors and client errors", () => {
    const stats = new RequestStats(manualClock().now);
    for (const status of [200, 201, 204, 301, 304, 400, 404, 429, 499, 500, 503, 599])
      stats.record("/r", status, 1);
    expect(stats.window(1)).toMatchObject({ requests: 12, errors: 3, clientErrors: 4 });
  });

  it("is empty, with null percentiles, before any request", () => {
    expect(new RequestStats(manualClock().now).window(15)).toEqual({
      requests: 0,
      errors: 0,
      clientErrors: 0,
      p50: null,
      p95: null,
      p99: null,
    });
  });

  it("gives latency percentiles in ms, rounded to two decimals", () => {
    const stats = new RequestStats(manualClock().now);
    for (let i = 1; i <= 100; i++) stats.record("/r", 200, i + 0.123);
    expect(stats.window(1)).toMatchObject({ p50: 50.12, p95: 95.12, p99: 99.12 });
  });

  it("covers the last N minutes, this one included", () => {
    const clock = manualClock();
    const stats = new RequestStats(clock.now);
    stats.record("/r", 200, 1); // minute 100
    clock.advance(minute);
    stats.record("/r", 500, 2);
    stats.record("/r", 200, 3); // minute 101
    clock.advance(minute);
    stats.record("/r", 404, 4); // minute 102
    expect(stats.window(1)).toMatchObject({ requests: 1, clientErrors: 1, errors: 0, p50: 4 });
    expect(stats.window(2)).toMatchObject({ requests: 3, errors: 1, clientErrors: 1 });
    expect(stats.window(3)).toMatchObject({ requests: 4, errors: 1, clientErrors: 1, p99: 4 });
    // A quiet minute later, the newest minute has nothing and older ones still count.
    clock.advance(minute);
    expect(stats.window(1).requests).toBe(0);
    expect(stats.window(4).requests).toBe(4);
  });

  it("keeps 15 minutes of history", () => {
    const clock = manualClock();
    const stats = new RequestStats(clock.now);
    stats.record("/old", 200, 1);
    clock.advance(14 * minute);
    stats.record("/r", 200, 1);
    expect(stats.window(15).requests).toBe(2);
    clock.advance(minute);
    stats.record("/r", 200, 1);
    expect(stats.window(15).requests).toBe(2);
    // Dropped, not only filtered out: asking for more minutes does not bring it back.
    expect(stats.window(60).requests).toBe(2);
    expect(stats.slowestRoutes().map((r) => r.route)).toEqual(["/r"]);
  });

  it("keeps percentiles representative past the per-minute sample reservoir", () => {
    const stats = new RequestStats(manualClock().now);
    // 20,000 requests in one minute: 90% take 1 ms, 10% take 100 ms, interleaved.
    for (let i = 0; i < 20_000; i++) stats.record("/r", 200, i % 10 === 0 ? 100 : 1);
    const w = stats.window(1);
    expect(w.requests).toBe(20_000);
    // With a uniform reservoir of 1024 samples, each of these is off with probability < 1e-6.
    expect(w.p50).toBe(1);
    expect(w.p95).toBe(100);
    expect(w.p99).toBe(100);
  });
});

describe("RequestStats.slowestRoutes", () => {
  it("orders routes by mean latency, with count and max, across minutes", () => {
    const clock = manualClock();
    const stats = new RequestStats(clock.now);
    stats.record("/fast", 200, 1);
    stats.record("/fast", 200, 3);
    stats.record("/slow", 200, 50);
    clock.advance(minute);
    stats.record("/slow", 200, 150.555);
    stats.record("/mid", 200, 20);
    expect(stats.slowestRoutes()).toEqual([
      { route: "/slow", count: 2, meanMs: 100.28, maxMs: 150.56 },
      { route: "/mid", count: 1, meanMs: 20, maxMs: 20 },
      { route: "/fast", count: 2, meanMs: 2, maxMs: 3 },
    ]);
    expect(stats.slowestRoutes(1).map((r) => r.route)).toEqual(["/slow"]);
  });

  it("forgets routes older than the kept window even when no request came since", () => {
    const clock = manualClock();
    const stats = new RequestStats(clock.now);
    stats.record("/old", 200, 10);
    clock.advance(60 * minute);
    expect(stats.window(15).requests).toBe(0);
    expect(stats.slowestRoutes()).toEqual([]);
  });

  it("tracks at most 500 routes a minute, still counting those it knows", () => {
    const stats = new RequestStats(manualClock().now);
    for (let i = 0; i < 500; i++) stats.record(`/r${i}`, 200, 1);
    stats.record("/late", 200, 1000);
    stats.record("/r0", 200, 99);
    const slowest = stats.slowestRoutes(501);
    expect(slowest).toHaveLength(500);
    expect(slowest.some((r) => r.route === "/late")).toBe(false);
    expect(slowest[0]).toEqual({ route: "/r0", count: 2, meanMs: 50, maxMs: 99 });
    // The untracked route still counts as a request.
    expect(stats.window(1).requests).toBe(502);
  });
});
