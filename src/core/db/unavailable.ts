/**
 * Whether an error means the database could not be reached or cannot take a statement right now
 * (connection refused or lost, a 5xx from a libSQL server, a lock held past the busy timeout, a
 * read-only or full disk) — not that the statement was wrong. Such a failure is answered 503 with
 * Retry-After (the client may retry; nothing was applied: a batch either commits or not), never a
 * 500 that reads like a bug.
 */
export function databaseUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 8; depth++, e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") {
      if (unavailableCodes.has(code.split("_").slice(0, 2).join("_"))) return true;
      if (unavailableCodes.has(code)) return true;
      // A libSQL server's HTTP error: 5xx is the server's trouble (4xx stays a bug or misconfiguration).
      if (code === "SERVER_ERROR" && /HTTP status 5\d\d/.test(e.message)) return true;
    }
    // undici (Node) and workerd: the request never got an answer (refused, reset, DNS, TLS).
    if (e.name === "TypeError" && /fetch failed|network connection lost/i.test(e.message))
      return true;
    if (e.name === "TimeoutError") return true;
  }
  return false;
}

const unavailableCodes = new Set([
  // fetchWithTimeout: no answer from a libSQL server over HTTP
  "DATABASE_UNREACHABLE",
  // libSQL / Hrana transport
  "HRANA_WEBSOCKET_ERROR",
  "HRANA_CLOSED_ERROR",
  "STREAM_EXPIRED",
  // SQLite (embedded file): locked past the busy timeout, disk read-only, full or failing
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "SQLITE_READONLY",
  "SQLITE_FULL",
  "SQLITE_IOERR",
  "SQLITE_CANTOPEN",
  // Node sockets
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** Seconds a client is told to wait before retrying a request the database could not take. */
export const unavailableRetryAfterSeconds = 5;

/**
 * A `fetch` for `@libsql/client`'s HTTP transport that gives up after `timeoutMs`: every libSQL
 * call over HTTP (each pipeline or cursor request, the body included) is bounded, so a server
 * that hangs yields a `TimeoutError` — a 503 UNAVAILABLE (see `databaseUnavailable`) — rather
 * than a request that never ends; a 5xx answer is kept recognisable as the server's trouble. A write cut off this way may still have committed on the server
 * (a batch commits whole or not at all); the client sees 503 and does not know which.
 */
export function fetchWithTimeout(
  timeoutMs: number,
  fetchFn: typeof fetch = (...args) => fetch(...args),
): (input: Request | string, init?: RequestInit) => Promise<Response> {
  return async function databaseFetch(input: Request | string, init?: RequestInit) {
    let res: Response;
    try {
      // A URL and init (src/core/db/http-reads.ts) make one Request, not a Request and a copy.
      const signal = AbortSignal.timeout(timeoutMs);
      res = await fetchFn(input, init === undefined ? { signal } : { ...init, signal });
    } catch (err) {
      // No answer at all — refused, reset, timed out — whatever each runtime calls it (workerd
      // says a plain Error "Network connection lost.", undici a TypeError "fetch failed").
      throw new DatabaseUnreachable(err);
    }
    if (res.status < 500) return res;
    // The client turns a JSON error body into an error with the body's code and drops the HTTP
    // status, so an overloaded server's 503 would read like a bad statement (a 500 here). As
    // plain text it stays the client's SERVER_ERROR "HTTP status 5xx", which is unavailability.
    const text = (await res.text()).slice(0, 200);
    return new Response(text, {
      status: res.status,
      statusText: res.statusText,
      headers: { "content-type": "text/plain" },
    });
  };
}

/** A libSQL server over HTTP gave no answer (the cause says why: timeout, refused, reset). */
export class DatabaseUnreachable extends Error {
  readonly code = "DATABASE_UNREACHABLE";
  constructor(cause: unknown) {
    super("The libSQL server did not answer", { cause });
    this.name = "DatabaseUnreachable";
  }
}

/** DATABASE_TIMEOUT_MS's default: longest wait for one libSQL call over HTTP. */
export const defaultDatabaseTimeoutMs = 5000;
