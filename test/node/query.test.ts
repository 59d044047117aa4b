import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { collections } from "../../src/collections/index";
import { buildModels, compileContext } from "../../src/core/collections/model";
import { statement } from "../../src/core/collections/sql";
import { readsAuth } from "../../src/core/query/analyze";
import { type Expr, FilterError, filterLimits } from "../../src/core/query/ast";
import { compileFilter } from "../../src/core/query/compile";
import { parseFilter } from "../../src/core/query/parser";
import { printFilter } from "../../src/core/query/print";

const models = buildModels(collections);
const posts = models.get("posts")!;
const comments = models.get("comments")!;
const anon = { kind: "anonymous" } as const;

function toSql(filter: string, model = posts) {
  return statement(
    compileFilter(parseFilter(filter), compileContext(models, model, anon, new Date(0), false)),
  );
}

function stripPos(e: unknown): unknown {
  if (Array.isArray(e)) return e.map(stripPos);
  if (e && typeof e === "object") {
    return Object.fromEntries(
      Object.entries(e)
        .filter(([k]) => k !== "pos")
        .map(([k, v]) => [k, stripPos(v)]),
    );
  }
  return e;
}

describe("filter parser", () => {
  it("parses every operator, including the any-of forms", () => {
    for (const op of ["=", "!=", ">", ">=", "<", "<=", "~", "!~"]) {
      for (const any of [false, true]) {
        const e = parseFilter(`title ${any ? "?" : ""}${op} 'x'`);
        expect(e).toMatchObject({ kind: "compare", op, any });
      }
    }
  });

  it("binds && tighter than || and honours parentheses", () => {
    expect(stripPos(parseFilter("a = 1 || b = 2 && c = 3"))).toMatchObject({
      kind: "or",
      items: [{ kind: "compare" }, { kind: "and" }],
    });
    expect(stripPos(parseFilter("(a = 1 || b = 2) && c = 3"))).toMatchObject({
      kind: "and",
      items: [{ kind: "or" }, { kind: "compare" }],
    });
  });

  it("reads literals, macros and dotted paths", () => {
    const e = parseFilter(
      "post.status = \"it's\" && n >= -2.5 && ok = true && x = null && @request.auth.id != '' && created < @now",
    );
    expect(printFilter(e)).toBe(
      "post.status = 'it\\'s' && n >= -2.5 && ok = true && x = null && @request.auth.id != '' && created < @now",
    );
    expect(readsAuth(e)).toBe(true);
    expect(readsAuth(parseFilter("status = 'published'"))).toBe(false);
  });

  it("reports the position of a syntax error", () => {
    const cases: [string, RegExp][] = [
      ["title = ", /end of filter \(at character 9\)/],
      ["title == 'x'", /expected a value or field \(at character 8\)/],
      ["title = 'x", /unterminated string \(at character 9\)/],
      ["(title = 'x'", /expected \) \(at character 13\)/],
      ["title = 'x' extra", /unexpected input after the end of the expression \(at character 13\)/],
      ["title 'x'", /expected a comparison operator \(at character 7\)/],
      ["a.b.c = 1", /one level deep/],
      ["title = 'x' ; DROP TABLE posts", /unexpected character ";" \(at character 13\)/],
      ["@request.body.x = 1", /unknown macro/],
    ];
    for (const [input, message] of cases) {
      expect(() => parseFilter(input), input).toThrow(message);
    }
  });

  it("enforces length, depth and term limits", () => {
    expect(() => parseFilter(`title = '${"x".repeat(filterLimits.maxLength)}'`)).toThrow(
      /longer than/,
    );
    expect(() => parseFilter(`${"(".repeat(20)}a = 1${")".repeat(20)}`)).toThrow(/nesting deeper/);
    expect(() =>
      parseFilter(Array.from({ length: 100 }, (_, i) => `a = ${i}`).join(" || ")),
    ).toThrow(/more than 64 comparisons/);
  });
});

const ident = fc.constantFrom("title", "status", "author", "created", "tags", "body");
const literal = fc.oneof(
  fc.string({ maxLength: 20 }).map((value) => ({ kind: "literal" as const, value, pos: 0 })),
  fc
    .integer({ min: -1_000_000, max: 1_000_000 })
    .map((value) => ({ kind: "literal" as const, value, pos: 0 })),
  fc.constantFrom(true, false, null).map((value) => ({ kind: "literal" as const, value, pos: 0 })),
);
const operand = fc.oneof(
  literal,
  ident.map((f) => ({ kind: "field" as const, path: [f], pos: 0 })),
  fc.constantFrom("id", "role").map((field) => ({ kind: "auth" as const, field, pos: 0 })),
  fc.constant({ kind: "now" as const, pos: 0 }),
);
const comparison = fc.record({
  kind: fc.constant("compare" as const),
  op: fc.constantFrom("=", "!=", ">", ">=", "<", "<=", "~", "!~" as const),
  any: fc.boolean(),
  left: operand,
  right: operand,
  pos: fc.constant(0),
});
const expr: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    comparison,
    fc.record({
      kind: fc.constantFrom("and" as const, "or" as const),
      items: fc.array(tie("e"), { minLength: 2, maxLength: 3 }),
      pos: fc.constant(0),
    }),
  ),
})).e;

describe("filter properties", () => {
  it("print then parse gives back the same tree", () => {
    fc.assert(
      fc.property(expr, (tree) => {
        const printed = printFilter(tree);
        fc.pre(printed.length < filterLimits.maxLength);
        let reparsed: Expr;
        try {
          reparsed = parseFilter(printed);
        } catch (err) {
          // Only the documented limits may refuse a printed tree.
          expect(err).toBeInstanceOf(FilterError);
          expect((err as Error).message).toMatch(/nesting deeper|more than/);
          return;
        }
        expect(stripPos(reparsed)).toEqual(stripPos(tree));
      }),
      { numRuns: 300 },
    );
  });

  it("never puts a literal's text into SQL: the SQL is the same whatever the values", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 50 }),
        fc.string({ maxLength: 50 }),
        fc.integer(),
        (a, b, n) => {
          const quote = (s: string) => `'${s.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
          const one = toSql(
            `title = ${quote(a)} || (body ~ ${quote(b)} && tags ?= ${quote(a)}) || created > ${n}`,
          );
          const two = toSql(`title = 'p' || (body ~ 'q' && tags ?= 'p') || created > 0`);
          expect(one.sql).toBe(two.sql);
          expect(one.args).toContain(a);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("rejects arbitrary input with a FilterError or compiles it, never anything else", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (input) => {
        try {
          const { sql } = toSql(input);
          expect(sql).not.toContain(";");
        } catch (err) {
          expect(err).toBeInstanceOf(FilterError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("filter compiler", () => {
  it("binds values as parameters", () => {
    const { sql, args } = toSql("title ~ 'a%b' && status = 'published' && tags ?= 'x'");
    expect(sql).toContain('"posts"."title" LIKE ? ESCAPE');
    expect(sql).toContain(
      'EXISTS (SELECT 1 FROM json_each("posts"."tags") AS je WHERE je.value = ?)',
    );
    expect(args).toEqual(["a%b", "published", "x"]);
  });

  it("wraps a plain ~ value in wildcards and escapes LIKE metacharacters", () => {
    expect(toSql("title ~ '50_%'").args).toEqual(["50_%"]);
    expect(toSql("title ~ 'a_b'").args).toEqual(["%a\\_b%"]);
  });

  it("compiles null comparisons to IS NULL", () => {
    expect(toSql("author = null").sql).toContain('"posts"."author" IS NULL');
    expect(toSql("author != null").sql).toContain('"posts"."author" IS NOT NULL');
    expect(() => toSql("author > null")).toThrow(/null can only be compared/);
  });

  it("follows one relation level through a subquery that applies the target's view rule", () => {
    const { sql, args } = toSql("post.title = 'x'", comments);
    expect(sql).toContain(
      '(SELECT "nb_r1_post"."title" FROM "posts" AS "nb_r1_post" WHERE "nb_r1_post"."id" = "comments"."post" AND (("nb_r1_post"."status" = ?) OR ("nb_r1_post"."author" = ?)))',
    );
    // The anonymous caller's values: published posts, or posts whose author is "" (none).
    expect(args).toEqual(["published", "", "x"]);
  });

  it("rejects unknown and hidden fields in client filters, also through relations", () => {
    expect(() => toSql("nope = 1")).toThrow(/unknown field "nope"/);
    expect(() => toSql("moderationNote = 'x'")).toThrow(/unknown field "moderationNote"/);
    expect(() => toSql("post.moderationNote ~ 'x'", comments)).toThrow(
      /unknown field "moderationNote"/,
    );
    expect(() => toSql("title.x = 1")).toThrow(/not a relation/);
    expect(() => toSql("@request.auth.email = 'x'")).toThrow(/not available/);
  });
});
