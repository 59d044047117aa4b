import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LibsqlBatchError, LibsqlError } from "@libsql/client";
import { afterEach, describe, expect, it } from "vitest";
import { type NodeDatabase, openNodeDatabase } from "./database";
import { busyTimeoutMs } from "./embedded-reader";
import { writerBusySliceMs } from "./embedded-writer";

const opened: NodeDatabase[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

async function open(readBudgetMs?: number) {
  const dir = mkdtempSync(join(tmpdir(), "nearbase-db-"));
  const db = await openNodeDatabase({ url: `file:${join(dir, "data.db")}`, readBudgetMs });
  opened.push(db);
  return db;
}

const pragma = async (db: NodeDatabase, name: string) =>
  (await db.client.execute(`PRAGMA ${name}`)).rows[0]?.[0];

describe("Node home database (embedded file)", () => {
  it("runs in WAL mode with synchronous=NORMAL and a busy timeout, on every write", async () => {
    const db = await open();
    expect(String(await pragma(db, "journal_mode")).toLowerCase()).toBe("wal");
    // Writes that run side by side must all land on the connection the pragmas were set on.
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        db.client.batch(
          [`CREATE TABLE IF NOT EXISTS t${i} (x)`, `INSERT INTO t${i} VALUES (${i})`],
          "write",
        ),
      ),
    );
    expect(Number(await pragma(db, "synchronous"))).toBe(1);
    // The writer waits for another process's lock in short slices, the rest off the event loop.
    expect(Number(await pragma(db, "busy_timeout"))).toBe(writerBusySliceMs);
    expect(Number((await db.replica.execute("PRAGMA busy_timeout")).rows[0]?.[0])).toBe(
      busyTimeoutMs,
    );
  });

  it("reads rows by column name and by index, as @libsql/client does", async () => {
    const db = await open();
    await db.client.batch(
      [
        "CREATE TABLE people (id TEXT PRIMARY KEY, name TEXT, age INTEGER, photo BLOB)",
        "INSERT INTO people VALUES ('p1', 'Ada', 36, x'0102'), ('p2', 'Grace', NULL, NULL)",
      ],
      "write",
    );
    const rs = await db.replica.execute({
      sql: "SELECT id, name, age, photo FROM people WHERE id >= ? ORDER BY id",
      args: ["p1"],
    });
    expect(rs.columns).toEqual(["id", "name", "age", "photo"]);
    const [ada, grace] = rs.rows;
    expect(ada?.name).toBe("Ada");
    expect(ada?.[1]).toBe("Ada");
    expect(ada?.age).toBe(36);
    expect(typeof ada?.age).toBe("number");
    expect(new Uint8Array(ada?.photo as ArrayBuffer)).toEqual(new Uint8Array([1, 2]));
    expect(ada?.length).toBe(4);
    expect(grace?.[2]).toBeNull();
    // Only the names are enumerable: spreading or serialising a row gives the named values.
    expect(Object.keys(grace ?? {})).toEqual(["id", "name", "age", "photo"]);
    expect(JSON.parse(JSON.stringify(grace))).toEqual({
      id: "p2",
      name: "Grace",
      age: null,
      photo: null,
    });
    // The same statement again (prepared once) gives the same shape.
    const again = await db.replica.execute({
      sql: "SELECT id, name, age, photo FROM people WHERE id >= ? ORDER BY id",
      args: ["p2"],
    });
    expect({ ...again.rows[0] }).toEqual({ id: "p2", name: "Grace", age: null, photo: null });
  });

  it("keeps the first of duplicate column names and never lets a name shadow an index", async () => {
    const db = await open();
    const rs = await db.replica.execute('SELECT 1 AS a, 2 AS a, 3 AS "0", 4 AS "__proto__"');
    const row = rs.rows[0]!;
    expect(row.a).toBe(1);
    expect(row[1]).toBe(2);
    expect(row[0]).toBe(1);
    expect(row[2]).toBe(3);
    expect(row[3]).toBe(4);
    expect(Object.getPrototypeOf(Object.getPrototypeOf(row))).toBe(Object.prototype);
  });

  it("refuses writes on the read connections", async () => {
    const db = await open();
    await db.client.execute("CREATE TABLE t (x)");
    await expect(db.replica.execute("INSERT INTO t VALUES (1)")).rejects.toThrow();
    await expect(db.replica.batch(["INSERT INTO t VALUES (1)"], "write")).rejects.toThrow(
      /not available/,
    );
  });

  it("interrupts a read that outlives its budget", async () => {
    const db = await open(50);
    await expect(
      db.replica.execute(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
      ),
    ).rejects.toMatchObject({ code: "SQLITE_INTERRUPT" });
    // The connection is usable afterwards.
    expect((await db.replica.execute("SELECT 7 AS n")).rows[0]?.n).toBe(7);
  });

  it("gives each read its own budget: one that starts after another finished is timed from its start", async () => {
    const endless =
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
    const short = await open(50);
    // A slow read after a quick one is still interrupted (the watchdog arms again for it).
    expect((await short.replica.execute("SELECT 1 AS n")).rows[0]?.n).toBe(1);
    await new Promise((r) => setTimeout(r, 30));
    await expect(short.replica.execute(endless)).rejects.toMatchObject({
      code: "SQLITE_INTERRUPT",
    });
    // A read still running at an EARLIER read's deadline is not cut there: a 3 s budget, a quick
    // read, then 2.7 s later a read of about a second that runs across the first deadline.
    const long = await open(3000);
    expect((await long.replica.execute("SELECT 1 AS n")).rows[0]?.n).toBe(1);
    await new Promise((r) => setTimeout(r, 2700));
    const counted = await long.replica.execute(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT count(*) AS n FROM c",
    );
    expect(counted.rows[0]?.n).toBe(2_000_000);
  }, 20_000);

  it("writes through the primary as @libsql/client does: counts, row ids, RETURNING rows", async () => {
    const db = await open();
    await db.client.execute(
      "CREATE TABLE scratch_rows (n INTEGER PRIMARY KEY, body TEXT NOT NULL)",
    );
    const insert = "INSERT INTO scratch_rows (body) VALUES (?)";
    const first = await db.client.execute({ sql: insert, args: ["a"] });
    const second = await db.client.execute({ sql: insert, args: ["b"] });
    expect([first.rowsAffected, first.lastInsertRowid]).toEqual([1, 1n]);
    expect([second.rowsAffected, second.lastInsertRowid]).toEqual([1, 2n]);
    const updated = await db.client.execute({
      sql: "UPDATE scratch_rows SET body = upper(body) WHERE n <= :max",
      args: { ":max": 2 },
    });
    expect(updated.rowsAffected).toBe(2);
    // The same statement text again, other arguments: prepared once, bound anew.
    const returned = await db.client.execute({
      sql: "INSERT INTO scratch_rows (body) VALUES (?) RETURNING n, body",
      args: ["c"],
    });
    const again = await db.client.execute({
      sql: "INSERT INTO scratch_rows (body) VALUES (?) RETURNING n, body",
      args: ["d"],
    });
    expect(returned.columns).toEqual(["n", "body"]);
    expect({ ...returned.rows[0] }).toEqual({ n: 3, body: "c" });
    expect(again.rows[0]?.[1]).toBe("d");
    const all = await db.client.execute("SELECT body FROM scratch_rows ORDER BY n");
    expect(all.rows.map((r) => r.body)).toEqual(["A", "B", "c", "d"]);
  });

  it("reports SQLite errors with @libsql/client's codes, and a failed batch leaves nothing", async () => {
    const db = await open();
    await db.client.execute("CREATE TABLE tags (name TEXT PRIMARY KEY)");
    await db.client.execute({ sql: "INSERT INTO tags VALUES (?)", args: ["x"] });
    const duplicate = await db.client
      .execute({ sql: "INSERT INTO tags VALUES (?)", args: ["x"] })
      .catch((e: unknown) => e);
    expect(duplicate).toBeInstanceOf(LibsqlError);
    expect(duplicate).toMatchObject({
      code: "SQLITE_CONSTRAINT",
      extendedCode: "SQLITE_CONSTRAINT_PRIMARYKEY",
    });
    const failed = await db.client
      .batch(
        [
          { sql: "INSERT INTO tags VALUES (?)", args: ["y"] },
          { sql: "INSERT INTO tags VALUES (?)", args: ["x"] },
        ],
        "write",
      )
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(LibsqlBatchError);
    expect(failed).toMatchObject({ statementIndex: 1, code: "SQLITE_CONSTRAINT" });
    const names = await db.client.execute("SELECT name FROM tags ORDER BY name");
    expect(names.rows.map((r) => r.name)).toEqual(["x"]);
    // The connection is out of the failed transaction: the next batch commits.
    await db.client.batch([{ sql: "INSERT INTO tags VALUES (?)", args: ["z"] }], "write");
    expect((await db.client.execute("SELECT count(*) AS n FROM tags")).rows[0]?.n).toBe(2);
    await expect(db.client.execute("SELECT nope FROM tags")).rejects.toMatchObject({
      code: "SQLITE_ERROR",
    });
  });

  it("sees a changed schema in statements it has prepared before", async () => {
    const db = await open();
    await db.client.execute("CREATE TABLE t (a)");
    await db.client.execute("INSERT INTO t VALUES (1)");
    expect((await db.client.execute("SELECT * FROM t")).columns).toEqual(["a"]);
    await db.client.execute("ALTER TABLE t ADD COLUMN b DEFAULT 2");
    const rs = await db.client.execute("SELECT * FROM t");
    expect(rs.columns).toEqual(["a", "b"]);
    expect({ ...rs.rows[0] }).toEqual({ a: 1, b: 2 });
  });

  it("refuses integers past 2^53 as numbers, keeps interactive transactions, and closes", async () => {
    const db = await open();
    await expect(db.client.execute("SELECT 9007199254740993 AS big")).rejects.toThrow(RangeError);
    await db.client.execute("CREATE TABLE t (x)");
    const tx = await db.client.transaction("write");
    await tx.execute("INSERT INTO t VALUES (1)");
    await tx.rollback();
    const tx2 = await db.client.transaction("write");
    await tx2.execute("INSERT INTO t VALUES (2)");
    await tx2.commit();
    tx2.close();
    expect((await db.client.execute("SELECT x FROM t")).rows.map((r) => r.x)).toEqual([2]);
    db.client.close();
    expect(db.client.closed).toBe(true);
    await expect(db.client.execute("SELECT 1")).rejects.toMatchObject({ code: "CLIENT_CLOSED" });
  });
});
