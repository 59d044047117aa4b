import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient, LibsqlError } from "@libsql/client";
import { createClient as createWebClient } from "@libsql/client/web";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LibsqlServer, startLibsqlServer } from "../../src/dev/libsql-server";

// Conformance of the local libSQL HTTP server, driven by @libsql/client itself — the Node build
// and the web build the Worker uses — exactly as they would talk to Turso.
let dir: string;
let server: LibsqlServer;
const clients: Client[] = [];

async function start(options: { authToken?: string; idleStreamMs?: number } = {}) {
  server = await startLibsqlServer({ path: join(dir, "db.sqlite"), ...options });
  return server;
}
function connect(kind: "node" | "web" = "node", extra: { authToken?: string } = {}) {
  const make = kind === "node" ? createClient : createWebClient;
  const client = make({ url: server.url, intMode: "bigint", ...extra });
  clients.push(client);
  return client;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "nearbase-libsql-"));
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.each(["node", "web"] as const)("with the %s client", (kind) => {
  beforeEach(() => start());

  it("round-trips every value type exactly", async () => {
    const db = connect(kind);
    await db.execute("CREATE TABLE v (i INTEGER, f REAL, t TEXT, b BLOB, n)");
    const big = 2n ** 62n + 7n;
    const blob = new Uint8Array([0, 1, 2, 254, 255]);
    await db.execute({
      sql: "INSERT INTO v VALUES (?, ?, ?, ?, ?)",
      args: [big, 3.25, "héllo ✓ 𝄞", blob, null],
    });
    await db.execute({
      sql: "INSERT INTO v VALUES (?, ?, ?, ?, ?)",
      args: [-42n, -0.5, "", new Uint8Array(), null],
    });
    const rs = await db.execute("SELECT i, f, t, b, n FROM v ORDER BY rowid");
    expect(rs.columns).toEqual(["i", "f", "t", "b", "n"]);
    expect(rs.columnTypes).toEqual(["INTEGER", "REAL", "TEXT", "BLOB", ""]);
    const [first, second] = rs.rows;
    expect(first?.i).toBe(big);
    expect(first?.f).toBe(3.25);
    expect(first?.t).toBe("héllo ✓ 𝄞");
    expect(new Uint8Array(first?.b as ArrayBuffer)).toEqual(blob);
    expect(first?.n).toBeNull();
    expect(second?.i).toBe(-42n);
    expect(second?.f).toBe(-0.5);
    expect(second?.t).toBe("");
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
    const sel = await db.execute("SELECT * FROM r");
    expect(sel.rowsAffected).toBe(0);
  });

  it("binds named arguments with any prefix", async () => {
    const db = connect(kind);
    const rs = await db.execute({
      sql: "SELECT :a AS a, @b AS b, $c AS c",
      args: { a: 1, b: "two", c: null },
    });
    // A JS number travels as a float, as with Turso.
    expect(rs.rows[0]).toMatchObject({ a: 1, b: "two", c: null });
  });

  it("runs a write batch atomically: a failing step leaves nothing applied", async () => {
    const db = connect(kind);
    await db.execute("CREATE TABLE u (email TEXT UNIQUE)");
    await db.execute("INSERT INTO u VALUES ('taken@example.com')");
    const failing = db.batch(
      [
        { sql: "INSERT INTO u VALUES (?)", args: ["new@example.com"] },
        { sql: "INSERT INTO u VALUES (?)", args: ["taken@example.com"] },
      ],
      "write",
    );
    await expect(failing).rejects.toBeInstanceOf(LibsqlError);
    await expect(failing).rejects.toMatchObject({
      code: expect.stringMatching(/^SQLITE_CONSTRAINT/),
    });
    const rs = await db.execute("SELECT count(*) AS n FROM u");
    expect(rs.rows[0]?.n).toBe(1n);

    const ok = await db.batch(
      [
        "INSERT INTO u VALUES ('a@x')",
        "INSERT INTO u VALUES ('b@x')",
        "SELECT count(*) AS n FROM u",
      ],
      "write",
    );
    expect(ok.at(-1)?.rows[0]?.n).toBe(3n);
  });

  it("keeps interactive transactions across requests; commit and rollback both work", async () => {
    const db = connect(kind);
    const other = connect(kind);
    await db.execute("CREATE TABLE t (x INTEGER)");

    const tx = await db.transaction("write");
    await tx.execute("INSERT INTO t VALUES (1)");
    await tx.execute("INSERT INTO t VALUES (2)");
    expect((await tx.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(2n);
    expect((await other.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(0n);
    await tx.commit();
    expect((await other.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(2n);

    const tx2 = await db.transaction("write");
    await tx2.execute("INSERT INTO t VALUES (3)");
    await tx2.rollback();
    expect((await other.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(2n);
  });

  it("serves concurrent clients without losing writes", async () => {
    const writers = [connect(kind), connect(kind), connect(kind), connect(kind)];
    await writers[0]!.execute("CREATE TABLE c (w INTEGER, i INTEGER)");
    await Promise.all(
      writers.flatMap((db, w) =>
        Array.from({ length: 20 }, (_, i) =>
          db.execute({ sql: "INSERT INTO c VALUES (?, ?)", args: [w, i] }),
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
    expect((await other.execute("SELECT count(*) AS n FROM q")).rows[0]?.n).toBe(2n);
  });

  it("runs executeMultiple", async () => {
    const db = connect(kind);
    await db.executeMultiple(
      "CREATE TABLE m (x); INSERT INTO m VALUES (1); INSERT INTO m VALUES (2);",
    );
    expect((await db.execute("SELECT sum(x) AS s FROM m")).rows[0]?.s).toBe(3n);
  });

  it("surfaces SQL errors as LibsqlError with a code", async () => {
    const db = connect(kind);
    const err = await db.execute("SELEC nonsense").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LibsqlError);
    expect((err as LibsqlError).code).toMatch(/^SQLITE_ERROR/);
    const missing = await db.execute("SELECT * FROM no_such_table").catch((e: unknown) => e);
    expect((missing as LibsqlError).message).toMatch(/no such table/);
  });
});

describe("HTTP edge cases", () => {
  beforeEach(() => start({ idleStreamMs: 200 }));

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/v2/pipeline`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    });

  it("answers malformed requests with 4xx JSON and keeps serving", async () => {
    const cases = [
      "{not json",
      JSON.stringify({ requests: "nope" }),
      JSON.stringify({ requests: [{ type: "explode" }] }),
      JSON.stringify({
        requests: [
          {
            type: "execute",
            stmt: { sql: "SELECT ?", args: [{ type: "integer", value: "12abc" }] },
          },
        ],
      }),
      JSON.stringify({ requests: [{ type: "execute", stmt: {} }] }),
      JSON.stringify({ baton: "forged-baton", requests: [] }),
      JSON.stringify({ requests: [null] }),
    ];
    for (const body of cases) {
      const res = await post(body);
      expect(res.status, body).toBeGreaterThanOrEqual(400);
      expect(res.status, body).toBeLessThan(500);
      expect(await res.json()).toMatchObject({ message: expect.any(String) });
    }
    const big = await post(
      JSON.stringify({
        requests: [{ type: "execute", stmt: { sql: `SELECT '${"x".repeat(11 * 1024 * 1024)}'` } }],
      }),
    );
    expect(big.status).toBe(413);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);

    const db = connect("node");
    expect((await db.execute("SELECT 1 AS one")).rows[0]?.one).toBe(1n);
  });

  it("expires an idle stream and rolls back its transaction", async () => {
    const db = connect("node");
    await db.execute("CREATE TABLE e (x)");
    const first = await post(
      JSON.stringify({
        requests: [
          { type: "execute", stmt: { sql: "BEGIN" } },
          { type: "execute", stmt: { sql: "INSERT INTO e VALUES (1)" } },
        ],
      }),
    );
    const { baton } = (await first.json()) as { baton: string };
    expect(baton).toMatch(/^[\w-]{20,}$/);
    await new Promise((r) => setTimeout(r, 1300));
    const late = await post(
      JSON.stringify({ baton, requests: [{ type: "execute", stmt: { sql: "COMMIT" } }] }),
    );
    expect(late.status).toBe(400);
    expect((await db.execute("SELECT count(*) AS n FROM e")).rows[0]?.n).toBe(0n);
  });

  it("rotates the baton on every response", async () => {
    const one = (await (
      await post(JSON.stringify({ requests: [{ type: "get_autocommit" }] }))
    ).json()) as { baton: string; results: unknown[] };
    expect(one.results[0]).toEqual({
      type: "ok",
      response: { type: "get_autocommit", is_autocommit: true },
    });
    const two = (await (
      await post(JSON.stringify({ baton: one.baton, requests: [{ type: "get_autocommit" }] }))
    ).json()) as { baton: string };
    expect(two.baton).not.toBe(one.baton);
    const reuse = await post(JSON.stringify({ baton: one.baton, requests: [] }));
    expect(reuse.status).toBe(400);
  });
});

describe("auth token", () => {
  it("is required when configured", async () => {
    await start({ authToken: "s3cret-token" });
    const anonymous = connect("node");
    await expect(anonymous.execute("SELECT 1")).rejects.toThrow();
    const wrong = connect("web", { authToken: "wrong-token!" });
    await expect(wrong.execute("SELECT 1")).rejects.toThrow();
    const right = connect("node", { authToken: "s3cret-token" });
    expect((await right.execute("SELECT 2 AS two")).rows[0]?.two).toBe(2n);
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
      const count = async () => (await replica.execute("SELECT count(*) AS n FROM p")).rows[0]?.n;
      expect(await count()).toBe(1n);

      await primary.execute("INSERT INTO p VALUES (2)");
      const wroteAt = Date.now();
      expect(await count()).toBe(1n);
      while ((await count()) !== 2n) {
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
