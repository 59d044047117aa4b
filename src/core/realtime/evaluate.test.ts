import { createClient } from "@libsql/client";
import { sql } from "drizzle-orm";
import { integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileFilter } from "../query/compile";
import { parseFilter } from "../query/parser";
import { defineCollection, recordColumns } from "../records/define";
import { buildModels, compileContext } from "../records/model";
import { fieldsOf, fromRow, selectList, statement } from "../records/sql";
import { evaluate, inMemory } from "./evaluate";

const things = sqliteTable("rt_things", {
  ...recordColumns(),
  title: text(),
  status: text(),
  score: integer(),
  ratio: real(),
  done: integer({ mode: "boolean" }),
  tags: text({ mode: "json" }).$type<unknown[]>(),
  owner: text(),
  secret: text(),
});
const models = buildModels([
  defineCollection(things, { idPrefix: "thg", hidden: ["secret"], rules: { view: "" } }),
]);
const model = models.get("rt_things")!;

const rows: Record<string, unknown>[] = [
  {
    title: "Hello World",
    status: "published",
    score: 5,
    ratio: 0.5,
    done: true,
    tags: ["a", "b"],
    owner: "usr_1",
  },
  { title: "hello", status: "draft", score: 10, ratio: 1.5, done: false, tags: [], owner: "usr_2" },
  { title: null, status: null, score: null, ratio: null, done: null, tags: null, owner: null },
  {
    title: "100%_off",
    status: "5",
    score: -3,
    ratio: 2,
    done: true,
    tags: ["a", 1, true, null],
    owner: "",
  },
  {
    title: "Ünïcode ÄB",
    status: "published",
    score: 0,
    ratio: -0.25,
    done: false,
    tags: ["x"],
    owner: "usr_1",
  },
  {
    title: "10",
    status: "draft",
    score: 7,
    ratio: 10,
    done: true,
    tags: [1, 2, 3],
    owner: "usr_3",
  },
];

const filters = [
  "status = 'published'",
  "status != 'published'",
  "status = null",
  "status != null",
  "title ~ 'hello'",
  "title !~ 'hello'",
  "title ~ 'HELLO%'",
  "title ~ '100%'",
  "title ~ '_off'",
  "title ~ 'ä'",
  "score > 4",
  "score >= 5 && score <= 7",
  "score < '6'",
  "status = 5",
  "status = '5'",
  "title ~ 10",
  "ratio = 2",
  "ratio ~ '2.0'",
  "score ~ '5'",
  "tags ?= 1.5",
  "title > 9",
  "ratio > 1 || done = true",
  "done = false",
  "done != true",
  "tags ?= 'a'",
  "tags = 'a'",
  "tags ?= 1",
  "tags != 'a'",
  "tags ?!= 'a'",
  "tags:length = 0",
  "tags:length > 1",
  "tags ?~ 'x'",
  "owner = @request.auth.id",
  "owner = @request.auth.id || status = 'published'",
  "@request.auth.id != '' && owner != @request.auth.id",
  "created < @now",
  "(status = 'draft' || score = null) && !(title = 'x') = false",
];

describe("in-memory filter evaluation agrees with SQLite", () => {
  const db = createClient({ url: ":memory:" });
  const ids: string[] = [];
  beforeAll(async () => {
    await db.execute(
      "CREATE TABLE rt_things (id TEXT PRIMARY KEY, created TEXT NOT NULL, updated TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 1, title TEXT, status TEXT, score INTEGER, ratio REAL, done INTEGER, tags TEXT, owner TEXT, secret TEXT)",
    );
    for (const [i, row] of rows.entries()) {
      const id = `thg_${i}`;
      ids.push(id);
      const insert = statement(
        sql`INSERT INTO rt_things (id, created, updated, title, status, score, ratio, done, tags, owner) VALUES (${id}, ${"2026-01-01T00:00:00.000Z"}, ${"2026-01-01T00:00:00.000Z"}, ${row.title ?? null}, ${row.status ?? null}, ${row.score ?? null}, ${row.ratio ?? null}, ${row.done === null ? null : row.done ? 1 : 0}, ${row.tags === null ? null : JSON.stringify(row.tags)}, ${row.owner ?? null})`,
      );
      await db.execute(insert);
    }
  });
  afterAll(() => db.close());

  for (const principal of [
    { kind: "anonymous" } as const,
    { kind: "user", id: "usr_1", role: "user" } as const,
  ]) {
    for (const text of filters) {
      it(`${text} (${principal.kind})`, async () => {
        let expr: ReturnType<typeof parseFilter>;
        try {
          expr = parseFilter(text);
        } catch {
          return; // not a filter in the language: nothing to compare
        }
        expect(inMemory(expr, model)).toBe(true);
        const now = new Date("2026-06-01T00:00:00.000Z");
        const cond = compileFilter(expr, compileContext(model, principal, now, true));
        const fields = fieldsOf(model, model.readable);
        const rs = await db.execute(
          statement(sql`SELECT ${selectList(fields)} FROM rt_things WHERE ${cond} ORDER BY id`),
        );
        const bySql = rs.rows.map((r) => String(r.id));
        const all = await db.execute(
          statement(sql`SELECT ${selectList(fields)} FROM rt_things ORDER BY id`),
        );
        const auth =
          principal.kind === "user"
            ? { id: principal.id, role: "user", kind: "user" }
            : { id: "", role: "", kind: "anonymous" };
        const inJs = all.rows
          .map((r) => fromRow(fields, r))
          .filter((record) => evaluate(expr, model, record, { auth, now: now.toISOString() }))
          .map((r) => String(r.id));
        expect(inJs).toEqual(bySql);
      });
    }
  }

  it("sends relation paths and hidden fields to SQL", () => {
    expect(inMemory(parseFilter("secret = 'x'"), model)).toBe(false);
    expect(inMemory(parseFilter("status = 'x' && secret = 'y'"), model)).toBe(false);
  });
});
