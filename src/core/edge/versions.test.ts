import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bumpVersion, VersionMemo } from "./versions";

let dir: string;
let db: Client;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "nb-versions-"));
  db = createClient({ url: `file:${join(dir, "test.db")}` });
  // The shape migrations/0001_collections.sql gives the table.
  await db.execute(
    "CREATE TABLE nb_versions (scope TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, updated_at INTEGER NOT NULL)",
  );
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

async function bump(scope: string, now = 0): Promise<number> {
  const rs = await db.execute(bumpVersion(scope, now));
  return Number(rs.rows[0]!.version);
}

describe("bumpVersion", () => {
  it("starts a scope at 1 and increments it on every write, returning the new version", async () => {
    expect(await bump("posts", 10)).toBe(1);
    expect(await bump("posts", 20)).toBe(2);
    expect(await bump("posts", 30)).toBe(3);
    const rs = await db.execute(
      "SELECT version, updated_at FROM nb_versions WHERE scope = 'posts'",
    );
    expect(rs.rows[0]).toMatchObject({ version: 3, updated_at: 30 });
  });

  it("keeps scopes independent", async () => {
    await bump("posts");
    await bump("posts");
    expect(await bump("comments")).toBe(1);
    expect(await bump("posts:pst_a")).toBe(1);
    expect(await bump("posts")).toBe(3);
  });

  it("runs in the same batch as the data change it versions", async () => {
    await db.execute("CREATE TABLE items (id TEXT PRIMARY KEY)");
    const results = await db.batch(
      [{ sql: "INSERT INTO items (id) VALUES (?)", args: ["a"] }, bumpVersion("items", 5)],
      "write",
    );
    expect(Number(results[1]!.rows[0]!.version)).toBe(1);
    // A failing batch rolls the bump back with the data.
    await expect(
      db.batch(
        [bumpVersion("items", 6), { sql: "INSERT INTO items (id) VALUES (?)", args: ["a"] }],
        "write",
      ),
    ).rejects.toThrow();
    const rs = await db.execute("SELECT version FROM nb_versions WHERE scope = 'items'");
    expect(rs.rows[0]!.version).toBe(1);
  });
});

describe("VersionMemo", () => {
  it("reads 0 for a scope never written", async () => {
    const memo = new VersionMemo(1000, manualClock().now);
    expect(await memo.get(db, "posts")).toBe(0);
  });

  it("reuses a version within memoMs and reads again after", async () => {
    const clock = manualClock();
    const memo = new VersionMemo(1000, clock.now);
    await bump("posts");
    expect(await memo.get(db, "posts")).toBe(1);
    await bump("posts"); // another isolate writes
    clock.advance(999);
    expect(await memo.get(db, "posts")).toBe(1);
    clock.advance(1);
    expect(await memo.get(db, "posts")).toBe(2);
    // The fresh read starts a new memo window.
    await bump("posts");
    clock.advance(500);
    expect(await memo.get(db, "posts")).toBe(2);
  });

  it("peeks only at a version get would return without a read", async () => {
    const clock = manualClock();
    const memo = new VersionMemo(1000, clock.now);
    expect(memo.peek("posts")).toBeUndefined();
    await bump("posts");
    expect(await memo.get(db, "posts")).toBe(1);
    expect(memo.peek("posts")).toBe(1);
    clock.advance(1000);
    // Past memoMs get would read again: peek has nothing to offer.
    expect(memo.peek("posts")).toBeUndefined();
    memo.learn("posts", 3);
    expect(memo.peek("posts")).toBe(3);
  });

  it("memoises scopes separately", async () => {
    const clock = manualClock();
    const memo = new VersionMemo(1000, clock.now);
    expect(await memo.get(db, "posts")).toBe(0);
    await bump("comments");
    await bump("posts");
    // posts is memoised at 0; comments was never read, so it comes from the database.
    expect(await memo.get(db, "comments")).toBe(1);
    expect(await memo.get(db, "posts")).toBe(0);
  });

  it("bypasses the memo when asked for a fresh version", async () => {
    const memo = new VersionMemo(60_000, manualClock().now);
    expect(await memo.get(db, "posts")).toBe(0);
    await bump("posts");
    expect(await memo.get(db, "posts")).toBe(0);
    expect(await memo.get(db, "posts", { fresh: true })).toBe(1);
    // ...and remembers what it read.
    await bump("posts");
    expect(await memo.get(db, "posts")).toBe(1);
  });

  it("with memoMs 0 always reads the database", async () => {
    const memo = new VersionMemo(0, manualClock().now);
    expect(await memo.get(db, "posts")).toBe(0);
    await bump("posts");
    expect(await memo.get(db, "posts")).toBe(1);
  });

  it("learns a version this isolate produced, without a read", async () => {
    const clock = manualClock();
    const memo = new VersionMemo(1000, clock.now);
    expect(await memo.get(db, "posts")).toBe(0);
    clock.advance(600);
    memo.learn("posts", await bump("posts")); // this isolate writes: version 1
    await bump("posts"); // another isolate writes: version 2
    expect(await memo.get(db, "posts")).toBe(1);
    // Learning starts a memo window of its own (the read's window would have ended at 1000).
    clock.advance(999);
    expect(await memo.get(db, "posts")).toBe(1);
    clock.advance(1);
    expect(await memo.get(db, "posts")).toBe(2);
  });

  it("never moves a memoised version backwards", async () => {
    const clock = manualClock();
    const memo = new VersionMemo(1000, clock.now);
    memo.learn("posts", 5);
    memo.learn("posts", 3);
    expect(await memo.get(db, "posts")).toBe(5);
    memo.learn("posts", 6);
    expect(await memo.get(db, "posts")).toBe(6);
  });
});
