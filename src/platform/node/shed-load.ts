import { problemContentType, toProblem } from "../../core/kernel/errors";
import type { LogSink } from "../../core/kernel/log";

export interface ShedLoadOptions {
  /** Requests being handled at once beyond which new ones are refused (0: no limit). */
  maxInFlight: number;
  /** Seconds the refusal asks a client to wait. */
  retryAfterSeconds?: number;
  /** Paths never refused: liveness and metrics must answer under overload. */
  exempt?: readonly string[];
  /** Called for each refusal (a log line or a counter). */
  onShed?: (inFlight: number) => void;
}

/**
 * Load shedding for one Node process: past `maxInFlight` requests in handling, a new request is
 * answered at once with a 503 UNAVAILABLE problem and Retry-After instead of joining an unbounded
 * queue — beyond saturation latency stays bounded (the limit divided by the service rate) and
 * memory does not grow with the offered load. A request counts until its handler returns its
 * response (a long stream's body, e.g. realtime SSE, does not hold a slot; streams have their
 * own caps). `/health` and `/metrics` are never refused.
 */
export function shedLoad<A extends unknown[]>(
  fetch: (request: Request, ...rest: A) => Response | Promise<Response>,
  options: ShedLoadOptions,
) {
  if (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 0)
    throw new Error(
      `shedLoad: maxInFlight must be a whole number ≥ 0 (got ${options.maxInFlight})`,
    );
  const exempt = new Set(options.exempt ?? ["/health", "/metrics"]);
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  let inFlight = 0;
  const limited = options.maxInFlight > 0;

  async function shedLoadFetch(request: Request, ...rest: A): Promise<Response> {
    if (limited && inFlight >= options.maxInFlight && !exempt.has(pathOf(request.url))) {
      options.onShed?.(inFlight);
      const body = toProblem(
        "UNAVAILABLE",
        "The server is at capacity; retry shortly.",
        crypto.randomUUID(),
      );
      const headers: Record<string, string> = {
        "content-type": problemContentType,
        "retry-after": retryAfter,
        "cache-control": "no-store",
      };
      // The body is not read: say the connection ends, or a keep-alive client would send its next
      // request into a socket Node is closing.
      if (request.body !== null) headers.connection = "close";
      return new Response(JSON.stringify(body), { status: 503, headers });
    }
    inFlight++;
    try {
      return await fetch(request, ...rest);
    } finally {
      inFlight--;
    }
  }
  return Object.assign(shedLoadFetch, { inFlight: () => inFlight });
}

function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const end = url.indexOf("?", start);
  return end < 0 ? url.slice(start) : url.slice(start, end);
}

/** One warn line per second at most while requests are refused, with how many were. */
export function shedLog(log: LogSink) {
  let shed = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (inFlight: number) => {
    shed++;
    timer ??= setTimeout(() => {
      log.write({ level: "warn", msg: "overloaded: requests refused", refused: shed, inFlight });
      shed = 0;
      timer = undefined;
    }, 1000);
    timer.unref?.();
  };
}
