import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Connection,
  cursorEntries,
  type HranaBatchResult,
  type HranaError,
  ProtocolError,
  toHranaError,
} from "./hrana";
import { startLaggingReplica } from "./replica";

export interface LibsqlServerOptions {
  /**
   * Database file (created if missing). `:memory:` means a throwaway file in the temp dir,
   * removed on close: every stream has its own connection, and an in-memory database would be
   * private to one of them.
   */
  path: string;
  /** Loopback by default: this server has no TLS and is for local use. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** When set, requests need `Authorization: Bearer <authToken>`. */
  authToken?: string;
  /** A stream (and its open transaction) idle this long is rolled back and closed. */
  idleStreamMs?: number;
  /** Larger request bodies are refused with 413. */
  maxBodyBytes?: number;
  /** Open streams beyond this are refused with 503 rather than running out of file handles. */
  maxStreams?: number;
  /**
   * Serve as a read-only replica of this primary file whose data lags by `lagMs` (for testing
   * read-your-writes); `path` then holds the replica's copy.
   */
  replicaOf?: { source: string; lagMs: number };
  /** How long a statement waiting for another stream's write lock may wait. */
  busyWaitMs?: number;
  log?: (line: string) => void;
}

export interface LibsqlServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

type StreamResult =
  | { type: "ok"; response: Record<string, unknown> }
  | { type: "error"; error: HranaError };

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Runs one stream request (Hrana's StreamRequest) on the stream's connection. */
function run(conn: Connection, request: unknown): Record<string, unknown> {
  if (typeof request !== "object" || request === null)
    throw new ProtocolError("a request must be an object");
  const req = request as { type?: unknown; stmt?: unknown; batch?: unknown; sql_id?: unknown };
  switch (req.type) {
    case "execute":
      return { type: "execute", result: conn.execute(req.stmt) };
    case "batch":
      return { type: "batch", result: conn.batch(req.batch) };
    case "sequence":
      conn.sequence(conn.sqlOf(req));
      return { type: "sequence" };
    case "describe":
      return { type: "describe", result: conn.describe(conn.sqlOf(req)) };
    case "store_sql":
      conn.storeSql(req.sql_id, (req as { sql?: unknown }).sql);
      return { type: "store_sql" };
    case "close_sql":
      conn.sqls.delete(req.sql_id as number);
      return { type: "close_sql" };
    case "get_autocommit":
      return { type: "get_autocommit", is_autocommit: conn.autocommit };
    case "close":
      return { type: "close" };
    default:
      throw new ProtocolError(`unknown request type ${JSON.stringify(req.type)}`);
  }
}

const INFINITY = "\ud800+inf";
/**
 * SQLite can return ±Infinity (`SELECT 1e999`), which JSON.stringify would send as null. The
 * JSON numbers 1e999 and -1e999 parse back to ±Infinity, so write those. The marker holds a lone
 * surrogate, which no text from SQLite can contain.
 */
function toJson(body: unknown): string {
  const json = JSON.stringify(body, (_key, v: unknown) =>
    typeof v === "number" && !Number.isFinite(v) && !Number.isNaN(v)
      ? `${v > 0 ? "" : "-"}${INFINITY}`
      : v,
  );
  return json.includes("\\ud800+inf")
    ? json.replaceAll('"\\ud800+inf"', "1e999").replaceAll('"-\\ud800+inf"', "-1e999")
    : json;
}

function send(res: ServerResponse, status: number, body: unknown, close = false): void {
  // The client recognizes an error body only with exactly this content type.
  res.writeHead(status, {
    "content-type": "application/json",
    ...(close && { connection: "close" }),
  });
  res.end(toJson(body));
}

/**
 * A local libSQL server speaking Hrana over HTTP (v2 and v3, JSON) on the embedded engine — what
 * `@libsql/client` (Node and web builds) talks to on Turso. One connection per stream: the baton
 * that ties a client's requests together (interactive transactions) is random, single-use and
 * expires when idle, rolling back what its stream left open. Requests with no baton borrow a
 * pooled connection. Malformed requests get a 4xx JSON `{message, code}`, never a crash.
 */
export async function startLibsqlServer(options: LibsqlServerOptions): Promise<LibsqlServer> {
  const idleMs = options.idleStreamMs ?? 10_000;
  const maxBody = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const maxStreams = options.maxStreams ?? 1024;
  const busyWaitMs = options.busyWaitMs ?? 5_000;
  const log = options.log ?? (() => {});
  const scratch =
    options.path === ":memory:" ? mkdtempSync(join(tmpdir(), "libsql-server-")) : undefined;
  const path = scratch === undefined ? options.path : join(scratch, "db.sqlite");
  const readOnly = options.replicaOf !== undefined;
  const streams = new Map<string, { conn: Connection; lastUsed: number }>();
  const pool: Connection[] = [];
  let stopped = false;

  // Comparing digests takes the same time whatever the token's length or content.
  const digest = (s: string) => createHash("sha256").update(s).digest();
  const expected =
    options.authToken === undefined ? undefined : digest(`Bearer ${options.authToken}`);
  const authorized = (req: IncomingMessage) =>
    expected === undefined || timingSafeEqual(digest(req.headers.authorization ?? ""), expected);

  // A promoted replica copy is a new file: pooled connections still see the old one.
  const replica =
    options.replicaOf === undefined
      ? undefined
      : startLaggingReplica({ ...options.replicaOf, path }, () => {
          for (const conn of pool.splice(0)) conn.close();
        });

  /** The baton's connection (each baton works once), or a fresh one to start a stream. */
  function acquire(baton: unknown): Connection {
    if (baton === undefined || baton === null) {
      if (streams.size >= maxStreams)
        throw new HttpError(503, "TOO_MANY_STREAMS", "too many open streams");
      return pool.pop() ?? new Connection(path, readOnly);
    }
    const stream = typeof baton === "string" ? streams.get(baton) : undefined;
    if (stream === undefined)
      throw new HttpError(400, "STREAM_EXPIRED", "the baton is unknown, used or expired");
    streams.delete(baton as string);
    return stream.conn;
  }

  /** Keeps the stream open under a new baton for the client's next request. */
  function park(conn: Connection): string | null {
    if (stopped) {
      conn.close();
      return null;
    }
    const baton = randomBytes(24).toString("base64url");
    streams.set(baton, { conn, lastUsed: Date.now() });
    return baton;
  }

  function release(conn: Connection): void {
    if (!stopped && conn.autocommit && conn.sqls.size === 0 && pool.length < 8) pool.push(conn);
    else conn.close();
  }

  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [baton, stream] of streams) {
        if (now - stream.lastUsed <= idleMs) continue;
        streams.delete(baton);
        if (!stream.conn.autocommit)
          log("libsql server: idle stream expired, transaction rolled back");
        stream.conn.close();
      }
    },
    Math.max(10, Math.min(1000, idleMs / 4)),
  );
  sweep.unref();

  /**
   * SQLite answers SQLITE_BUSY at once when another stream holds the write lock (a busy_timeout
   * would block this single-threaded server, and with it the lock holder). So a request that
   * failed only for that reason, wrote nothing and left no transaction open is retried
   * asynchronously for up to `busyWaitMs`, as sqld would queue it.
   */
  async function patiently(conn: Connection, request: unknown): Promise<Record<string, unknown>> {
    const deadline = Date.now() + busyWaitMs;
    for (;;) {
      const startedInAutocommit = conn.autocommit;
      const changesBefore = startedInAutocommit ? conn.totalChanges() : -1n;
      let response: Record<string, unknown> | undefined;
      let failure: unknown;
      let busy: boolean;
      try {
        response = run(conn, request);
        const errors = (response.result as Partial<HranaBatchResult> | undefined)?.step_errors;
        busy = errors?.some((e) => e?.code === "SQLITE_BUSY") ?? false;
      } catch (err) {
        if (err instanceof ProtocolError) throw err;
        failure = err;
        busy = toHranaError(err).code === "SQLITE_BUSY";
      }
      const retry =
        busy &&
        startedInAutocommit &&
        conn.autocommit &&
        Date.now() < deadline &&
        conn.totalChanges() === changesBefore;
      if (!retry) {
        if (response === undefined) throw failure;
        return response;
      }
      conn.reopen();
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async function pipeline(body: { baton?: unknown; requests?: unknown }) {
    if (!Array.isArray(body.requests)) throw new ProtocolError("requests must be an array");
    const conn = acquire(body.baton);
    const results: StreamResult[] = [];
    let closed = false;
    try {
      for (const request of body.requests) {
        if (closed) throw new ProtocolError("no request may follow close");
        try {
          results.push({ type: "ok", response: await patiently(conn, request) });
        } catch (err) {
          if (err instanceof ProtocolError) throw err;
          results.push({ type: "error", error: toHranaError(err) });
        }
        closed = (request as { type?: unknown }).type === "close";
      }
    } catch (err) {
      conn.close();
      throw err;
    }
    if (closed) release(conn);
    return { baton: closed ? null : park(conn), base_url: null, results };
  }

  /** v3: a batch whose results stream back as newline-delimited JSON entries. */
  async function cursor(body: { baton?: unknown; batch?: unknown }, res: ServerResponse) {
    const conn = acquire(body.baton);
    let response: Record<string, unknown>;
    try {
      response = await patiently(conn, { type: "batch", batch: body.batch });
    } catch (err) {
      conn.close();
      throw err;
    }
    const lines = [
      { baton: park(conn), base_url: null },
      ...cursorEntries(response.result as HranaBatchResult),
    ];
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`${lines.map(toJson).join("\n")}\n`);
  }

  async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    if (Number(req.headers["content-length"] ?? 0) > maxBody)
      throw new HttpError(413, "BODY_TOO_LARGE", `request body over ${maxBody} bytes`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBody)
        throw new HttpError(413, "BODY_TOO_LARGE", `request body over ${maxBody} bytes`);
      chunks.push(chunk);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      throw new ProtocolError("request body is not valid JSON");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body))
      throw new ProtocolError("request body must be a JSON object");
    return body as Record<string, unknown>;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const { pathname } = new URL(req.url ?? "/", "http://localhost");
    // Version probes carry no token (the client sends none), and reveal nothing.
    if (req.method === "GET" && ["/", "/health", "/v2", "/v3"].includes(pathname)) {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      return;
    }
    if (!authorized(req)) throw new HttpError(401, "UNAUTHORIZED", "missing or wrong auth token");
    if (!["/v2/pipeline", "/v3/pipeline", "/v3/cursor"].includes(pathname))
      throw new HttpError(404, "NOT_FOUND", `no route for ${pathname}`);
    if (req.method !== "POST")
      throw new HttpError(405, "METHOD_NOT_ALLOWED", `${pathname} takes POST`);
    const body = await readBody(req);
    if (pathname === "/v3/cursor") await cursor(body, res);
    else send(res, 200, await pipeline(body));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const known =
        err instanceof HttpError
          ? err
          : err instanceof ProtocolError
            ? new HttpError(400, "PROTOCOL_ERROR", err.message)
            : new HttpError(
                500,
                "INTERNAL_ERROR",
                err instanceof Error ? err.message : String(err),
              );
      if (known.status === 500) log(`libsql server error: ${known.message}`);
      // An unread body (413, 401…) would be parsed as the next request: end the connection.
      if (!res.headersSent)
        send(res, known.status, { message: known.message, code: known.code }, true);
      req.resume();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve);
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    port,
    async close() {
      stopped = true;
      clearInterval(sweep);
      replica?.close();
      for (const stream of streams.values()) stream.conn.close();
      streams.clear();
      for (const conn of pool.splice(0)) conn.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
    },
  };
}
