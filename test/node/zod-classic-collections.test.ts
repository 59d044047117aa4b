import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import { z as classic } from "zod";
import * as z from "zod/mini";
import type { ApiError } from "../../src/core/kernel/errors";
import { jsonSchema } from "../../src/core/kernel/problem-docs";
import { validate } from "../../src/core/kernel/validate";
import { defineCollection, recordColumns } from "../../src/core/records/define";
import { buildModels } from "../../src/core/records/model";

/**
 * Nearbase's own code uses zod/mini, but a collection's `validate` takes any zod 4 schema: an app
 * written with classic zod (`z.array(z.string().min(1)).max(10)`) keeps validating the same,
 * with the same problems and the same OpenAPI schema as the zod/mini equivalent.
 */
const columns = () => ({
  ...recordColumns(),
  tags: text({ mode: "json" }).$type<string[]>().notNull(),
  label: text(),
});
const models = buildModels([
  defineCollection(sqliteTable("notes_classic", columns()), {
    idPrefix: "ncl",
    validate: {
      tags: classic.array(classic.string().min(1).max(3)).max(2),
      label: classic.string().regex(/^[a-z]+$/, "lowercase letters only"),
    },
  }),
  defineCollection(sqliteTable("notes_mini", columns()), {
    idPrefix: "nmi",
    validate: {
      tags: z.array(z.string().check(z.minLength(1), z.maxLength(3))).check(z.maxLength(2)),
      label: z.string().check(z.regex(/^[a-z]+$/, "lowercase letters only")),
    },
  }),
]);
const withClassic = models.get("notes_classic")!;
const withMini = models.get("notes_mini")!;

function problems(schema: z.core.$ZodType, body: unknown) {
  try {
    return validate(schema, body);
  } catch (err) {
    return { code: (err as ApiError).code, errors: (err as ApiError).errors };
  }
}

describe("a collection validating with classic zod", () => {
  it("accepts and refuses what its zod/mini equivalent does, with the same problems", () => {
    const bodies = [
      { tags: ["a", "b"], label: "ok" },
      { tags: ["a"], label: null },
      { tags: [] },
      { tags: ["", "abcd", "x"], label: "Not OK" },
      { tags: ["", "abcd"] },
      { tags: "a" },
      { tags: null },
      { label: "x" },
      { tags: ["a"], extra: true },
    ];
    for (const body of bodies) {
      expect(problems(withClassic.createSchema, body)).toEqual(
        problems(withMini.createSchema, body),
      );
      expect(problems(withClassic.updateSchema, body)).toEqual(
        problems(withMini.updateSchema, body),
      );
    }
    expect(problems(withClassic.createSchema, bodies[3])).toEqual({
      code: "VALIDATION_FAILED",
      errors: [
        { path: "/tags", message: "Too big: expected array to have <=2 items" },
        { path: "/label", message: "lowercase letters only" },
      ],
    });
    expect(problems(withClassic.updateSchema, { tags: ["", "abcd"] })).toEqual({
      code: "VALIDATION_FAILED",
      errors: [
        { path: "/tags/0", message: "Too small: expected string to have >=1 characters" },
        { path: "/tags/1", message: "Too big: expected string to have <=3 characters" },
      ],
    });
    expect(problems(withClassic.createSchema, bodies[0])).toEqual(bodies[0]);
  });

  it("documents the same JSON Schema as the zod/mini equivalent", () => {
    for (const io of ["input", "output"] as const) {
      expect(jsonSchema(withClassic.createSchema, io)).toEqual(
        jsonSchema(withMini.createSchema, io),
      );
    }
    expect(jsonSchema(withClassic.createSchema, "input").properties).toEqual({
      tags: { type: "array", maxItems: 2, items: { type: "string", minLength: 1, maxLength: 3 } },
      label: {
        anyOf: [{ type: "string", pattern: "^[a-z]+$" }, { type: "null" }],
      },
    });
  });
});
