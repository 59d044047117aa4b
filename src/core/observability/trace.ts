/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): parse and format `traceparent`,
 * carry `tracestate` through untouched when it is well-formed. An invalid inbound header starts
 * a new trace rather than failing the request.
 */
export interface TraceContext {
  traceId: string;
  /** The caller's span, when the request came with a valid traceparent. */
  parentSpanId: string | undefined;
  /** This request's span. */
  spanId: string;
  sampled: boolean;
  tracestate: string | undefined;
}

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const allZeros = /^0+$/;

const hexByte = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
// Random bytes drawn 4 KiB at a time (one getRandomValues call per ~170 requests instead of two
// per request), filled on first use: workerd refuses random values at module scope.
const pool = new Uint8Array(4096);
let used = pool.length;

function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    crypto.getRandomValues(pool);
    used = 0;
  }
  let out = "";
  for (let i = used; i < used + bytes; i++) out += hexByte[pool[i]!];
  used += bytes;
  return out;
}

export const newTraceId = () => randomHex(16);
export const newSpanId = () => randomHex(8);

/** Reads the inbound headers, or starts a fresh (sampled) trace. */
export function traceFromHeaders(
  traceparent: string | undefined,
  tracestate: string | undefined,
): TraceContext {
  const match = traceparent === undefined ? null : traceparentPattern.exec(traceparent.trim());
  if (match) {
    const [, version, traceId, parentSpanId, flags, rest] = match as unknown as string[];
    const valid =
      version !== "ff" &&
      !(version === "00" && rest !== undefined) &&
      !allZeros.test(traceId!) &&
      !allZeros.test(parentSpanId!);
    if (valid) {
      return {
        traceId: traceId!,
        parentSpanId,
        spanId: newSpanId(),
        sampled: (Number.parseInt(flags!, 16) & 1) === 1,
        tracestate: validTracestate(tracestate),
      };
    }
  }
  return {
    traceId: newTraceId(),
    parentSpanId: undefined,
    spanId: newSpanId(),
    sampled: true,
    tracestate: undefined,
  };
}

/** The header to send downstream, naming `spanId` as the parent. */
export function formatTraceparent(trace: TraceContext, spanId = trace.spanId): string {
  return `00-${trace.traceId}-${spanId}-${trace.sampled ? "01" : "00"}`;
}

function validTracestate(value: string | undefined): string | undefined {
  if (value === undefined || value.length > 512) return undefined;
  const members = value
    .split(",")
    .map((m) => m.trim())
    .filter((m) => m !== "");
  if (members.length === 0 || members.length > 32) return undefined;
  const member =
    /^[a-z0-9][_0-9a-z\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
  return members.every((m) => member.test(m)) ? members.join(",") : undefined;
}
