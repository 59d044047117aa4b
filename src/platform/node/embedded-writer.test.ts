import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "libsql";
import { afterEach, describe, expect, it } from "vitest";
import { type NodeDatabase, openNodeDatabase } from "./database";

const opened: NodeDatabase[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

async function open() {
  const path = join(mkdtempSync(join(tmpdir(), "nearbase-writer-")), "data.db");
  let waits = 0;
  const db = await openNodeDatabase({ url: `file:${path}`, onLockWait: () => waits++ });
  opened.push(db);
  await db.client.execute("CREATE TABLE t (n INTEGER)");
  return { db, path, waits: () => waits };
}

describe("embedded writer while another process holds the write lock", () => {
  it("writes wait off the event loop, keep their order, and land once the lock is released", async () => {
    const { db, path, waits } = await open();
    const other = new Database(path);
    other.exec("BEGIN IMMEDIATE");
    other.exec("INSERT INTO t VALUES (0)");
    const settled: number[] = [];
    const writes = [1, 2, 3].map((n) =>
      (n === 2
        ? db.client.batch(
            [`INSERT INTO t VALUES (${n})`, `INSERT INTO t VALUES (${n * 10})`],
            "write",
          )
        : db.client.execute({ sql: "INSERT INTO t VALUES (?)", args: [n] })
      ).then(() => settled.push(n)),
    );
    // The first write found the lock taken; the event loop still turns while they wait.
    expect(waits()).toBe(1);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toEqual([]);
    other.exec("COMMIT");
    other.close();
    await Promise.all(writes);
    expect(settled).toEqual([1, 2, 3]);
    const rows = await db.client.execute("SELECT n FROM t ORDER BY rowid");
    expect(rows.rows.map((r) => Number(r.n))).toEqual([0, 1, 2, 20, 3]);
  });

  it("past the busy timeout the write fails with SQLITE_BUSY and nothing of it is applied", async () => {
    const { db, path } = await open();
    const other = new Database(path);
    other.exec("BEGIN IMMEDIATE");
    try {
      await expect(
        db.client.batch(["INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)"], "write"),
      ).rejects.toMatchObject({ code: expect.stringMatching(/^SQLITE_BUSY/) });
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    expect((await db.client.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(0);
    await db.client.execute("INSERT INTO t VALUES (3)");
    expect((await db.client.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(1);
  }, 30_000);

  it("a write after a lock wait that timed out is committed, not held behind the failed one", async () => {
    const { db, path } = await open();
    const other = new Database(path);
    other.exec("BEGIN IMMEDIATE");
    try {
      await expect(db.client.execute("INSERT INTO t VALUES (1)")).rejects.toMatchObject({
        code: expect.stringMatching(/^SQLITE_BUSY/),
      });
    } finally {
      other.exec("ROLLBACK");
    }
    const next = await db.client.execute("CREATE TABLE u (n INTEGER)");
    expect(next.rowsAffected).toBe(0);
    await db.client.execute("INSERT INTO u VALUES (2)");
    // Another connection sees it: committed, not pending on the writer's connection (where a
    // statement that failed with SQLITE_BUSY stayed active and kept later writes uncommitted).
    const rows = other
      .prepare("SELECT (SELECT count(*) FROM t) AS t, (SELECT count(*) FROM u) AS u")
      .get() as { t: number; u: number };
    other.close();
    expect([rows.t, rows.u]).toEqual([0, 1]);
  }, 30_000);
});
