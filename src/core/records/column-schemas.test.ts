import { getTableColumns, sql } from "drizzle-orm";
import { blob, integer, numeric, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import type { ApiError } from "../kernel/errors";
import { jsonSchema } from "../kernel/problem-docs";
import { validate } from "../kernel/validate";
import { vector } from "../search/column";
import { tableShape } from "./column-schemas";
import { defineCollection, recordColumns } from "./define";
import { buildModels } from "./model";

/**
 * The write schemas built from a collection's columns (column-schemas.ts) accept and refuse what
 * drizzle-zod's did, with the same problems: a client sees the same VALIDATION_FAILED answers,
 * field paths and messages as before drizzle-zod was replaced (checked value by value against
 * drizzle-zod 0.8.3 over every column type when it was replaced).
 */
const things = sqliteTable("things", {
  ...recordColumns(),
  title: text({ length: 5 }).notNull(),
  note: text(),
  status: text({ enum: ["draft", "published"] })
    .notNull()
    .default("draft"),
  tags: text({ mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  meta: text({ mode: "json" }),
  count: integer(),
  done: integer({ mode: "boolean" }).notNull(),
  due: integer({ mode: "timestamp" }),
  ratio: real().notNull().default(1),
  amount: numeric(),
  big: blob({ mode: "bigint" }),
  embedding: vector(3),
  owner: text().notNull(),
  secret: text(),
  parent: text(),
  upper: text().generatedAlwaysAs(sql`upper(title)`),
});
const model = buildModels([
  defineCollection(things, {
    idPrefix: "thg",
    owner: "owner",
    readonly: ["secret"],
    immutable: ["parent"],
    validate: { note: z.string().check(z.minLength(2)) },
  }),
]).get("things")!;

/** The field problems a create (or update) body gets, [path, message] each; [] when valid. */
function problems(body: unknown, op: "create" | "update" = "create"): [string, string][] {
  try {
    validate(op === "create" ? model.createSchema : model.updateSchema, body);
    return [];
  } catch (err) {
    expect((err as ApiError).code).toBe("VALIDATION_FAILED");
    return (err as ApiError).errors!.map((e) => [e.path, e.message]);
  }
}

const valid = { title: "hello", done: false };

describe("collection write schemas from drizzle columns", () => {
  it("take the fields clients may write, required where the column needs a value", () => {
    expect(Object.keys(model.createSchema.shape)).toEqual([
      "title",
      "note",
      "status",
      "tags",
      "meta",
      "count",
      "done",
      "due",
      "ratio",
      "amount",
      "big",
      "embedding",
      "parent",
    ]);
    expect(Object.keys(model.updateSchema.shape)).toEqual(
      Object.keys(model.createSchema.shape).filter((k) => k !== "parent"),
    );
    expect(problems(valid)).toEqual([]);
    expect(problems({})).toEqual([
      ["/title", "Invalid input: expected string, received undefined"],
      ["/done", "Invalid input: expected boolean, received undefined"],
    ]);
    expect(problems({}, "update")).toEqual([]);
    // Nullable columns take null, json any JSON value, numeric its text: all kept as given.
    const full = {
      ...valid,
      note: null,
      meta: { a: [1, "x", null] },
      count: null,
      due: null,
      amount: "1.50",
      big: null,
      embedding: null,
      parent: "thg_1",
    };
    expect(validate(model.createSchema, structuredClone(full))).toEqual(full);
  });

  it("refuse unknown, server-managed, owner, read-only and generated fields", () => {
    const refused = { id: "x", created: "x", rev: 2, owner: "u", secret: "s", upper: "X", nope: 1 };
    const expected = Object.keys(refused).map((k) => [`/${k}`, "unknown or read-only field"]);
    expect(problems({ ...valid, ...refused })).toEqual(expected);
    expect(problems({ parent: "thg_2", ...refused }, "update")).toEqual([
      ["/parent", "unknown or read-only field"],
      ...expected,
    ]);
  });

  it("refuse wrong types, null into required columns and values out of the column's range", () => {
    expect(
      problems({
        title: "too long",
        status: "gone",
        tags: 1n,
        count: 1.5,
        done: null,
        due: "2026-01-01",
        ratio: 2 ** 47,
        amount: 1,
        big: 2n ** 63n,
      }),
    ).toEqual([
      ["/title", "Too big: expected string to have <=5 characters"],
      ["/status", 'Invalid option: expected one of "draft"|"published"'],
      ["/tags", "Invalid input"],
      ["/count", "Invalid input: expected int, received number"],
      ["/done", "Invalid input: expected boolean, received null"],
      ["/due", "Invalid input: expected date, received string"],
      ["/ratio", "Too big: expected number to be <=140737488355327"],
      ["/amount", "Invalid input: expected string, received number"],
      ["/big", "Too big: expected bigint to be <=9223372036854775807"],
    ]);
    expect(problems({ ...valid, count: 2 ** 53, ratio: -(2 ** 47) - 1 })).toEqual([
      ["/count", "Too big: expected int to be <=9007199254740991"],
      ["/count", "Too big: expected number to be <=9007199254740991"],
      ["/ratio", "Too small: expected number to be >=-140737488355328"],
    ]);
    expect(problems({ title: null, status: null }, "update")).toEqual([
      ["/title", "Invalid input: expected string, received null"],
      ["/status", 'Invalid option: expected one of "draft"|"published"'],
    ]);
  });

  it("apply a collection's validate schema, still nullable where the column is", () => {
    expect(problems({ ...valid, note: "x" })).toEqual([
      ["/note", "Too small: expected string to have >=2 characters"],
    ]);
    expect(problems({ ...valid, note: null })).toEqual([]);
  });

  it("document the same JSON Schema drizzle-zod's did (the OpenAPI document's write bodies)", () => {
    const create = jsonSchema(model.createSchema, "input") as {
      properties: Record<string, unknown>;
      required: string[];
      additionalProperties: boolean;
    };
    expect(create.required).toEqual(["title", "done"]);
    expect(create.additionalProperties).toBe(false);
    expect(create.properties).toEqual({
      title: { type: "string", maxLength: 5 },
      note: { anyOf: [{ type: "string", minLength: 2 }, { type: "null" }] },
      status: { type: "string", enum: ["draft", "published"] },
      tags: {
        anyOf: [
          { type: ["string", "number", "boolean", "null"] },
          { type: "object", propertyNames: { type: "string" }, additionalProperties: {} },
          { type: "array", items: {} },
        ],
      },
      meta: expect.anything(),
      count: {
        anyOf: [
          { type: "integer", minimum: -9007199254740991, maximum: 9007199254740991 },
          { type: "null" },
        ],
      },
      done: { type: "boolean" },
      due: { anyOf: [{}, { type: "null" }] },
      ratio: { type: "number", minimum: -140737488355328, maximum: 140737488355327 },
      amount: { type: ["string", "null"] },
      big: { anyOf: [{}, { type: "null" }] },
      embedding: { anyOf: [{}, { type: "null" }] },
      parent: { type: ["string", "null"] },
    });
    const select = jsonSchema(z.object(tableShape(things, "select")), "output") as {
      required: string[];
    };
    expect(select.required).toEqual(Object.keys(getTableColumns(things)));
  });
});
