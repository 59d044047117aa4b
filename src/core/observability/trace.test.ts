import { describe, expect, it } from "vitest";
import { formatTraceparent, newSpanId, newTraceId, traceFromHeaders } from "./trace";

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const parentId = "00f067aa0ba902b7";
const hex32 = /^[0-9a-f]{32}$/;
const hex16 = /^[0-9a-f]{16}$/;

/** True when the header was refused and a fresh trace started instead. */
function startedFresh(traceparent: string | undefined, tracestate?: string): boolean {
  const t = traceFromHeaders(traceparent, tracestate);
  return t.traceId !== traceId && t.parentSpanId === undefined && t.tracestate === undefined;
}

describe("traceFromHeaders", () => {
  it("continues a valid trace with a new span of its own", () => {
    const t = traceFromHeaders(`00-${traceId}-${parentId}-01`, undefined);
    expect(t.traceId).toBe(traceId);
    expect(t.parentSpanId).toBe(parentId);
    expect(t.spanId).toMatch(hex16);
    expect(t.spanId).not.toBe(parentId);
    expect(t.sampled).toBe(true);
    expect(t.tracestate).toBeUndefined();
  });

  it("reads the sampled flag from the lowest bit only", () => {
    expect(traceFromHeaders(`00-${traceId}-${parentId}-00`, undefined).sampled).toBe(false);
    expect(traceFromHeaders(`00-${traceId}-${parentId}-01`, undefined).sampled).toBe(true);
    expect(traceFromHeaders(`00-${traceId}-${parentId}-02`, undefined).sampled).toBe(false);
    expect(traceFromHeaders(`00-${traceId}-${parentId}-03`, undefined).sampled).toBe(true);
  });

  it("tolerates surrounding whitespace", () => {
    expect(traceFromHeaders(`  00-${traceId}-${parentId}-01 `, undefined).traceId).toBe(traceId);
  });

  it("starts a fresh, sampled trace when there is no header", () => {
    const t = traceFromHeaders(undefined, "vendor=value");
    expect(t.traceId).toMatch(hex32);
    expect(t.spanId).toMatch(hex16);
    expect(t.parentSpanId).toBeUndefined();
    expect(t.sampled).toBe(true);
    expect(t.tracestate).toBeUndefined();
  });

  it("refuses headers the W3C rules make invalid, and starts a new trace", () => {
    for (const bad of [
      "",
      "garbage",
      `ff-${traceId}-${parentId}-01`, // version ff is forbidden
      `00-${"0".repeat(32)}-${parentId}-01`, // all-zero trace id
      `00-${traceId}-${"0".repeat(16)}-01`, // all-zero parent id
      `00-${traceId.toUpperCase()}-${parentId}-01`, // hex must be lowercase
      `00-${traceId.slice(1)}-${parentId}-01`, // short trace id
      `00-${traceId}-${parentId}0-01`, // long parent id
      `00-${traceId}-${parentId}-1`, // one-digit flags
      `00-${traceId}-${parentId}-01-extra`, // version 00 has exactly four fields
      `00-${traceId}-${parentId}`, // no flags
      `0g-${traceId}-${parentId}-01`, // not hex
      `00_${traceId}_${parentId}_01`,
    ]) {
      expect(startedFresh(bad, "vendor=value"), bad).toBe(true);
    }
  });

  it("the fresh trace from a refused header is sampled, whatever the header's flags", () => {
    expect(traceFromHeaders(`ff-${traceId}-${parentId}-00`, undefined).sampled).toBe(true);
  });

  it("accepts a future version with extra fields (forward compatibility)", () => {
    const t = traceFromHeaders(`01-${traceId}-${parentId}-01-what-comes-next`, undefined);
    expect(t.traceId).toBe(traceId);
    expect(t.parentSpanId).toBe(parentId);
  });
});

describe("tracestate", () => {
  const parent = `00-${traceId}-${parentId}-01`;
  const state = (value: string | undefined) => traceFromHeaders(parent, value).tracestate;

  it("is carried when well-formed, normalised to trimmed members", () => {
    expect(state("congo=t61rcWkgMzE")).toBe("congo=t61rcWkgMzE");
    expect(state("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE")).toBe(
      "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
    );
    expect(state("a=1,,  ,b=2")).toBe("a=1,b=2");
    expect(state("tenant@vendor=x,k_-*/=v with spaces")).toBe(
      "tenant@vendor=x,k_-*/=v with spaces",
    );
  });

  it("is dropped as a whole when any member is malformed", () => {
    for (const bad of [
      "Rojo=1", // keys are lowercase
      "-rojo=1", // keys start with a letter or digit
      "rojo", // no value
      "rojo=", // empty value
      "rojo=a=b", // '=' not allowed in a value
      "rojo=a\tb", // control characters are not allowed
      "good=1,bad key=2",
      `rojo=${"x".repeat(257)}`, // value longer than 256
      `${"k".repeat(257)}=1`, // key longer than 256
      "rojo=caf\u00e9", // printable ASCII only
    ]) {
      expect(state(bad), bad).toBeUndefined();
    }
  });

  it("is dropped past 32 members or 512 characters", () => {
    const members = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v`).join(",");
    expect(state(members(32))).toBe(members(32));
    expect(state(members(33))).toBeUndefined();
    const long = `a=${"x".repeat(255)},b=${"y".repeat(252)}`;
    expect(long.length).toBe(512);
    expect(state(long)).toBe(long);
    expect(state(`${long}z`)).toBeUndefined();
  });

  it("is dropped when empty", () => {
    expect(state("")).toBeUndefined();
    expect(state(" , ")).toBeUndefined();
  });

  it("is not carried without a valid traceparent", () => {
    expect(traceFromHeaders(`ff-${traceId}-${parentId}-01`, "congo=1").tracestate).toBeUndefined();
  });
});

describe("formatTraceparent", () => {
  it("writes version 00, the trace id, this span and the sampled flag", () => {
    const t = traceFromHeaders(`00-${traceId}-${parentId}-01`, undefined);
    expect(formatTraceparent(t)).toBe(`00-${traceId}-${t.spanId}-01`);
    const unsampled = traceFromHeaders(`00-${traceId}-${parentId}-00`, undefined);
    expect(formatTraceparent(unsampled)).toBe(`00-${traceId}-${unsampled.spanId}-00`);
  });

  it("names a child span as the parent when given one", () => {
    const t = traceFromHeaders(undefined, undefined);
    const child = newSpanId();
    expect(formatTraceparent(t, child)).toBe(`00-${t.traceId}-${child}-01`);
  });

  it("is read back by traceFromHeaders as the same trace", () => {
    const t = traceFromHeaders(undefined, undefined);
    const downstream = traceFromHeaders(formatTraceparent(t), undefined);
    expect(downstream.traceId).toBe(t.traceId);
    expect(downstream.parentSpanId).toBe(t.spanId);
    expect(downstream.sampled).toBe(true);
  });
});

describe("ids", () => {
  it("are lowercase hex of the W3C lengths, and differ each time", () => {
    const traces = new Set(Array.from({ length: 200 }, newTraceId));
    const spans = new Set(Array.from({ length: 200 }, newSpanId));
    expect(traces.size).toBe(200);
    expect(spans.size).toBe(200);
    for (const id of traces) expect(id).toMatch(hex32);
    for (const id of spans) expect(id).toMatch(hex16);
  });
});
