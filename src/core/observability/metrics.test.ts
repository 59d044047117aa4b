import { describe, expect, it } from "vitest";
import { Counter, createMetrics, Histogram, latencyBuckets } from "./metrics";

describe("Counter", () => {
  it("counts per label set, whatever the order the labels are given in", () => {
    const c = new Counter("t_total", "Test.");
    c.inc({ route: "/a", method: "GET" });
    c.inc({ method: "GET", route: "/a" }, 2);
    c.inc({ route: "/b", method: "GET" });
    expect(c.get({ method: "GET", route: "/a" })).toBe(3);
    expect(c.get({ route: "/b", method: "GET" })).toBe(1);
    expect(c.get({ route: "/c", method: "GET" })).toBe(0);
  });

  it("renders HELP, TYPE and one line per series, labels sorted", () => {
    const c = new Counter("t_total", "Requests.");
    c.inc({ status: "200", method: "GET" }, 5);
    c.inc();
    expect(c.render()).toEqual([
      "# HELP t_total Requests.",
      "# TYPE t_total counter",
      't_total{method="GET",status="200"} 5',
      "t_total 1",
    ]);
  });

  it("escapes backslashes, quotes and newlines in label values and help", () => {
    const c = new Counter("t_total", "Line one\nback\\slash");
    c.inc({ path: 'a\\b"c\nd' });
    expect(c.render()).toEqual([
      "# HELP t_total Line one\\nback\\\\slash",
      "# TYPE t_total counter",
      't_total{path="a\\\\b\\"c\\nd"} 1',
    ]);
  });

  it("refuses new label sets past 2000 series, but keeps counting known ones", () => {
    const c = new Counter("t_total", "Test.");
    for (let i = 0; i < 2000; i++) c.inc({ path: `/p${i}` });
    c.inc({ path: "/one-too-many" });
    c.inc({ path: "/p0" });
    expect(c.series.size).toBe(2000);
    expect(c.get({ path: "/one-too-many" })).toBe(0);
    expect(c.get({ path: "/p0" })).toBe(2);
    expect(c.render().some((l) => l.includes("one-too-many"))).toBe(false);
  });
});

describe("Histogram", () => {
  it("renders cumulative buckets, +Inf, sum and count", () => {
    const h = new Histogram("t_seconds", "Latency.", [0.1, 0.5, 1]);
    for (const v of [0.05, 0.1, 0.3, 0.7, 2]) h.observe(v, { route: "/a" });
    expect(h.render()).toEqual([
      "# HELP t_seconds Latency.",
      "# TYPE t_seconds histogram",
      't_seconds_bucket{route="/a",le="0.1"} 2',
      't_seconds_bucket{route="/a",le="0.5"} 3',
      't_seconds_bucket{route="/a",le="1"} 4',
      't_seconds_bucket{route="/a",le="+Inf"} 5',
      't_seconds_sum{route="/a"} 3.15',
      't_seconds_count{route="/a"} 5',
    ]);
  });

  it("renders a series without labels with only le on the buckets", () => {
    const h = new Histogram("t_seconds", "Latency.", [1]);
    h.observe(0.5);
    expect(h.render().slice(2)).toEqual([
      't_seconds_bucket{le="1"} 1',
      't_seconds_bucket{le="+Inf"} 1',
      "t_seconds_sum 0.5",
      "t_seconds_count 1",
    ]);
  });

  it("keeps bucket counts non-decreasing and +Inf equal to the count", () => {
    const h = new Histogram("t_seconds", "Latency.");
    const values = Array.from({ length: 500 }, (_, i) => ((i * 37) % 13_000) / 1000);
    for (const v of values) h.observe(v, { method: "GET" });
    const counts = h
      .render()
      .filter((l) => l.startsWith("t_seconds_bucket"))
      .map((l) => Number(l.split(" ")[1]));
    expect(counts).toHaveLength(latencyBuckets.length + 1);
    for (let i = 1; i < counts.length; i++)
      expect(counts[i]!).toBeGreaterThanOrEqual(counts[i - 1]!);
    expect(counts.at(-1)).toBe(values.length);
    // Each bucket counts exactly the observations at or under its bound.
    latencyBuckets.forEach((le, i) => {
      expect(counts[i]).toBe(values.filter((v) => v <= le).length);
    });
  });

  it("escapes label values", () => {
    const h = new Histogram("t_seconds", "Latency.", [1]);
    h.observe(1, { route: 'x"y' });
    expect(h.render()[2]).toBe('t_seconds_bucket{route="x\\"y",le="1"} 1');
  });

  it("refuses new label sets past 2000 series", () => {
    const h = new Histogram("t_seconds", "Latency.", [1]);
    for (let i = 0; i < 2001; i++) h.observe(0.5, { path: `/p${i}` });
    h.observe(0.5, { path: "/p0" });
    expect(h.series.size).toBe(2000);
    expect(h.series.get('path="/p2000"')).toBeUndefined();
    expect(h.series.get('path="/p0"')?.count).toBe(2);
  });
});

describe("createMetrics", () => {
  it("renders every metric in one exposition ending with a newline", () => {
    const m = createMetrics();
    m.requests.inc({ route: "/api/health", method: "GET", status: "200" });
    m.requestDuration.observe(0.004, { route: "/api/health", method: "GET" });
    m.cache.inc({ result: "HIT" });
    const text = m.render();
    expect(text.endsWith("\n")).toBe(true);
    for (const [name, type] of [
      ["nearbase_http_requests_total", "counter"],
      ["nearbase_http_request_duration_seconds", "histogram"],
      ["nearbase_db_query_duration_seconds", "histogram"],
      ["nearbase_cache_requests_total", "counter"],
      ["nearbase_rate_limited_total", "counter"],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
    expect(text).toContain(
      'nearbase_http_requests_total{method="GET",route="/api/health",status="200"} 1\n',
    );
    expect(text).toContain(
      'nearbase_http_request_duration_seconds_bucket{method="GET",route="/api/health",le="0.005"} 1\n',
    );
    expect(text).toContain('nearbase_cache_requests_total{result="HIT"} 1\n');
  });

  it("gives each call its own registry", () => {
    const a = createMetrics();
    const b = createMetrics();
    a.requests.inc({ route: "/x" });
    expect(b.requests.get({ route: "/x" })).toBe(0);
  });
});
