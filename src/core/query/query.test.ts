import { type Client, createClient } from "@libsql/client";
import { type SQL, sql } from "drizzle-orm";
import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Principal } from "../kernel/principal";
import { defineCollection, recordColumns } from "../records/define";
import { buildModels, compileContext } from "../records/model";
import { bind, statement, template } from "../records/sql";
import { readsAuth, relationsRead } from "./analyze";
import { type Expr, FilterError, filterLimits } from "./ast";
import { clientFilterLimits, compileFilter, templateAuthId, templateNow } from "./compile";
import { tokenize } from "./lexer";
import { parseFilter, parseFilterOnce } from "./parser";
import { printFilter } from "./print";

// Fixture collections, shaped like what the filter language must handle: a text field, a
// hidden field, a JSON list field, and a relation to a collection whose view rule reads
// @request.auth.
const articles = sqliteTable("articles", {
  ...recordColumns(),
  title: text().notNull(),
  body: text().notNull().default(""),
  status: text({ enum: ["draft", "published"] })
    .notNull()
    .default("draft"),
  tags: text({ mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  author: text().notNull(),
  secretNote: text(),
});

const notes = sqliteTable("notes", {
  ...recordColumns(),
  article: text().notNull(),
  author: text().notNull(),
  body: text().notNull(),
});

const models = buildModels([
  defineCollection(articles, {
    idPrefix: "art",
    hidden: ["secretNote"],
    rules: {
      list: "status = 'published' || author = @request.auth.id",
      view: "status = 'published' || author = @request.auth.id",
    },
  }),
  defineCollection(notes, {
    idPrefix: "nte",
    relations: { article: "articles" },
    rules: { list: "article.status = 'published'", view: "article.status = 'published'" },
  }),
]);
const articleModel = models.get("articles")!;
const noteModel = models.get("notes")!;
const anon: Principal = { kind: "anonymous" };

/** A client filter (untrusted: hidden fields refused, cost limits, relation view rules). */
function compileClient(filter: string, model = articleModel, principal = anon): SQL {
  return compileFilter(parseFilter(filter), compileContext(model, principal, new Date(0), false));
}

function toSql(filter: string, model = articleModel, principal = anon) {
  return statement(compileClient(filter, model, principal));
}

/** A rule: the developer's own filter, trusted. */
function toRuleSql(filter: string, model = articleModel, principal = anon) {
  return statement(
    compileFilter(parseFilter(filter), compileContext(model, principal, new Date(0), true)),
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

describe("filter lexer", () => {
  it("splits a filter into typed tokens with their positions", () => {
    expect(tokenize("(a ?!= 'x\\'y') && n>=-2.5 || @now")).toEqual([
      { type: "lparen", pos: 0 },
      { type: "ident", value: "a", pos: 1 },
      { type: "op", value: "?!=", pos: 3 },
      { type: "string", value: "x'y", pos: 7 },
      { type: "rparen", pos: 13 },
      { type: "and", pos: 15 },
      { type: "ident", value: "n", pos: 18 },
      { type: "op", value: ">=", pos: 19 },
      { type: "number", value: -2.5, pos: 21 },
      { type: "or", pos: 26 },
      { type: "ident", value: "@now", pos: 29 },
      { type: "eof", pos: 33 },
    ]);
  });

  it("takes the longest operator and both quote styles", () => {
    const ops = ["?!=", "?>=", "?<=", "?!~", "!=", ">=", "<=", "!~", "?=", "?>", "?<", "?~"];
    for (const op of ops) expect(tokenize(`a${op}1`)[1]).toEqual({ type: "op", value: op, pos: 1 });
    expect(tokenize(`"it's" 'say "hi"'`).map((t) => ("value" in t ? t.value : t.type))).toEqual([
      "it's",
      'say "hi"',
      "eof",
    ]);
  });

  it("keeps dotted paths and modifiers in one identifier", () => {
    expect(tokenize("article.title:length")[0]).toEqual({
      type: "ident",
      value: "article.title:length",
      pos: 0,
    });
  });

  it("refuses numbers beyond the safe integer range", () => {
    expect(() => tokenize("n = 99999999999999999999")).toThrow(/number out of range/);
    expect(tokenize(`n = ${Number.MAX_SAFE_INTEGER}`)[2]).toMatchObject({
      value: Number.MAX_SAFE_INTEGER,
    });
  });
});

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
      "article.status = \"it's\" && n >= -2.5 && ok = true && x = null && @request.auth.id != '' && created < @now",
    );
    expect(printFilter(e)).toBe(
      "article.status = 'it\\'s' && n >= -2.5 && ok = true && x = null && @request.auth.id != '' && created < @now",
    );
    expect(readsAuth(e)).toBe(true);
    expect(readsAuth(parseFilter("status = 'published'"))).toBe(false);
  });

  it("reads the :length modifier, and only that one", () => {
    expect(parseFilter("tags:length >= 2")).toMatchObject({
      left: { kind: "field", path: ["tags"], modifier: "length" },
    });
    expect(printFilter(parseFilter("tags:length >= 2"))).toBe("tags:length >= 2");
    expect(() => parseFilter("tags:count = 1")).toThrow(/unknown modifier/);
    expect(() => parseFilter("tags:length:length = 1")).toThrow(/unknown modifier/);
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
      ["title = 'x' ; DROP TABLE articles", /unexpected character ";" \(at character 13\)/],
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

describe("rule analyses", () => {
  it("names the relations an expression follows", () => {
    expect(
      relationsRead(parseFilter("article.status = 'x' || (article.title ~ 'y' && a = 1)")),
    ).toEqual(["article"]);
    expect(relationsRead(parseFilter("a = 1 && b.c = d.e"))).toEqual(["b", "d"]);
    expect(relationsRead(parseFilter("title = 'x'"))).toEqual([]);
  });

  it("finds @request.auth on either side, at any depth", () => {
    expect(readsAuth(parseFilter("@request.auth.id = author"))).toBe(true);
    expect(readsAuth(parseFilter("a = 1 || (b = 2 && c = @request.auth.role)"))).toBe(true);
    expect(readsAuth(parseFilter("a = 1 || (b = 2 && c = @now)"))).toBe(false);
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
    expect(sql).toContain('"articles"."title" LIKE ? ESCAPE');
    expect(sql).toContain(
      'EXISTS (SELECT 1 FROM json_each("articles"."tags") AS je WHERE je.value = ?)',
    );
    expect(args).toEqual(["a%b", "published", "x"]);
  });

  it("wraps a plain ~ value in wildcards and escapes LIKE metacharacters", () => {
    expect(toSql("title ~ '50_%'").args).toEqual(["50_%"]);
    expect(toSql("title ~ 'a_b'").args).toEqual(["%a\\_b%"]);
  });

  it("compiles null comparisons to IS NULL", () => {
    expect(toSql("author = null").sql).toContain('"articles"."author" IS NULL');
    expect(toSql("author != null").sql).toContain('"articles"."author" IS NOT NULL');
    expect(() => toSql("author > null")).toThrow(/null can only be compared/);
  });

  it("follows one relation level through a subquery that applies the target's view rule", () => {
    const { sql, args } = toSql("article.title = 'x'", noteModel);
    expect(sql).toContain(
      '(SELECT "nb_r1_article"."title" FROM "articles" AS "nb_r1_article" WHERE "nb_r1_article"."id" = "notes"."article" AND (("nb_r1_article"."status" = ?) OR ("nb_r1_article"."author" = ?)))',
    );
    // The anonymous caller's values: published articles, or articles whose author is "" (none).
    expect(args).toEqual(["published", "", "x"]);
  });

  it("binds the caller's id into the target's view rule", () => {
    const user: Principal = { kind: "user", id: "usr_1", role: "user" };
    expect(toSql("article.title = 'x'", noteModel, user).args).toEqual(["published", "usr_1", "x"]);
  });

  it("reads related records as they are in a rule (the developer's own filter)", () => {
    const { sql } = toRuleSql("article.status = 'published'", noteModel);
    expect(sql).toBe(
      '(SELECT "nb_r1_article"."status" FROM "articles" AS "nb_r1_article" WHERE "nb_r1_article"."id" = "notes"."article") = ?',
    );
  });

  it("rejects unknown and hidden fields in client filters, also through relations", () => {
    expect(() => toSql("nope = 1")).toThrow(/unknown field "nope"/);
    expect(() => toSql("secretNote = 'x'")).toThrow(/unknown field "secretNote"/);
    expect(() => toSql("article.secretNote ~ 'x'", noteModel)).toThrow(
      /unknown field "secretNote"/,
    );
    expect(() => toSql("title.x = 1")).toThrow(/not a relation/);
    expect(() => toSql("@request.auth.email = 'x'")).toThrow(/not available/);
  });

  it("lets rules read hidden fields", () => {
    expect(toRuleSql("secretNote = 'x'").sql).toBe('"articles"."secret_note" = ?');
  });

  it("compiles plain operators on a list as match-all and non-empty, ? forms as any-of", () => {
    expect(toSql("tags = 'x'").sql).toBe(
      '(json_array_length("articles"."tags") > 0 AND NOT EXISTS (SELECT 1 FROM json_each("articles"."tags") AS je WHERE NOT (je.value = ?)))',
    );
    expect(toSql("tags ?= 'x'").sql).toBe(
      'EXISTS (SELECT 1 FROM json_each("articles"."tags") AS je WHERE je.value = ?)',
    );
    expect(toSql("tags:length = 0").sql).toBe('json_array_length("articles"."tags") = ?');
  });

  it("refuses :length on a single-valued field, and a list on the right", () => {
    expect(() => toSql("title:length = 1")).toThrow(/:length applies to list fields only/);
    expect(() => toSql("title = tags")).toThrow(/multi-valued field can only be on the left/);
    // With :length the right side is a number, which is allowed.
    expect(() => toSql("title = tags:length")).not.toThrow();
  });
});

describe("client filter cost limits", () => {
  const { maxPatternLength, maxPatternTerms, maxRelationTerms } = clientFilterLimits;
  const repeat = (n: number, term: (i: number) => string) =>
    Array.from({ length: n }, (_, i) => term(i)).join(" || ");

  it("limits the number of ~ and !~ comparisons", () => {
    expect(() => toSql(repeat(maxPatternTerms, (i) => `title ~ 'a${i}'`))).not.toThrow();
    expect(() => toSql(repeat(maxPatternTerms + 1, (i) => `body !~ 'a${i}'`))).toThrow(
      new RegExp(`too expensive: at most ${maxPatternTerms} ~ or !~ comparisons`),
    );
  });

  it("limits the length of a ~ pattern", () => {
    expect(() => toSql(`title ~ '${"a".repeat(maxPatternLength)}'`)).not.toThrow();
    expect(() => toSql(`title ~ '${"a".repeat(maxPatternLength + 1)}'`)).toThrow(
      /too expensive: ~ patterns are at most 100 characters/,
    );
    expect(() => toSql(`tags ?~ '${"a".repeat(maxPatternLength + 1)}'`)).toThrow(/too expensive/);
    // A long value with = costs no more than a lookup.
    expect(() => toSql(`title = '${"a".repeat(maxPatternLength + 1)}'`)).not.toThrow();
  });

  it("limits the comparisons that follow a relation, counting both sides", () => {
    expect(() =>
      toSql(
        repeat(maxRelationTerms, (i) => `article.title = '${i}'`),
        noteModel,
      ),
    ).not.toThrow();
    expect(() =>
      toSql(
        repeat(maxRelationTerms + 1, (i) => `article.title = '${i}'`),
        noteModel,
      ),
    ).toThrow(
      new RegExp(`too expensive: at most ${maxRelationTerms} comparisons through relations`),
    );
    expect(() =>
      toSql(
        repeat(maxRelationTerms / 2 + 1, () => "article.title = article.body"),
        noteModel,
      ),
    ).toThrow(/through relations/);
  });

  it("does not limit rules", () => {
    expect(() => toRuleSql(repeat(maxPatternTerms + 1, (i) => `title ~ 'a${i}'`))).not.toThrow();
    expect(() => toRuleSql(`title ~ '${"a".repeat(maxPatternLength + 1)}'`)).not.toThrow();
    expect(() =>
      toRuleSql(
        repeat(maxRelationTerms + 1, (i) => `article.title = '${i}'`),
        noteModel,
      ),
    ).not.toThrow();
  });

  it("reports where the first over-limit term is", () => {
    const filter = repeat(maxPatternTerms + 1, (i) => `title ~ 'a${i}'`);
    const last = filter.lastIndexOf("title");
    let caught: unknown;
    try {
      toSql(filter);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FilterError);
    expect((caught as FilterError).pos).toBe(last);
  });
});

// The compiled SQL, run on real libSQL over fixture rows: what each form actually selects.
describe("filter semantics on libSQL", () => {
  let db: Client;

  beforeEach(async () => {
    db = createClient({ url: ":memory:" });
    await db.executeMultiple(`
      CREATE TABLE articles (id TEXT PRIMARY KEY, created TEXT NOT NULL, updated TEXT NOT NULL,
        rev INTEGER NOT NULL DEFAULT 1, title TEXT NOT NULL, body TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'draft', tags TEXT NOT NULL DEFAULT '[]',
        author TEXT NOT NULL, secret_note TEXT);
      CREATE TABLE notes (id TEXT PRIMARY KEY, created TEXT NOT NULL, updated TEXT NOT NULL,
        rev INTEGER NOT NULL DEFAULT 1, article TEXT NOT NULL, author TEXT NOT NULL,
        body TEXT NOT NULL);
    `);
  });

  afterEach(() => db.close());

  async function seedArticles(rows: { id: string; tags?: string[]; [k: string]: unknown }[]) {
    for (const row of rows) {
      await db.execute({
        sql: "INSERT INTO articles (id, created, updated, title, body, status, tags, author) VALUES (?, '', '', ?, ?, ?, ?, ?)",
        args: [
          row.id,
          (row.title as string) ?? row.id,
          (row.body as string) ?? "",
          (row.status as string) ?? "published",
          JSON.stringify(row.tags ?? []),
          (row.author as string) ?? "usr_a",
        ],
      });
    }
  }

  async function ids(
    filter: string,
    model = articleModel,
    principal: Principal = anon,
  ): Promise<string[]> {
    const table = model === articleModel ? articles : notes;
    const { sql: text, args } = statement(
      sql`SELECT ${table.id} AS id FROM ${table} WHERE ${compileClient(filter, model, principal)} ORDER BY ${table.id}`,
    );
    const rs = await db.execute({ sql: text, args });
    return rs.rows.map((r) => String(r.id));
  }

  it("a statement rendered once for a kind of caller answers each caller with their own rows", async () => {
    await seedArticles([
      { id: "a_pub", status: "published", author: "usr_a" },
      { id: "b_draft_a", status: "draft", author: "usr_a" },
      { id: "c_draft_b", status: "draft", author: "usr_b" },
      // A client filter's literal that spells the stand-in id stays that literal.
      { id: "d_draft_sentinel", status: "draft", author: templateAuthId },
    ]);
    const standIn: Principal = { kind: "user", id: templateAuthId, role: "user" };
    const rule = compileFilter(
      parseFilter("status = 'published' || author = @request.auth.id"),
      compileContext(articleModel, standIn, templateNow, true),
    );
    const client = compileFilter(
      parseFilter(`author != ${JSON.stringify(templateAuthId)} && created < @now`),
      compileContext(articleModel, standIn, templateNow, false),
    );
    const once = template(
      sql`SELECT ${articles.id} AS id FROM ${articles} WHERE (${rule}) AND (${client}) ORDER BY ${articles.id}`,
    );
    const as = async (id: string) =>
      (await db.execute(bind(once, { "auth.id": id, now: "9999" }))).rows.map((r) => r.id);
    expect(await as("usr_a")).toEqual(["a_pub", "b_draft_a"]);
    expect(await as("usr_b")).toEqual(["a_pub", "c_draft_b"]);
    expect(await as("usr_c")).toEqual(["a_pub"]);
    // Unbound slots are NULL: no caller matches them.
    expect((await db.execute(bind(once, {}))).rows).toEqual([]);
  });

  it("plain operators on a list hold for every element and need a non-empty list", async () => {
    await seedArticles([
      { id: "a_x", tags: ["x"] },
      { id: "b_xx", tags: ["x", "x"] },
      { id: "c_xy", tags: ["x", "y"] },
      { id: "d_y", tags: ["y"] },
      { id: "e_empty", tags: [] },
    ]);
    expect(await ids("tags = 'x'")).toEqual(["a_x", "b_xx"]);
    expect(await ids("tags != 'x'")).toEqual(["d_y"]);
    expect(await ids("tags ~ 'x'")).toEqual(["a_x", "b_xx"]);
    expect(await ids("tags !~ 'y'")).toEqual(["a_x", "b_xx"]);
  });

  it("? operators on a list hold for any element", async () => {
    await seedArticles([
      { id: "a_x", tags: ["x"] },
      { id: "c_xy", tags: ["x", "y"] },
      { id: "d_y", tags: ["y"] },
      { id: "e_empty", tags: [] },
    ]);
    expect(await ids("tags ?= 'x'")).toEqual(["a_x", "c_xy"]);
    expect(await ids("tags ?!= 'x'")).toEqual(["c_xy", "d_y"]);
    expect(await ids("tags ?~ 'y'")).toEqual(["c_xy", "d_y"]);
  });

  it(":length gives the number of elements, and finds empty lists", async () => {
    await seedArticles([
      { id: "a_one", tags: ["x"] },
      { id: "b_two", tags: ["x", "y"] },
      { id: "c_empty", tags: [] },
    ]);
    expect(await ids("tags:length = 0")).toEqual(["c_empty"]);
    expect(await ids("tags:length >= 1")).toEqual(["a_one", "b_two"]);
    expect(await ids("tags:length = 2")).toEqual(["b_two"]);
  });

  it("on a single value the ? forms mean the plain ones", async () => {
    await seedArticles([
      { id: "a", title: "hello" },
      { id: "b", title: "world" },
    ]);
    expect(await ids("title ?= 'hello'")).toEqual(await ids("title = 'hello'"));
    expect(await ids("title ?~ 'orl'")).toEqual(["b"]);
  });

  it("~ matches a substring literally, unless the pattern has its own %", async () => {
    await seedArticles([
      { id: "a", title: "50% off" },
      { id: "b", title: "50 percent off" },
      { id: "c", title: "a_b" },
      { id: "d", title: "axb" },
    ]);
    expect(await ids("title ~ 'a_b'")).toEqual(["c"]);
    // A pattern with % is the whole LIKE pattern, so it is anchored at both ends.
    expect(await ids("title ~ '50%off'")).toEqual(["a", "b"]);
    expect(await ids("title ~ '50%'")).toEqual(["a", "b"]);
    expect(await ids("title ~ 'off%'")).toEqual([]);
    expect(await ids("title ~ 'off'")).toEqual(["a", "b"]);
    expect(await ids("title !~ 'off'")).toEqual(["c", "d"]);
  });

  it("a relation path only sees related records the caller may view", async () => {
    await seedArticles([
      { id: "art_pub", title: "shared", status: "published", author: "usr_a" },
      { id: "art_draft", title: "shared", status: "draft", author: "usr_a" },
    ]);
    for (const [id, article] of [
      ["nte_on_pub", "art_pub"],
      ["nte_on_draft", "art_draft"],
    ])
      await db.execute({
        sql: "INSERT INTO notes (id, created, updated, article, author, body) VALUES (?, '', '', ?, 'usr_z', 'b')",
        args: [id!, article!],
      });
    // Anonymous, and another user, cannot learn a draft's title through the notes on it.
    expect(await ids("article.title = 'shared'", noteModel)).toEqual(["nte_on_pub"]);
    const other: Principal = { kind: "user", id: "usr_b", role: "user" };
    expect(await ids("article.title = 'shared'", noteModel, other)).toEqual(["nte_on_pub"]);
    // The draft's author can.
    const author: Principal = { kind: "user", id: "usr_a", role: "user" };
    expect(await ids("article.title = 'shared'", noteModel, author)).toEqual([
      "nte_on_draft",
      "nte_on_pub",
    ]);
    // An invisible article reads as no article (null), whatever its title, so no comparison
    // can probe its values.
    expect(await ids("article.title = null", noteModel)).toEqual(["nte_on_draft"]);
    expect(await ids("article.title != 'shared'", noteModel)).toEqual(["nte_on_draft"]);
    expect(await ids("article.title = null", noteModel, author)).toEqual([]);
  });
});

describe("parseFilterOnce", () => {
  it("returns the same tree as parseFilter, reused for a repeated filter, and never remembers a failure", () => {
    const text = "title ~ 'memo' && tags ?= 'x'";
    const first = parseFilterOnce(text);
    expect(first).toEqual(parseFilter(text));
    expect(parseFilterOnce(text)).toBe(first);
    expect(() => parseFilterOnce("title = (")).toThrow(FilterError);
    expect(() => parseFilterOnce("title = (")).toThrow(FilterError);
  });
});

// Stored timestamps are toISOString() text: other spellings of a date-time must compare as the
// instant they name, or be refused.
describe("date-time literals", () => {
  it("rewrites PocketBase's and other zoned spellings to the stored ISO form", () => {
    expect(toSql("created > '2026-01-01 03:00:00.000Z'").args).toEqual([
      "2026-01-01T03:00:00.000Z",
    ]);
    expect(toSql("created >= '2026-01-01T03:00:00Z'").args).toEqual(["2026-01-01T03:00:00.000Z"]);
    expect(toSql("created < '2026-01-01 05:30+02:30'").args).toEqual(["2026-01-01T03:00:00.000Z"]);
    expect(toSql("created < '2026-01-01T03:00:00.123456z'").args).toEqual([
      "2026-01-01T03:00:00.123Z",
    ]);
    // Dates alone compare correctly as prefixes; other text, and ~ patterns, are left alone.
    expect(toSql("created > '2026-01-01'").args).toEqual(["2026-01-01"]);
    expect(toSql("title = '2026-01-01 at noon'").args).toEqual(["2026-01-01 at noon"]);
    expect(toSql("title ~ '2026-01-01 03:00'").args).toEqual(["%2026-01-01 03:00%"]);
  });

  it("refuses a date-time without a zone, or one that is no real date, naming it", () => {
    expect(() => toSql("created > '2026-01-01 03:00:00'")).toThrow(/needs a time zone/);
    expect(() => toSql("created > '2026-02-30 03:00:00Z'")).toThrow(/not a valid date-time/);
    expect(() => toSql("created > '2026-01-01 25:00:00Z'")).toThrow(/not a valid date-time/);
  });

  it("selects the same records from libSQL as the ISO literal does", async () => {
    const db = createClient({ url: ":memory:" });
    try {
      await db.execute(
        "CREATE TABLE articles (id TEXT PRIMARY KEY, created TEXT NOT NULL, updated TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 1, title TEXT NOT NULL, body TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'published', tags TEXT NOT NULL DEFAULT '[]', author TEXT NOT NULL, secret_note TEXT)",
      );
      const start = Date.UTC(2026, 0, 1, 2, 0, 0);
      for (let i = 0; i < 48; i++) {
        const created = new Date(start + i * 150_000 + (i % 3) * 250).toISOString();
        await db.execute({
          sql: "INSERT INTO articles (id, created, updated, title, author) VALUES (?, ?, ?, 't', 'usr_a')",
          args: [`art_${i}`, created, created],
        });
      }
      const count = async (filter: string) => {
        const { sql: text, args } = statement(
          sql`SELECT count(*) AS n FROM ${articles} WHERE ${compileClient(filter)}`,
        );
        return Number((await db.execute({ sql: text, args })).rows[0]!.n);
      };
      const iso = await count("created > '2026-01-01T03:00:00.000Z'");
      expect(iso).toBe(23);
      expect(await count("created > '2026-01-01 03:00:00.000Z'")).toBe(iso);
      expect(await count("created > '2026-01-01T03:00:00Z'")).toBe(iso);
      expect(await count("created > '2026-01-01 04:00:00.000+01:00'")).toBe(iso);
    } finally {
      db.close();
    }
  });
});
