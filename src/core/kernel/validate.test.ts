import { describe, expect, it, vi } from "vitest";
import * as z from "zod/mini";
import { ApiError } from "./errors";
import { validate } from "./validate";

/** The field problems a VALIDATION_FAILED answer carries for `input`. */
function problems(schema: z.core.$ZodType, input: unknown, prefix?: string) {
  try {
    validate(schema, input, prefix);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("VALIDATION_FAILED");
    return (err as ApiError).errors;
  }
  throw new Error("validated");
}

describe("validate", () => {
  it("installs zod's English messages itself (zod/mini registers no locale; classic did)", async () => {
    const config = z.config();
    const before = config.localeError;
    try {
      config.localeError = undefined;
      vi.resetModules();
      const fresh = await import("./validate");
      expect(z.config().localeError).toBeTypeOf("function");
      let detail: unknown;
      try {
        fresh.validate(z.object({ n: z.number() }), { n: "1" });
      } catch (err) {
        detail = (err as ApiError).errors;
      }
      expect(detail).toEqual([
        { path: "/n", message: "Invalid input: expected number, received string" },
      ]);
    } finally {
      config.localeError = before;
    }
  });

  it("reports zod/mini problems by JSON pointer with zod's English messages", () => {
    const schema = z.strictObject({
      title: z.string().check(z.maxLength(3)),
      count: z.int().check(z.gte(1)),
      tags: z.array(z.string()),
      status: z.enum(["draft", "published"]),
    });
    expect(validate(schema, { title: "abc", count: 2, tags: ["x"], status: "draft" })).toEqual({
      title: "abc",
      count: 2,
      tags: ["x"],
      status: "draft",
    });
    expect(
      problems(schema, { title: "abcd", count: 0.5, tags: [1], status: "gone", extra: 1 }, "/b"),
    ).toEqual([
      { path: "/b/title", message: "Too big: expected string to have <=3 characters" },
      { path: "/b/count", message: "Invalid input: expected int, received number" },
      { path: "/b/tags/0", message: "Invalid input: expected string, received number" },
      { path: "/b/status", message: 'Invalid option: expected one of "draft"|"published"' },
      { path: "/b/extra", message: "unknown or read-only field" },
    ]);
    expect(problems(z.string(), 1)).toEqual([
      { path: "/", message: "Invalid input: expected string, received number" },
    ]);
  });
});
