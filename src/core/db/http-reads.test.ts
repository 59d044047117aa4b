import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type Client, createClient } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LibsqlServer, startLibsqlServer } from "../../../tools/libsql-server/server";
import { fastHttpReads } from "./http-reads";
import { databaseUnavailable, fetchWithTimeout } from "./unavailable";

// The Workers home's libSQL client (src/platform/workers/platform.ts): single SELECTs go
// straight to the server; what a caller gets back must be what @libsql/client gives, value for
// value and error for error, against a real libSQL HTTP server.
let server: LibsqlServer;
let plain: Client;
let fast: Client;
const posts: string[] = [];

function counting(fetchFn: ReturnType<typeof fetchWithTimeout>) {
  const calls: string[] = [];
  const wrapped = (input: Request | string, init?: RequestInit) => {
    // The fast path fetches a URL string; the client builds a Request.
    calls.push(typeof input === "string" ? `fast ${input}` : `client ${input.url}`);
    return fetchFn(input, init);
  };
  return { calls, fetch: wrapped };
}

beforeAll(async () => {
  server = await startLibsqlServer({ path: ":memory:" });
  plain = createClient({ url: server.url });
  const f = fetchWithTimeout(5000);
  fast = fastHttpReads(createClient({ url: server.url, fetch: f }), { url: server.url }, f);
  await plain.executeMultiple(`
    CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, x REAL, s TEXT, b BLOB, big INTEGER);
    INSERT INTO t VALUES ('a', 1, 1.5, 'héllo 😀', x'00ff10', 9007199254740991);
    INSERT INTO t VALUES ('b', -7, NULL, '', NULL, NULL);
    INSERT INTO t VALUES ('c', 0, 0.1, 'x"y\\z', x'', 1);
  `);
  posts.push("a", "b", "c");
});

afterAll(async () => {
  plain.close();
  fast.close();
  await server.close();
});

/** Everything a caller can observe of a result set. */
function observable(rs: Awaited<ReturnType<Client["execute"]>>) {
  return {
    columns: rs.columns,
    columnTypes: rs.columnTypes,
    rowsAffected: rs.rowsAffected,
    lastInsertRowid: rs.lastInsertRowid,
    json: JSON.stringify(rs.toJSON()),
    rows: rs.rows.map((row) => ({
      keys: Object.keys(row),
      entries: Object.entries(row),
      length: row.length,
      indexed: Array.from({ length: row.length }, (_, i) => row[i]),
      spread: { ...row },
      ownIndexEnumerable: Object.getOwnPropertyDescriptor(row, 0)?.enumerable,
      stringified: JSON.stringify(row),
    })),
    className: rs.constructor.name,
  };
}

describe("fastHttpReads", () => {
  it("answers SELECTs exactly as @libsql/client does, in one round trip each", async () => {
    const { calls, fetch } = counting(fetchWithTimeout(5000));
    const client = fastHttpReads(
      createClient({ url: server.url, fetch }),
      { url: server.url },
      fetch,
    );
    const statements = [
      "SELECT * FROM t ORDER BY id",
      { sql: "SELECT id, n AS n, n, s FROM t WHERE id = ?", args: ["a"] },
      { sql: "SELECT * FROM t WHERE n > :min AND s <> :s", args: { min: -10, s: "z" } },
      { sql: "SELECT ?, ?, ?, ?, ? AS d", args: [true, false, null, 2.25, new Date(86_400_000)] },
      { sql: "  select count(*) AS c, sum(x) FROM t WHERE s = ?", args: ["héllo 😀"] },
      "SELECT b FROM t WHERE b IS NOT NULL ORDER BY id",
      "SELECT 1 WHERE 0",
    ];
    for (const stmt of statements) {
      const want = observable(await plain.execute(stmt));
      calls.length = 0;
      const got = observable(await client.execute(stmt));
      expect(got, JSON.stringify(stmt)).toEqual(want);
      expect(calls, JSON.stringify(stmt)).toHaveLength(1);
      expect(calls[0]).toBe(`fast ${server.url}/v2/pipeline`);
    }
    // The blobs are ArrayBuffers with the stored bytes.
    const blob = (await client.execute("SELECT b FROM t WHERE id = 'a'")).rows[0]!.b;
    expect(blob).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(blob as ArrayBuffer)]).toEqual([0, 255, 16]);
    client.close();
  });

  it("writes, batches and transactions are the client's own, and see each other", async () => {
    const ins = await fast.execute({
      sql: "INSERT INTO t (id, n) VALUES (?, ?)",
      args: ["w1", 5n],
    });
    expect(ins.rowsAffected).toBe(1);
    expect(typeof ins.lastInsertRowid).toBe("bigint");
    const [, after] = await fast.batch(
      [{ sql: "UPDATE t SET n = 6 WHERE id = 'w1'", args: [] }, "SELECT n FROM t WHERE id = 'w1'"],
      "write",
    );
    expect(after!.rows[0]!.n).toBe(6);
    expect(fast.closed).toBe(false);
    expect(fast.protocol).toBe("http");
    const tx = await fast.transaction("write");
    await tx.execute("DELETE FROM t WHERE id = 'w1'");
    await tx.commit();
    expect((await fast.execute("SELECT count(*) AS c FROM t WHERE id = 'w1'")).rows[0]!.c).toBe(0);
  });

  it("arguments and answers out of the ordinary get the client's own result or error", async () => {
    // A bigint argument, a blob argument: the client's encoding.
    const big = await fast.execute({ sql: "SELECT ? AS v", args: [42n] });
    expect(big.rows[0]!.v).toEqual(
      (await plain.execute({ sql: "SELECT ? AS v", args: [42n] })).rows[0]!.v,
    );
    const bytes = await fast.execute({ sql: "SELECT hex(?) AS h", args: [new Uint8Array([1, 2])] });
    expect(bytes.rows[0]!.h).toBe("0102");
    // An integer beyond 2^53 in an answer, a bad statement, a missing table, an unbindable
    // argument: the same error as the client's, message and code.
    for (const stmt of [
      "SELECT 9007199254740993 AS v",
      "SELECT * FROM nowhere",
      "SELECT (",
      { sql: "SELECT ?", args: [Number.NaN] },
      { sql: "SELECT ?", args: [undefined as unknown as null] },
    ]) {
      const want = (await plain.execute(stmt).then(
        () => undefined,
        (e: unknown) => e,
      )) as Error;
      const got = (await fast.execute(stmt).then(
        () => undefined,
        (e: unknown) => e,
      )) as Error;
      expect(want, JSON.stringify(stmt)).toBeInstanceOf(Error);
      expect(got.constructor, JSON.stringify(stmt)).toBe(want.constructor);
      expect(got.message).toBe(want.message);
      expect((got as { code?: string }).code).toBe((want as { code?: string }).code);
    }
  });

  it("a server that answers 503 is unavailable, and one that never answers times out once", async () => {
    const http = createServer((req, res) => {
      if (req.url?.startsWith("/v3-protobuf")) {
        res.writeHead(404).end();
        return;
      }
      if (req.headers["x-hang"] !== undefined) return;
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: "overloaded", code: "SOME_CODE" }));
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const f = fetchWithTimeout(2000);
    const client = fastHttpReads(createClient({ url, fetch: f }), { url }, f);
    const err = await client.execute("SELECT 1").catch((e: unknown) => e);
    expect(databaseUnavailable(err)).toBe(true);
    // No answer at all: the timeout's DatabaseUnreachable, thrown as the client throws it, not
    // a second wait through the client.
    let posts = 0;
    const hanging = fetchWithTimeout(300, (input, init) => {
      posts++;
      return fetch(input, { ...init, headers: { ...(init?.headers as object), "x-hang": "1" } });
    });
    const stuck = fastHttpReads(createClient({ url, fetch: hanging }), { url }, hanging);
    posts = 0;
    const timeout = await stuck.execute("SELECT 1").catch((e: unknown) => e);
    expect(databaseUnavailable(timeout)).toBe(true);
    expect((timeout as Error).name).toBe("DatabaseUnreachable");
    expect(posts).toBe(1);
    client.close();
    stuck.close();
    http.closeAllConnections();
    http.close();
  });

  it("a refused SELECT reaches the server once, as with the client, and fails as the client fails", async () => {
    // A missing table (an error result) on the real server, and a server answering 503 (JSON
    // and plain text): one pipeline request each, the client's error, nothing sent twice.
    let hits = 0;
    const http = createServer((req, res) => {
      if (req.url?.startsWith("/v3-protobuf")) return void res.writeHead(404).end();
      if (req.url?.endsWith("/pipeline")) hits++;
      if (req.headers["x-text"] !== undefined) {
        res.writeHead(503, { "content-type": "text/plain" });
        res.end("busy");
        return;
      }
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: "no such thing", code: "SOME_CODE" }));
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const stub = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const text = fetchWithTimeout(2000, (input, init) =>
      fetch(input, { ...init, headers: { ...(init?.headers as object), "x-text": "1" } }),
    );
    const json = fetchWithTimeout(2000);
    for (const [url, f, sql] of [
      [server.url, json, "SELECT * FROM nowhere"],
      [stub, json, "SELECT 1"],
      [stub, text, "SELECT 1"],
    ] as const) {
      const pipelines = { n: 0 };
      const counted = (input: Request | string, init?: RequestInit) => {
        if ((typeof input === "string" ? input : input.url).endsWith("/pipeline")) pipelines.n++;
        return f(input, init);
      };
      const want = (await createClient({ url, fetch: counted })
        .execute(sql)
        .catch((e: unknown) => e)) as Error & { code?: string };
      const plainRequests = pipelines.n;
      pipelines.n = 0;
      const client = fastHttpReads(createClient({ url, fetch: counted }), { url }, counted);
      const got = (await client.execute(sql).catch((e: unknown) => e)) as Error & {
        code?: string;
      };
      expect(pipelines.n, `${url} ${sql}`).toBe(1);
      expect(plainRequests, `${url} ${sql}`).toBe(1);
      expect(got.constructor).toBe(want.constructor);
      expect([got.message, got.code]).toEqual([want.message, want.code]);
      expect(databaseUnavailable(got)).toBe(databaseUnavailable(want));
      client.close();
    }
    expect(hits).toBe(4);
    http.closeAllConnections();
    http.close();
  });

  it("a URL with query parameters (left to the client to read) still answers", async () => {
    const f = fetchWithTimeout(5000);
    const url = `${server.url}?tls=0`;
    const client = fastHttpReads(createClient({ url, fetch: f }), { url }, f);
    const rs = await client.execute({ sql: "SELECT n FROM t WHERE id = ?", args: ["b"] });
    expect(rs.rows[0]!.n).toBe(-7);
    client.close();
    expect(client.closed).toBe(true);
  });
});
