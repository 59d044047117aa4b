import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient, LibsqlError } from "@libsql/client";
import { createClient as createWebClient } from "@libsql/client/web";
import * as hrana from "@libsql/hrana-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
// The hrana client ships its JSON v3 endpoint commented out; one test puts it back.
import { checkEndpoints } from "../../node_modules/@libsql/hrana-client/lib-esm/http/client.js";
import { type LibsqlServer, startLibsqlServer } from "./server";
import { scanSql } from "./sql-scan";

// Conformance of the local libSQL HTTP server, driven by @libsql/client itself — the Node build
// and the web build the Worker uses — exactly as they would talk to Turso, plus the wire format.
let dir: string;
let server: LibsqlServer | undefined;
const clients: { close(): void }[] = [];

async function start(options: { authToken?: string; idleStreamMs?: number; path?: string } = {}) {
  server = await startLibsqlServer({ path: join(dir, "db.sqlite"), ...options });
  return server;
}
function url(): string {
  if (server === undefined) throw new Error("server not started");
  return server.url;
}
function connect(kind: "node" | "web" = "node", extra: { authToken?: string } = {}): Client {
  const make = kind === "node" ? createClient : createWebClient;
  const client = make({ url: url(), intMode: "bigint", ...extra });
  clients.push(client);
  return client;
}
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url()}${path}`, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers },
  });
const execute = (sql: string) => ({ type: "execute", stmt: { sql } });
const count = async (db: Client, table: string) =>
  (await db.execute(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e as LibsqlError,
  );

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "nearbase-libsql-"));
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe.each(["node", "web"] as const)("with the %s client", (kind) => {
  beforeEach(() => start());

  it("round-trips every value type exactly", async () => {
    const db = connect(kind);
    await db.execute("CREATE TABLE v (i INTEGER, f REAL, t TEXT, b BLOB, n)");
    const rows: [bigint, number, string, Uint8Array | ArrayBuffer][] = [
      [2n ** 62n, 3.25, "héllo ✓ 𝄞 — 日本", new Uint8Array([0, 1, 2, 254, 255])],
      [-42n, -0.1, "", new Uint8Array([9, 8, 7]).buffer],
      [2n ** 63n - 1n, 1e300, "'; DROP TABLE v; --", new Uint8Array()],
      [-(2n ** 63n), -0.5, "line\nbreak\ttab", new Uint8Array(300).fill(0xab)],
    ];
    for (const [i, f, t, b] of rows) {
      await db.execute({ sql: "INSERT INTO v VALUES (?, ?, ?, ?, ?)", args: [i, f, t, b, null] });
    }
    const rs = await db.execute("SELECT i, f, t, b, n FROM v ORDER BY rowid");
    expect(rs.columns).toEqual(["i", "f", "t", "b", "n"]);
    expect(rs.columnTypes).toEqual(["INTEGER", "REAL", "TEXT", "BLOB", ""]);
    expect(rs.rows).toHaveLength(rows.length);
    rows.forEach(([i, f, t, b], k) => {
      const row = rs.rows[k]!;
      expect(row.i).toBe(i);
      expect(row.f).toBe(f);
      expect(row.t).toBe(t);
      expect(new Uint8Array(row.b as ArrayBuffer)).toEqual(new Uint8Array(b));
      expect(row.n).toBeNull();
    });
    const special = await db.execute("SELECT 1e999 AS inf, -1e999 AS ninf, 0.0 / 0 AS nan");
    expect(special.rows[0]).toMatchObject({ inf: Infinity, ninf: -Infinity, nan: null });
  });

  it("reports rowsAffected and lastInsertRowid", async () => {
    const db = connect(kind);
    await db.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, x TEXT)");
    const ins = await db.execute({
      sql: "INSERT INTO r (x) VALUES (?), (?), (?)",
      args: ["a", "b", "c"],
    });
    expect(ins.rowsAffected).toBe(3);
    expect(ins.lastInsertRowid).toBe(3n);
    const upd = await db.execute({ sql: "UPDATE r SET x = 'z' WHERE id >= ?", args: [2] });
    expect(upd.rowsAffected).toBe(2);
    const ret = await db.execute("DELETE FROM r WHERE id = 1 RETURNING x");
    expect(ret.rows.map((r) => r.x)).toEqual(["a"]);
    expect(ret.rowsAffected).toBe(1);
    expect((await db.execute("SELECT * FROM r")).rowsAffected).toBe(0);
    expect((await db.execute("CREATE TABLE r2 (x)")).rowsAffected).toBe(0);
    const big = await db.execute({ sql: "INSERT INTO r VALUES (?, 'big')", args: [2n ** 62n] });
    expect(big.lastInsertRowid).toBe(2n ** 62n);
  });

  it("binds positional, numbered and named arguments", async () => {
    const db = connect(kind);
    const pos = await db.execute({ sql: "SELECT ? AS a, ? AS b", args: [1n, "x"] });
    expect(pos.rows[0]).toMatchObject({ a: 1n, b: "x" });
    const numbered = await db.execute({ sql: "SELECT ?2 AS a, ?1 AS b, ?2 AS c", args: [1n, 2n] });
    expect(numbered.rows[0]).toMatchObject({ a: 2n, b: 1n, c: 2n });
    const named = await db.execute({
      sql: "SELECT :a AS a, @b AS b, $c AS c, :a AS again",
      args: { a: 1, b: "two", c: null },
    });
    // A JS number travels as a float, as with Turso.
    expect(named.rows[0]).toMatchObject({ a: 1, b: "two", c: null, again: 1 });
    const quoted = await db.execute({ sql: "SELECT '?' AS q, ? AS a -- ?", args: ["v"] });
    expect(quoted.rows[0]).toMatchObject({ q: "?", a: "v" });
  });

  it("refuses what sqld refuses instead of guessing", async () => {
    const db = connect(kind);
    await db.execute("CREATE TABLE s (x)");
    const tooFew = await failure(db.execute({ sql: "SELECT ?, ?", args: [1n] }));
    expect(tooFew).toBeInstanceOf(LibsqlError);
    expect(tooFew.code).toBe("ARGS_INVALID");
    expect((await failure(db.execute({ sql: "SELECT ?", args: [1n, 2n] }))).code).toBe(
      "ARGS_INVALID",
    );
    // The native binding would run only the first statement and drop the rest.
    const many = await failure(db.execute("INSERT INTO s VALUES (1); INSERT INTO s VALUES (2)"));
    expect(many.code).toBe("SQL_MANY_STATEMENTS");
    expect(await count(db, "s")).toBe(0n);
    expect((await failure(db.execute(" -- nothing\n;"))).code).toBe("SQL_NO_STATEMENT");
    // Semicolons inside a trigger body or a string don't split the statement.
    await db.execute(`CREATE TRIGGER s_double AFTER INSERT ON s WHEN new.x < 10 BEGIN
      INSERT INTO s VALUES (new.x * 10); SELECT CASE WHEN 1 THEN 'a;b' END;
    END;`);
    await db.execute("INSERT INTO s VALUES (2);  -- trailing comment");
    expect((await db.execute("SELECT x FROM s ORDER BY x")).rows.map((r) => r.x)).toEqual([
      2n,
      20n,
    ]);
  });

  it("runs a write batch atomically: a failing step leaves nothing applied", async () => {
    const db = connect(kind);
    await db.execute("CREATE TABLE u (email TEXT UNIQUE)");
    await db.execute("INSERT INTO u VALUES ('taken@example.com')");
    const err = await failure(
      db.batch(
        [
          { sql: "INSERT INTO u VALUES (?)", args: ["new@example.com"] },
          "INSERT INTO u VALUES ('other@example.com')",
          { sql: "INSERT INTO u VALUES (?)", args: ["taken@example.com"] },
          "INSERT INTO u VALUES ('never@example.com')",
        ],
        "write",
      ),
    );
    expect(err).toBeInstanceOf(LibsqlError);
    expect(err.code).toBe("SQLITE_CONSTRAINT");
    expect(err.message).toMatch(/UNIQUE constraint failed/);
    expect(await count(db, "u")).toBe(1n);
    // Nothing is left open: the next write batch on a fresh stream goes through.
    const ok = await db.batch(
      [
        "INSERT INTO u VALUES ('a@x')",
        "INSERT INTO u VALUES ('b@x')",
        "SELECT count(*) AS n FROM u",
      ],
      "write",
    );
    expect(ok.map((r) => r.rowsAffected)).toEqual([1, 1, 0]);
    expect(ok.at(-1)?.rows[0]?.n).toBe(3n);
  });

  it("runs read and deferred batches, and read transactions", async () => {
    const db = connect(kind);
    await db.execute("CREATE TABLE ro (x)");
    await db.batch(["INSERT INTO ro VALUES (1)", "INSERT INTO ro VALUES (2)"], "deferred");
    const rs = await db.batch(["SELECT 1 AS one", "SELECT count(*) AS n FROM ro"], "read");
    expect(rs.map((r) => r.rows[0]?.[0])).toEqual([1n, 2n]);
    // The engine parses BEGIN TRANSACTION READONLY but, like the embedded client, doesn't
    // enforce it; what matters here is that the stream's transaction opens and ends.
    const tx = await db.transaction("read");
    expect((await tx.execute("SELECT count(*) AS n FROM ro")).rows[0]?.n).toBe(2n);
    await tx.commit();
    expect(await count(db, "ro")).toBe(2n);
  });

  it("keeps interactive transactions across requests; commit and rollback both work", async () => {
    const db = connect(kind);
    const other = connect(kind);
    await db.execute("CREATE TABLE t (x INTEGER)");

    const tx = await db.transaction("write");
    await tx.execute("INSERT INTO t VALUES (1)");
    await tx.execute({ sql: "INSERT INTO t VALUES (?)", args: [2n] });
    expect((await tx.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(2n);
    expect(await count(other, "t")).toBe(0n);
    await tx.commit();
    expect(await count(other, "t")).toBe(2n);

    const tx2 = await db.transaction("write");
    await tx2.execute("INSERT INTO t VALUES (3)");
    await tx2.batch(["INSERT INTO t VALUES (4)", "INSERT INTO t VALUES (5)"]);
    expect((await tx2.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(5n);
    await tx2.rollback();
    expect(await count(other, "t")).toBe(2n);
    expect(await count(db, "t")).toBe(2n);
  });

  it("serves concurrent clients without losing writes", async () => {
    const writers = [connect(kind), connect(kind), connect(kind), connect(kind)];
    await writers[0]!.execute("CREATE TABLE c (w INTEGER, i INTEGER)");
    await Promise.all(
      writers.flatMap((db, w) =>
        Array.from({ length: 20 }, (_, i) =>
          i % 5 === 0
            ? db.batch([{ sql: "INSERT INTO c VALUES (?, ?)", args: [w, i] }], "write")
            : db.execute({ sql: "INSERT INTO c VALUES (?, ?)", args: [w, i] }),
        ),
      ),
    );
    const rs = await writers[1]!.execute("SELECT count(*) AS n, count(DISTINCT w) AS ws FROM c");
    expect(rs.rows[0]).toMatchObject({ n: 80n, ws: 4n });
  });

  it("lets a write wait for another stream's transaction instead of failing", async () => {
    const db = connect(kind);
    const other = connect(kind);
    await db.execute("CREATE TABLE q (x INTEGER)");
    const tx = await db.transaction("write");
    await tx.execute("INSERT INTO q VALUES (1)");
    const waiting = other.execute("INSERT INTO q VALUES (2)");
    await new Promise((r) => setTimeout(r, 50));
    await tx.commit();
    await waiting;
    expect(await count(other, "q")).toBe(2n);
  });

  it("runs executeMultiple", async () => {
    const db = connect(kind);
    await db.executeMultiple(
      "CREATE TABLE m (x); INSERT INTO m VALUES (1); -- one\n INSERT INTO m VALUES (2);",
    );
    expect((await db.execute("SELECT sum(x) AS s FROM m")).rows[0]?.s).toBe(3n);
    await expect(db.executeMultiple("INSERT INTO m VALUES (3); SELEC 1;")).rejects.toBeInstanceOf(
      LibsqlError,
    );
  });

  it("surfaces SQL errors as LibsqlError with a code", async () => {
    const db = connect(kind);
    const err = await failure(db.execute("SELEC nonsense"));
    expect(err).toBeInstanceOf(LibsqlError);
    expect(err.code).toBe("SQLITE_ERROR");
    expect(err.message).toMatch(/syntax error/);
    const missing = await failure(db.execute("SELECT * FROM no_such_table"));
    expect(missing.message).toMatch(/no such table/);
    // The stream survives a failed statement.
    expect((await db.execute("SELECT 1 AS one")).rows[0]?.one).toBe(1n);
  });
});

describe("the Hrana protocol on the wire", () => {
  beforeEach(() => start());

  it("answers the version probes: v2 and v3 JSON, not protobuf", async () => {
    expect((await fetch(`${url()}/v2`)).status).toBe(200);
    expect((await fetch(`${url()}/v3`)).status).toBe(200);
    expect((await fetch(`${url()}/v3-protobuf`)).status).toBe(404);
    // A client asking for v3 (it probes protobuf) falls back to v2 JSON.
    const client = hrana.openHttp(url(), undefined, undefined, undefined, 3);
    clients.push(client);
    expect(await client.getVersion()).toBe(2);
  });

  it("serves the hrana client over v3 JSON: cursors, autocommit state, stored SQL", async () => {
    const saved = checkEndpoints.splice(0, checkEndpoints.length, {
      versionPath: "v3",
      pipelinePath: "v3/pipeline",
      cursorPath: "v3/cursor",
      version: 3,
      encoding: "json",
    });
    try {
      const client = hrana.openHttp(url(), undefined, undefined, undefined, 3);
      clients.push(client);
      expect(await client.getVersion()).toBe(3);
      const stream = client.openStream();
      await stream.sequence("CREATE TABLE k (id INTEGER PRIMARY KEY, y TEXT UNIQUE);");
      expect(await stream.getAutocommit()).toBe(true);

      const insert = stream.storeSql("INSERT INTO k (y) VALUES (?)");
      const batch = stream.batch(true);
      const begin = batch.step();
      void begin.run("BEGIN");
      const a = batch
        .step()
        .condition(hrana.BatchCond.ok(begin))
        .run([insert, ["a"]]);
      const dup = batch
        .step()
        .condition(hrana.BatchCond.ok(begin))
        .run([insert, ["a"]]);
      const skipped = batch
        .step()
        .condition(hrana.BatchCond.not(hrana.BatchCond.isAutocommit(batch)))
        .condition(hrana.BatchCond.ok(begin))
        .condition(hrana.BatchCond.error(begin))
        .run("SELECT 1");
      const rows = batch.step().query("SELECT id, y FROM k");
      await batch.execute();
      expect((await a)?.lastInsertRowid).toBe(1n);
      await expect(dup).rejects.toMatchObject({ code: "SQLITE_CONSTRAINT" });
      expect(await skipped).toBeUndefined();
      expect((await rows)?.rows.map((r) => [r.id, r.y])).toEqual([[1, "a"]]);
      expect(await stream.getAutocommit()).toBe(false);
      await stream.run("COMMIT");
      expect(await stream.getAutocommit()).toBe(true);

      const described = await stream.describe("SELECT y FROM k WHERE id = :id OR y = ?3");
      expect(described).toMatchObject({
        paramNames: [":id", undefined, "?3"],
        columns: [{ name: "y", decltype: "TEXT" }],
        isExplain: false,
        isReadonly: true,
      });
      expect((await stream.describe("INSERT INTO k (y) VALUES (?)")).isReadonly).toBe(false);
      expect((await stream.describe("EXPLAIN SELECT 1")).isExplain).toBe(true);
      insert.close();
      stream.closeGracefully();
    } finally {
      checkEndpoints.splice(0, checkEndpoints.length, ...saved);
    }
  });

  it("streams a v3 cursor as newline-delimited JSON, skipped steps omitted", async () => {
    const res = await post("/v3/cursor", {
      batch: {
        steps: [
          { stmt: { sql: "SELECT 1 AS one UNION ALL SELECT 2" } },
          { stmt: { sql: "SELEC" } },
          { condition: { type: "ok", step: 1 }, stmt: { sql: "SELECT 3" } },
          { condition: { type: "error", step: 1 }, stmt: { sql: "SELECT ? AS v", args: [] } },
        ],
      },
    });
    expect(res.status).toBe(200);
    const lines = (await res.text()).split("\n");
    expect(lines.at(-1)).toBe("");
    const [head, ...entries] = lines.slice(0, -1).map((l) => JSON.parse(l));
    expect(head).toEqual({ baton: expect.any(String), base_url: null });
    expect(entries.map((e) => [e.type, e.step])).toEqual([
      ["step_begin", 0],
      ["row", undefined],
      ["row", undefined],
      ["step_end", undefined],
      ["step_error", 1],
      ["step_error", 3],
    ]);
    expect(entries[1].row).toEqual([{ type: "integer", value: "1" }]);
    expect(entries[4].error.code).toBe("SQLITE_ERROR");
    expect(entries[5].error.code).toBe("ARGS_INVALID");
    // The cursor's stream lives on under its baton.
    const close = await post("/v3/pipeline", { baton: head.baton, requests: [{ type: "close" }] });
    expect(((await close.json()) as { baton: unknown }).baton).toBeNull();
  });

  it("keeps stream state per baton: stored SQL and pipelines", async () => {
    const first = await post("/v2/pipeline", {
      requests: [
        { type: "store_sql", sql_id: 1, sql: "SELECT ? + 1 AS n" },
        { type: "execute", stmt: { sql_id: 1, args: [{ type: "integer", value: "41" }] } },
        { type: "execute", stmt: { sql: "SELECT 1", want_rows: false } },
      ],
    });
    const one = (await first.json()) as { baton: string; results: unknown[] };
    expect(one.results[1]).toMatchObject({
      type: "ok",
      response: { result: { cols: [{ name: "n" }], rows: [[{ type: "integer", value: "42" }]] } },
    });
    expect(one.results[2]).toMatchObject({ response: { result: { rows: [] } } });
    const second = await post("/v2/pipeline", {
      baton: one.baton,
      requests: [
        { type: "close_sql", sql_id: 1 },
        { type: "execute", stmt: { sql_id: 1 } },
      ],
    });
    // Using SQL that is no longer stored is a protocol error, as on sqld.
    expect(second.status).toBe(400);
  });
});

describe("HTTP edge cases", () => {
  beforeEach(() => start({ idleStreamMs: 150 }));

  it("answers malformed requests with 4xx JSON {message, code} and keeps serving", async () => {
    const cases: [string, number, string][] = [
      ["{not json", 400, "PROTOCOL_ERROR"],
      ["[]", 400, "PROTOCOL_ERROR"],
      [JSON.stringify({ requests: "nope" }), 400, "PROTOCOL_ERROR"],
      [JSON.stringify({ requests: [{ type: "explode" }] }), 400, "PROTOCOL_ERROR"],
      [
        JSON.stringify({
          requests: [
            {
              type: "execute",
              stmt: { sql: "SELECT ?", args: [{ type: "integer", value: "1x" }] },
            },
          ],
        }),
        400,
        "PROTOCOL_ERROR",
      ],
      [
        JSON.stringify({
          requests: [
            {
              type: "execute",
              stmt: { sql: "SELECT ?", args: [{ type: "integer", value: "9223372036854775808" }] },
            },
          ],
        }),
        400,
        "PROTOCOL_ERROR",
      ],
      [JSON.stringify({ requests: [{ type: "execute", stmt: {} }] }), 400, "PROTOCOL_ERROR"],
      [JSON.stringify({ requests: [null] }), 400, "PROTOCOL_ERROR"],
      [
        JSON.stringify({
          requests: [
            {
              type: "batch",
              batch: { steps: [{ condition: { type: "ok", step: 5 }, stmt: { sql: "SELECT 1" } }] },
            },
          ],
        }),
        400,
        "PROTOCOL_ERROR",
      ],
      [JSON.stringify({ baton: "forged-baton", requests: [] }), 400, "STREAM_EXPIRED"],
      [JSON.stringify({ baton: 42, requests: [] }), 400, "STREAM_EXPIRED"],
    ];
    for (const [body, status, code] of cases) {
      const res = await post("/v2/pipeline", body);
      expect(res.status, body).toBe(status);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(await res.json(), body).toEqual({ message: expect.any(String), code });
    }
    const big = await post("/v2/pipeline", {
      requests: [execute(`SELECT '${"x".repeat(11 * 1024 * 1024)}'`)],
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: "BODY_TOO_LARGE" });
    expect((await fetch(`${url()}/nope`)).status).toBe(404);
    expect((await fetch(`${url()}/v2/pipeline`)).status).toBe(405);

    const db = connect("node");
    expect((await db.execute("SELECT 1 AS one")).rows[0]?.one).toBe(1n);
  });

  it("rolls back and forgets a stream that fails with a protocol error", async () => {
    const db = connect("node");
    await db.execute("CREATE TABLE p (x)");
    const bad = await post("/v2/pipeline", {
      requests: [execute("BEGIN IMMEDIATE"), execute("INSERT INTO p VALUES (1)"), { type: "?" }],
    });
    expect(bad.status).toBe(400);
    // The write lock went with it: this would otherwise wait and fail.
    await db.execute("INSERT INTO p VALUES (2)");
    expect(await count(db, "p")).toBe(1n);
  });

  it("expires an idle stream, rolls back its transaction and frees the write lock", async () => {
    const db = connect("node");
    await db.execute("CREATE TABLE e (x)");
    const first = await post("/v2/pipeline", {
      requests: [execute("BEGIN IMMEDIATE"), execute("INSERT INTO e VALUES (1)")],
    });
    const { baton } = (await first.json()) as { baton: string };
    expect(baton).toMatch(/^[\w-]{32}$/);
    await new Promise((r) => setTimeout(r, 400));
    const late = await post("/v2/pipeline", { baton, requests: [execute("COMMIT")] });
    expect(late.status).toBe(400);
    expect(await late.json()).toMatchObject({ code: "STREAM_EXPIRED" });
    const started = Date.now();
    await db.execute("INSERT INTO e VALUES (2)");
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await db.execute("SELECT x FROM e")).rows.map((r) => r.x)).toEqual([2n]);
  });

  it("rotates the baton on every response and accepts each only once", async () => {
    const one = (await (
      await post("/v3/pipeline", { requests: [{ type: "get_autocommit" }] })
    ).json()) as {
      baton: string;
      results: unknown[];
    };
    expect(one.results[0]).toEqual({
      type: "ok",
      response: { type: "get_autocommit", is_autocommit: true },
    });
    const two = (await (
      await post("/v3/pipeline", { baton: one.baton, requests: [{ type: "get_autocommit" }] })
    ).json()) as { baton: string };
    expect(two.baton).not.toBe(one.baton);
    const reuse = await post("/v3/pipeline", { baton: one.baton, requests: [] });
    expect(reuse.status).toBe(400);
  });
});

describe("auth token", () => {
  beforeEach(() => start({ authToken: "s3cret-token" }));

  it("is required on every stream request when configured", async () => {
    for (const kind of ["node", "web"] as const) {
      const anonymous = await failure(connect(kind).execute("SELECT 1"));
      expect(anonymous).toBeInstanceOf(LibsqlError);
      expect(anonymous.code).toBe("UNAUTHORIZED");
      const wrong = await failure(connect(kind, { authToken: "s3cret-tokeN" }).execute("SELECT 1"));
      expect(wrong.code).toBe("UNAUTHORIZED");
      const right = connect(kind, { authToken: "s3cret-token" });
      expect((await right.execute("SELECT 2 AS two")).rows[0]?.two).toBe(2n);
    }
    expect((await post("/v3/cursor", { batch: { steps: [] } })).status).toBe(401);
    const raw = await post("/v2/pipeline", { requests: [] }, { authorization: "s3cret-token" });
    expect(raw.status).toBe(401);
    // Version probes carry no token.
    expect((await fetch(`${url()}/v2`)).status).toBe(200);
  });
});

describe("an in-memory path", () => {
  it("is one database shared by all streams", async () => {
    await start({ path: ":memory:" });
    const a = connect("node");
    const b = connect("web");
    await a.execute("CREATE TABLE mem (x)");
    await a.execute("INSERT INTO mem VALUES (1)");
    // The open transaction keeps one connection busy, so the reads below use another.
    const tx = await a.transaction("write");
    await tx.execute("INSERT INTO mem VALUES (2)");
    expect(await count(b, "mem")).toBe(1n);
    await tx.commit();
    expect(await count(b, "mem")).toBe(2n);
  });
});

describe("lagging replica mode", () => {
  it("serves reads that trail the primary by the configured delay and refuses writes", async () => {
    await start();
    const primary = connect("node");
    await primary.execute("CREATE TABLE p (x INTEGER)");
    await primary.execute("INSERT INTO p VALUES (1)");
    const replicaServer = await startLibsqlServer({
      path: join(dir, "replica.sqlite"),
      replicaOf: { source: join(dir, "db.sqlite"), lagMs: 400 },
    });
    try {
      const replica = createWebClient({ url: replicaServer.url, intMode: "bigint" });
      clients.push(replica);
      const n = async () => (await replica.execute("SELECT count(*) AS n FROM p")).rows[0]?.n;
      expect(await n()).toBe(1n);

      await primary.execute("INSERT INTO p VALUES (2)");
      const wroteAt = Date.now();
      expect(await n()).toBe(1n);
      while ((await n()) !== 2n) {
        expect(Date.now() - wroteAt).toBeLessThan(3000);
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(Date.now() - wroteAt).toBeGreaterThanOrEqual(350);

      await expect(replica.execute("INSERT INTO p VALUES (3)")).rejects.toBeInstanceOf(LibsqlError);
    } finally {
      await replicaServer.close();
    }
  });
});

describe("scanSql", () => {
  it("counts statements and parameters as SQLite does", () => {
    expect(scanSql("")).toMatchObject({ statements: 0 });
    expect(scanSql("SELECT 1;;  -- x\n/* y */")).toMatchObject({
      statements: 1,
      keyword: "SELECT",
    });
    expect(scanSql("select 1; select 2").statements).toBe(2);
    expect(scanSql("SELECT ?, :a, ?, :a, @b, $c, ?7").params).toEqual([
      null,
      ":a",
      null,
      "@b",
      "$c",
      null,
      "?7",
    ]);
    expect(scanSql(`SELECT '?;', "a?", [b;], \`c;\`, x'00', a$b -- ?;`).params).toEqual([]);
    expect(scanSql(`SELECT 'it''s ?', ?`).params).toEqual([null]);
    expect(
      scanSql("CREATE TEMP TRIGGER t AFTER INSERT ON x BEGIN SELECT CASE WHEN 1 THEN 2 END; END")
        .statements,
    ).toBe(1);
    expect(
      scanSql("CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END; DROP TABLE x").statements,
    ).toBe(2);
  });
});
