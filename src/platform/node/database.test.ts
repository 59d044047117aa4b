import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type NodeDatabase, openNodeDatabase } from "./database";
import { busyTimeoutMs } from "./embedded-reader";

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
    expect(Number(await pragma(db, "busy_timeout"))).toBe(busyTimeoutMs);
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
});
