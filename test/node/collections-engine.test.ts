import { type Client, createClient } from "@libsql/client";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shareDecision } from "../../src/core/edge/share";
import type { Principal } from "../../src/core/kernel/principal";
import { defineCollection, recordColumns } from "../../src/core/records/define";
import { parseListParams } from "../../src/core/records/list-params";
import { buildModels } from "../../src/core/records/model";
import { listRecords, type RecordContext } from "../../src/core/records/read";
import { createTestApp, type TestApp } from "../harness";

/**
 * Engine behaviour the example app does not exercise on its own: custom collections with
 * boolean/timestamp sort keys, LIKE against another column, cache scopes that follow relations,
 * cascades and create-only fields.
 */
const lists = sqliteTable("lists", {
  ...recordColumns(),
  name: text().notNull(),
});
const tasks = sqliteTable("tasks", {
  ...recordColumns(),
  list: text()
    .notNull()
    .references(() => lists.id, { onDelete: "cascade" }),
  title: text().notNull(),
  pattern: text().notNull().default(""),
  done: integer({ mode: "boolean" }).notNull(),
  due: integer({ mode: "timestamp" }).notNull(),
});
const defs = [
  defineCollection(lists, { idPrefix: "lst", rules: { list: "", view: "name != 'secret'" } }),
  defineCollection(tasks, {
    idPrefix: "tsk",
    relations: { list: "lists" },
    rules: { list: "list.name != 'secret'", view: "" },
  }),
];
const models = buildModels(defs);
const admin: Principal = { kind: "user", id: "usr_admin", role: "admin" };

describe("keyset pagination over boolean and timestamp keys", () => {
  let db: Client;
  beforeAll(async () => {
    db = createClient({ url: ":memory:" });
    await db.batch([
      "CREATE TABLE lists (id text primary key, created text not null, updated text not null, rev integer not null default 1, name text not null)",
      "CREATE TABLE tasks (id text primary key, created text not null, updated text not null, rev integer not null default 1, list text not null, title text not null, pattern text not null default '', done integer not null, due integer not null)",
      "INSERT INTO lists VALUES ('lst_a', 'x', 'x', 1, 'home')",
    ]);
    for (let i = 0; i < 9; i++) {
      await db.execute({
        sql: "INSERT INTO tasks VALUES (?, 'x', 'x', 1, 'lst_a', ?, ?, ?, ?)",
        args: [
          `tsk_${i}`,
          ["a_b", "a%b", "ab", "a\\b"][i % 4]!,
          ["_", "%", "", "\\"][i % 4]!,
          i % 2,
          1_700_000_000 + (i % 3),
        ],
      });
    }
  });
  afterAll(() => db.close());

  const ctx = (): RecordContext => ({
    models,
    principal: admin,
    now: new Date(),
    read: db,
    write: db,
  });
  const page = (query: Record<string, string>) => {
    const model = models.get("tasks")!;
    return listRecords(
      ctx(),
      model,
      parseListParams(model, (n) => query[n]),
    );
  };

  it("walks every record exactly once, in order, when sorting on a boolean and a timestamp", async () => {
    const seen: { id: string; done: boolean; due: Date }[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const result = await page({ sort: "done,-due", limit: "2", cursor });
      seen.push(...(result.items as typeof seen));
      cursor = result.nextCursor;
    }
    expect(seen.map((s) => s.id).sort()).toEqual(Array.from({ length: 9 }, (_, i) => `tsk_${i}`));
    const keys = seen.map((s) => [Number(s.done), -s.due.getTime(), s.id] as const);
    // The id tie-breaker follows the direction of the last key (descending here).
    const sorted = [...keys].sort((a, b) => a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? 1 : -1));
    expect(keys).toEqual(sorted);
    expect(typeof seen[0]!.done).toBe("boolean");
  });

  it("treats another column's value as literal text in ~ (no wildcards smuggled in)", async () => {
    const matched = await page({ filter: "title ~ pattern && pattern != ''", limit: "50" });
    // "_" must only match a literal underscore, "%" a literal percent, "\" a literal backslash.
    expect(new Set(matched.items.map((t) => t.title))).toEqual(new Set(["a_b", "a%b", "a\\b"]));
    const negated = await page({ filter: "title !~ pattern && pattern != ''", limit: "50" });
    expect(negated.items).toEqual([]);
  });
});

describe("shared-cache scopes follow relations", () => {
  const anonymous = { kind: "anonymous" } as const;
  // The pure decision, fed what the middleware reads off a request path and query.
  const decide = (path: string, query: Record<string, string> = {}) => {
    const [, , , collection, , id] = path.split("/");
    return shareDecision(models, { collection: collection!, id, ...query, principal: anonymous });
  };

  it("includes collections a rule, a client filter or an expansion reads", () => {
    expect(decide("/api/collections/tasks/records")?.scopes).toEqual(["c:tasks", "c:lists"]);
    expect(decide("/api/collections/lists/records")?.scopes).toEqual(["c:lists"]);
    expect(decide("/api/collections/tasks/records/tsk_1")?.scopes).toEqual(["c:tasks"]);
    expect(
      [
        ...(decide("/api/collections/tasks/records/tsk_1", { expand: "list" })?.scopes ?? []),
      ].sort(),
    ).toEqual(["c:lists", "c:tasks"]);
    expect(models.get("lists")!.dependents.map((m) => m.name)).toEqual(["tasks"]);
  });

  it("is worked out once per shape and shared, frozen; another caller kind, filter or expansion is another shape", () => {
    const first = decide("/api/collections/tasks/records", { filter: "title ~ 'x'" });
    expect(decide("/api/collections/tasks/records", { filter: "title ~ 'x'" })).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first?.scopes)).toBe(true);
    expect(decide("/api/collections/tasks/records", { filter: "title ~ 'y'" })).not.toBe(first);
    const user: Principal = { kind: "user", id: "usr_1", role: "user" };
    const asUser = shareDecision(models, {
      collection: "tasks",
      filter: "title ~ 'x'",
      principal: user,
    });
    expect(asUser).not.toBe(first);
    expect(asUser?.scopes).toEqual(first?.scopes);
    // A filter is a list's only: on a view it changes nothing, so it is the same shape.
    expect(decide("/api/collections/tasks/records/tsk_1", { filter: "title ~ 'x'" })).toBe(
      decide("/api/collections/tasks/records/tsk_2"),
    );
    expect(decide("/api/collections/nope/records")).toBeUndefined();
  });

  it("includes a relation named in a client filter, and ignores a filter that does not parse", () => {
    const only = buildModels([
      defs[0]!,
      defineCollection(tasks, {
        idPrefix: "tsk",
        relations: { list: "lists" },
        rules: { list: "" },
      }),
    ]);
    const decideOn = (filter: string) =>
      shareDecision(only, { collection: "tasks", filter, principal: anonymous })?.scopes;
    expect(decideOn("title ~ 'x'")).toEqual(["c:tasks"]);
    expect(decideOn("list.name = 'home'")).toEqual(["c:tasks", "c:lists"]);
    expect(decideOn("list.name = (")).toEqual(["c:tasks"]);
  });
});

// Exact version counts need a database with no other writers, so this stays Node-only; the other
// example-app relation tests run in both homes (test/conformance/collections-relations.suite.ts).
describe("relations in the example app", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  async function publish(headers: Record<string, string>) {
    const res = await t.request("/api/collections/posts/records", {
      method: "POST",
      headers,
      json: { title: "relations", status: "published" },
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  it("moves the versions of collections a delete cascades into", async () => {
    const author = await t.signIn();
    const post = await publish(author.headers);
    const version = async (scope: string) =>
      Number(
        (
          await t.client.execute({
            sql: "SELECT version FROM nb_versions WHERE scope = ?",
            args: [scope],
          })
        ).rows[0]?.version ?? 0,
      );
    const before = {
      comments: await version("c:comments"),
      bookmarks: await version("c:bookmarks"),
    };
    const del = await t.request(`/api/collections/posts/records/${post}`, {
      method: "DELETE",
      headers: author.headers,
    });
    expect(del.status).toBe(204);
    expect(await version("c:comments")).toBe(before.comments + 1);
    expect(await version("c:bookmarks")).toBe(before.bookmarks + 1);
  });

  it("lists exactly the fields asked for, in the record's order, whatever the sort reads", async () => {
    const author = await t.signIn();
    const id = await publish(author.headers);
    const view = (await (await t.request(`/api/collections/posts/records/${id}`)).json()) as object;
    const keysOf = async (query: string) => {
      const res = await t.request(`/api/collections/posts/records?limit=3${query}`);
      expect(res.status).toBe(200);
      const { items } = (await res.json()) as { items: object[] };
      expect(items.length).toBeGreaterThan(0);
      return items.map((item) => Object.keys(item));
    };
    // Whole records: the view's fields, in its order (twice: the second from the memo).
    for (let i = 0; i < 2; i++)
      for (const keys of await keysOf("")) expect(keys).toEqual(Object.keys(view));
    // The default sort reads `created`, which is not asked for: it stays out of the answer.
    for (const keys of await keysOf("&fields=title,id")) expect(keys).toEqual(["title", "id"]);
    for (const keys of await keysOf("&fields=id&sort=title")) expect(keys).toEqual(["id"]);
  });
});

describe("privacy options are enforced when the collection is defined", () => {
  it("refuses declarations that cannot hold, naming the collection and the option", () => {
    const define = (options: Record<string, unknown>) => () =>
      defineCollection(lists, { idPrefix: "lst", ...options } as never);
    // personal data is someone's: without an owner there is nobody to export it to or erase it for.
    expect(define({ personal: ["name"] })).toThrow(
      /Collection lists: personal fields need an owner/,
    );
    expect(define({ personal: ["nope"], owner: "name" })).toThrow(
      /personal names unknown field nope/,
    );
    expect(define({ encrypted: ["id"] })).toThrow(/Collection lists: id cannot be encrypted/);
    expect(define({ retention: { days: 0 } })).toThrow(/Collection lists: retention\.days/);
    expect(define({ retention: { days: 30, field: "name", action: "anonymize" } })).toThrow(
      /retention action anonymize needs erasure/,
    );
    expect(define({ erasure: "delete" })).toThrow(/erasure policy needs an owner/);
  });

  it("accepts the ones that hold, and a readable encrypted field turns the shared cache off", () => {
    const ok = defineCollection(lists, {
      idPrefix: "lst",
      owner: "name",
      encrypted: [],
      retention: { days: 30 },
    });
    expect(ok.options.retention).toEqual({ days: 30 });
    const withNote = sqliteTable("notes", {
      ...recordColumns(),
      owner: text().notNull(),
      note: text(),
    });
    const sealed = defineCollection(withNote, {
      idPrefix: "nte",
      owner: "owner",
      personal: ["note"],
      encrypted: ["note"],
    });
    expect(sealed.options.cache).toBe(false);
  });
});

describe("relations from foreign keys", () => {
  it("derives a relation from a drizzle foreign key to another collection's id", () => {
    const derived = buildModels([
      defineCollection(lists, { idPrefix: "lst" }),
      defineCollection(tasks, { idPrefix: "tsk" }),
    ]);
    expect(derived.get("tasks")!.relations.get("list")?.name).toBe("lists");
    expect(derived.get("lists")!.dependents.map((m) => m.name)).toEqual(["tasks"]);
  });

  it("refuses a declared relation that contradicts the foreign key", () => {
    expect(() =>
      buildModels([
        defineCollection(lists, { idPrefix: "lst" }),
        defineCollection(tasks, { idPrefix: "tsk", relations: { list: "tasks" } }),
      ]),
    ).toThrow(/relation list is declared to tasks but its foreign key points at lists/);
  });
});
