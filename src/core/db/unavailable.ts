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
