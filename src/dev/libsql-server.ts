import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Connection, type HranaError, type HranaStmt, ProtocolError, toHranaError } from "./hrana";
import { startLaggingReplica } from "./replica";

export interface LibsqlServerOptions {
  /** Database file (created if missing). */
  path: string;
  /** Loopback by default: this server has no TLS and is for local use. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** When set, requests need `Authorization: Bearer <authToken>`. */
  authToken?: string;
  /** A stream (and its open transaction) idle this long is rolled back and closed. */
  idleStreamMs?: number;
  maxBodyBytes?: number;
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

interface Stream {
  conn: Connection;
  lastUsed: number;
}

type StreamRequest =
  | { type: "close" }
  | { type: "execute"; stmt: HranaStmt }
  | { type: "batch"; batch: { steps: { condition?: never; stmt: HranaStmt }[] } }
  | { type: "sequence"; sql?: string; sql_id?: number }
  | { type: "describe"; sql?: string; sql_id?: number }
  | { type: "store_sql"; sql_id: number; sql: string }
  | { type: "close_sql"; sql_id: number }
  | { type: "get_autocommit" };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A local libSQL server speaking Hrana over HTTP (v2, JSON) on the embedded engine — what
 * `@libsql/client` (Node and web builds) talks to in production on Turso. One connection per
 * stream: the baton that ties a client's requests together (interactive transactions) is
 * random, rotated on every response and expires when idle. Autocommit requests with no baton
 * borrow a pooled connection. Malformed requests get a 4xx JSON `{message, code}`.
 */
export async function startLibsqlServer(options: LibsqlServerOptions): Promise<LibsqlServer> {
  const idleMs = options.idleStreamMs ?? 10_000;
  const maxBody = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const busyWaitMs = options.busyWaitMs ?? 5_000;
  const streams = new Map<string, Stream>();
  const pool: Connection[] = [];
  const expected =
    options.authToken === undefined ? undefined : Buffer.from(`Bearer ${options.authToken}`);

  const readOnly = options.replicaOf !== undefined;
  const take = () => pool.pop() ?? new Connection(options.path, readOnly);
  // A promoted replica copy is a new file: pooled connections still see the old one.
  const replica =
    options.replicaOf === undefined
      ? undefined
      : startLaggingReplica({ ...options.replicaOf, path: options.path }, () => {
          for (const conn of pool.splice(0)) conn.close();
        });
  const release = (conn: Connection) => {
    if (conn.autocommit && conn.sqls.size === 0 && pool.length < 8) pool.push(conn);
    else conn.close();
  };

  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [baton, stream] of streams) {
        if (now - stream.lastUsed > idleMs) {
          streams.delete(baton);
          stream.conn.close();
        }
      }
    },
    Math.min(1000, idleMs),
  );
  sweep.unref();

  function authorized(req: IncomingMessage): boolean {
    if (expected === undefined) return true;
    const given = Buffer.from(req.headers.authorization ?? "");
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  async function readBody(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > maxBody) throw new HttpError(413, `request body over ${maxBody} bytes`);
      chunks.push(chunk as Buffer);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      throw new HttpError(400, "request body is not valid JSON");
    }
  }

  function run(conn: Connection, request: StreamRequest): Record<string, unknown> {
    switch (request.type) {
      case "execute":
        return { type: "execute", result: conn.execute(request.stmt) };
      case "batch":
        if (typeof request.batch !== "object" || request.batch === null)
          throw new ProtocolError("batch missing");
        return { type: "batch", result: conn.batch(request.batch.steps) };
      case "sequence":
        conn.db.exec(conn.sqlOf(request));
        return { type: "sequence" };
      case "describe":
        return { type: "describe", result: conn.describe(request) };
      case "store_sql":
        if (typeof request.sql !== "string" || typeof request.sql_id !== "number")
          throw new ProtocolError("store_sql needs sql_id and sql");
        conn.sqls.set(request.sql_id, request.sql);
        return { type: "store_sql" };
      case "close_sql":
        conn.sqls.delete(request.sql_id);
        return { type: "close_sql" };
      case "get_autocommit":
        return { type: "get_autocommit", is_autocommit: conn.autocommit };
      case "close":
        return { type: "close" };
      default:
        throw new ProtocolError(
          `unknown request type ${JSON.stringify((request as { type: unknown }).type)}`,
        );
    }
  }

  /**
   * SQLite answers SQLITE_BUSY at once when another stream holds the write lock (a busy_timeout
   * would block this single-threaded server, and with it the lock holder). So a statement or
   * batch that failed only for that reason, and left nothing open, is retried asynchronously for
   * up to `busyWaitMs`, as sqld would queue it.
   */
  async function runPatiently(conn: Connection, request: StreamRequest) {
    const deadline = Date.now() + busyWaitMs;
    for (;;) {
      const startedInAutocommit = conn.autocommit;
      try {
        const response = run(conn, request);
        const batchErrors = (response.result as { step_errors?: (HranaError | null)[] } | undefined)
          ?.step_errors;
        const busy = batchErrors?.some((e) => e?.code?.startsWith("SQLITE_BUSY")) ?? false;
        if (!busy || !startedInAutocommit || !conn.autocommit || Date.now() > deadline)
          return response;
      } catch (err) {
        const busy = toHranaError(err).code?.startsWith("SQLITE_BUSY") ?? false;
        if (!busy || !startedInAutocommit || !conn.autocommit || Date.now() > deadline) throw err;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async function pipeline(body: unknown) {
    if (
      typeof body !== "object" ||
      body === null ||
      !Array.isArray((body as { requests?: unknown }).requests)
    ) {
      throw new HttpError(400, "pipeline body needs a requests array");
    }
    const { baton, requests } = body as { baton?: unknown; requests: StreamRequest[] };
    let stream: Stream | undefined;
    if (baton !== undefined && baton !== null) {
      stream = typeof baton === "string" ? streams.get(baton) : undefined;
      if (stream === undefined) throw new HttpError(400, "unknown or expired baton");
      streams.delete(baton as string);
    }
    const conn = stream?.conn ?? take();
    const results: ({ type: "ok"; response: unknown } | { type: "error"; error: HranaError })[] =
      [];
    let closed = false;
    for (const request of requests) {
      if (closed) {
        results.push({
          type: "error",
          error: { message: "stream is closed", code: "STREAM_CLOSED" },
        });
        continue;
      }
      if (typeof request !== "object" || request === null)
        throw new HttpError(400, "each request must be an object");
      try {
        results.push({ type: "ok", response: await runPatiently(conn, request) });
      } catch (err) {
        if (err instanceof ProtocolError) {
          conn.close();
          throw new HttpError(400, err.message);
        }
        results.push({ type: "error", error: toHranaError(err) });
      }
      if (request.type === "close") closed = true;
    }
    if (closed) {
      release(conn);
      return { baton: null, base_url: null, results };
    }
    const next = randomBytes(24).toString("base64url");
    streams.set(next, { conn, lastUsed: Date.now() });
    return { baton: next, base_url: null, results };
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!authorized(req)) throw new HttpError(401, "missing or wrong authorization token");
    if (req.method === "GET" && (url.pathname === "/v2" || url.pathname === "/health")) {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      return;
    }
    if (req.method === "POST" && url.pathname === "/v2/pipeline") {
      const answer = await pipeline(await readBody(req));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
      return;
    }
    throw new HttpError(404, `no route for ${req.method} ${url.pathname}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      if (status === 500) options.log?.(`libsql server error: ${message}`);
      if (!res.headersSent) {
        res.writeHead(status, { "content-type": "application/json", connection: "close" });
        res.end(JSON.stringify({ message, code: status === 500 ? "INTERNAL" : "BAD_REQUEST" }));
      }
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
      clearInterval(sweep);
      replica?.close();
      for (const stream of streams.values()) stream.conn.close();
      streams.clear();
      for (const conn of pool.splice(0)) conn.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
