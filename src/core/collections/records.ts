import type { Client, InStatement, ResultSet } from "@libsql/client";
import { getTableName, type SQL, sql } from "drizzle-orm";
import type { Principal } from "../http/context";
import { ApiError } from "../http/errors";
import { FilterError } from "../query/ast";
import { compileFilter } from "../query/compile";
import { parseFilter } from "../query/parser";
import type { Operation } from "./define";
import { type CollectionModel, compileContext, type Models, ruleCondition } from "./model";
import { encodeCursor, filterProblem, type ListParams } from "./params";
import { columnName, fieldsOf, fromRow, selectList, statement, toDriver } from "./sql";

/** One request's view of the collections: who asks, when, and which database answers. */
export interface RecordContext {
  models: Models;
  principal: Principal;
  now: Date;
  /** Reads (a replica, or the primary when read-your-writes requires it). */
  read: Client;
  /** Writes always go to the primary. */
  write: Client;
}

export type Record_ = Record<string, unknown>;

const randomId = (prefix: string) => {
  const bytes = crypto.getRandomValues(new Uint8Array(15));
  let s = "";
  for (const b of bytes) s += "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36];
  return `${prefix}_${s}`;
};

/** A record's ETag: its id and revision. Strong, so If-Match can use it. */
export const recordEtag = (id: string, rev: number) => `"${id}.${rev}"`;

function parseEtag(header: string, id: string): number | undefined {
  const match = /^"([a-z]+_[a-z0-9]+)\.(\d{1,12})"$/.exec(header.trim());
  return match && match[1] === id ? Number(match[2]) : undefined;
}

function condition(ctx: RecordContext, model: CollectionModel, op: Operation): SQL | undefined {
  const rule = ruleCondition(ctx.models, model, op, ctx.principal, ctx.now);
  if (rule === false) return sql`0`;
  return rule;
}

function clientFilter(ctx: RecordContext, model: CollectionModel, text: string): SQL {
  try {
    return compileFilter(
      parseFilter(text),
      compileContext(ctx.models, model, ctx.principal, ctx.now, false),
    );
  } catch (err) {
    if (err instanceof FilterError) throw filterProblem(err);
    throw err;
  }
}

function where(parts: (SQL | undefined)[]): SQL {
  const present = parts.filter((p): p is SQL => p !== undefined);
  return present.length === 0
    ? sql`1`
    : sql.join(
        present.map((p) => sql`(${p})`),
        sql` AND `,
      );
}

/** Lists records the caller may see, with filter, keyset pagination and optional expansion. */
export async function listRecords(ctx: RecordContext, model: CollectionModel, params: ListParams) {
  const rule = condition(ctx, model, "list");
  const filter = params.filter === undefined ? undefined : clientFilter(ctx, model, params.filter);
  const sortFields = params.sort.map((s) => model.fields.get(s.key)!);
  let after: SQL | undefined;
  if (params.cursor !== undefined) {
    const values = params.cursor;
    const ors = params.sort.map((s, i) => {
      const eqs = params.sort
        .slice(0, i)
        .map((_, j) => sql`${sortFields[j]!.column} = ${values[j]}`);
      const cmp = s.desc
        ? sql`${sortFields[i]!.column} < ${values[i]}`
        : sql`${sortFields[i]!.column} > ${values[i]}`;
      return where([...eqs, cmp]);
    });
    after = sql.join(
      ors.map((o) => sql`(${o})`),
      sql` OR `,
    );
  }
  const keys = [...new Set([...params.fields, ...params.sort.map((s) => s.key), ...params.expand])];
  const fields = fieldsOf(model, keys);
  const order = sql.join(
    params.sort.map(
      (s) => sql`${model.fields.get(s.key)!.column} ${sql.raw(s.desc ? "DESC" : "ASC")}`,
    ),
    sql`, `,
  );
  const conditions = [rule, filter];
  const statements: InStatement[] = [
    statement(
      sql`SELECT ${selectList(fields)} FROM ${model.table} WHERE ${where([...conditions, after])} ORDER BY ${order} LIMIT ${params.limit + 1}`,
    ),
  ];
  if (params.total)
    statements.push(
      statement(sql`SELECT count(*) AS n FROM ${model.table} WHERE ${where(conditions)}`),
    );
  const [page, count] =
    statements.length === 1
      ? [await ctx.read.execute(statements[0]!)]
      : await ctx.read.batch(statements, "read");
  const rows = page!.rows.slice(0, params.limit).map((r) => fromRow(fields, r));
  const more = page!.rows.length > params.limit;
  // The cursor keeps the database's own values (booleans as 0/1, timestamps as stored), since it
  // is compared with the columns directly when the next page is read.
  const last = more ? page!.rows[params.limit - 1] : undefined;
  const nextCursor = last
    ? encodeCursor(
        params.sortText,
        params.sort.map((s) => last[s.key]),
      )
    : null;
  const expanded = await expand(ctx, model, rows, params.expand);
  const items = rows.map((row, i) => shape(row, params.fields, expanded[i]));
  return { items, nextCursor, ...(count ? { total: Number(count.rows[0]?.n ?? 0) } : {}) };
}

function shape(row: Record_, fields: readonly string[], expansion: Record_ | undefined): Record_ {
  const out: Record_ = {};
  for (const key of fields) out[key] = row[key];
  if (expansion !== undefined) out.expand = expansion;
  return out;
}

/** Loads related records one level deep, each under its own collection's view rule. */
async function expand(
  ctx: RecordContext,
  model: CollectionModel,
  rows: Record_[],
  keys: string[],
): Promise<(Record_ | undefined)[]> {
  if (keys.length === 0 || rows.length === 0) return rows.map(() => undefined);
  const byKey = new Map<string, Map<string, Record_>>();
  for (const key of keys) {
    const target = ctx.models.get(model.relations.get(key)!)!;
    const ids = [
      ...new Set(rows.map((r) => r[key]).filter((v): v is string => typeof v === "string")),
    ];
    const found = new Map<string, Record_>();
    if (ids.length > 0) {
      const fields = fieldsOf(target, target.readable);
      const idColumn = target.fields.get("id")!.column;
      const rs = await ctx.read.execute(
        statement(
          sql`SELECT ${selectList(fields)} FROM ${target.table} WHERE ${where([
            condition(ctx, target, "view"),
            sql`${idColumn} IN (${sql.join(
              ids.map((id) => sql`${id}`),
              sql`, `,
            )})`,
          ])}`,
        ),
      );
      for (const r of rs.rows) {
        const record = fromRow(fields, r);
        found.set(record.id as string, record);
      }
    }
    byKey.set(key, found);
  }
  return rows.map((row) =>
    Object.fromEntries(keys.map((key) => [key, byKey.get(key)!.get(row[key] as string) ?? null])),
  );
}

/** One record the caller may see, with its revision (for the ETag). */
export async function viewRecord(
  ctx: RecordContext,
  model: CollectionModel,
  id: string,
  fields: string[],
  expandKeys: string[],
) {
  const keys = [...new Set(["id", "rev", ...fields, ...expandKeys])];
  const info = fieldsOf(model, keys);
  const idColumn = model.fields.get("id")!.column;
  const rs = await ctx.read.execute(
    statement(
      sql`SELECT ${selectList(info)} FROM ${model.table} WHERE ${where([condition(ctx, model, "view"), sql`${idColumn} = ${id}`])}`,
    ),
  );
  const row = rs.rows[0];
  if (row === undefined) throw notFound(model, id);
  const record = fromRow(info, row);
  const [expansion] = await expand(ctx, model, [record], expandKeys);
  return { record: shape(record, fields, expansion), rev: Number(record.rev) };
}

export function notFound(model: CollectionModel, id: string): ApiError {
  return new ApiError("NOT_FOUND", `No ${model.name} record ${JSON.stringify(id.slice(0, 64))}.`);
}

/** The statement that inserts a record if the create rule holds for it (checked in SQL). */
export function createStatement(ctx: RecordContext, model: CollectionModel, data: Record_) {
  const nowIso = ctx.now.toISOString();
  const id = randomId(model.def.options.idPrefix);
  const values: Record_ = { ...data, id, created: nowIso, updated: nowIso, rev: 1 };
  if (model.owner !== undefined) {
    values[model.owner] =
      ctx.principal.kind === "user"
        ? ctx.principal.id
        : ctx.principal.kind === "apiKey"
          ? ctx.principal.ownerId
          : null;
  }
  const all = [...model.fields.values()];
  const cells = all.map((f) => {
    if (f.key in values) return sql`${toDriver(f, values[f.key])}`;
    const fallback = (f.column as unknown as { default?: unknown }).default;
    if (fallback === undefined) return sql`NULL`;
    return typeof fallback === "object" && fallback !== null && "getSQL" in fallback
      ? (fallback as SQL)
      : sql`${toDriver(f, fallback)}`;
  });
  const names = all.map((f) => sql.identifier(columnName(f.column)));
  const rule = condition(ctx, model, "create");
  // The rule reads the candidate row through a derived table named like the real one.
  const guard =
    rule === undefined
      ? sql``
      : sql` WHERE EXISTS (SELECT 1 FROM (SELECT ${sql.join(
          cells.map((cell, i) => sql`${cell} AS ${names[i]}`),
          sql`, `,
        )}) AS ${sql.identifier(getTableName(model.table))} WHERE ${rule})`;
  const returning = fieldsOf(model, [...new Set(["id", "rev", ...model.readable])]);
  return {
    id,
    statement: statement(
      sql`INSERT INTO ${model.table} (${sql.join(names, sql`, `)}) SELECT ${sql.join(cells, sql`, `)}${guard} RETURNING ${returningList(returning)}`,
    ),
    returning,
  };
}

function returningList(fields: ReturnType<typeof fieldsOf>): SQL {
  return sql.join(
    fields.map((f) => sql`${sql.identifier(columnName(f.column))} AS ${sql.identifier(f.key)}`),
    sql`, `,
  );
}

/** The statement that updates a record if the update rule (and If-Match) hold, in one step. */
export function updateStatement(
  ctx: RecordContext,
  model: CollectionModel,
  id: string,
  data: Record_,
  ifMatch: string | undefined,
) {
  const sets = Object.entries(data).map(([key, value]) => {
    const f = model.fields.get(key)!;
    return sql`${sql.identifier(columnName(f.column))} = ${toDriver(f, value)}`;
  });
  sets.push(sql`"updated" = ${ctx.now.toISOString()}`, sql`"rev" = "rev" + 1`);
  let expectedRev: number | undefined;
  if (ifMatch !== undefined && ifMatch.trim() !== "*") {
    expectedRev = parseEtag(ifMatch, id) ?? -1;
  }
  const idColumn = model.fields.get("id")!.column;
  const revColumn = model.fields.get("rev")!.column;
  const returning = fieldsOf(model, [...new Set(["id", "rev", ...model.readable])]);
  return {
    expectedRev,
    statement: statement(
      sql`UPDATE ${model.table} SET ${sql.join(sets, sql`, `)} WHERE ${where([
        condition(ctx, model, "update"),
        sql`${idColumn} = ${id}`,
        expectedRev === undefined ? undefined : sql`${revColumn} = ${expectedRev}`,
      ])} RETURNING ${returningList(returning)}`,
    ),
    returning,
  };
}

export function deleteStatement(
  ctx: RecordContext,
  model: CollectionModel,
  id: string,
  ifMatch: string | undefined,
) {
  const idColumn = model.fields.get("id")!.column;
  const revColumn = model.fields.get("rev")!.column;
  const expectedRev =
    ifMatch !== undefined && ifMatch.trim() !== "*" ? (parseEtag(ifMatch, id) ?? -1) : undefined;
  return {
    expectedRev,
    statement: statement(
      sql`DELETE FROM ${model.table} WHERE ${where([
        condition(ctx, model, "delete"),
        sql`${idColumn} = ${id}`,
        expectedRev === undefined ? undefined : sql`${revColumn} = ${expectedRev}`,
      ])} RETURNING "id"`,
    ),
  };
}

/**
 * Why a write touched no row: the record is invisible to the caller (404), visible but at another
 * revision than If-Match named (412), or visible but the rule forbids the write (403).
 */
export async function explainNoop(
  ctx: RecordContext,
  model: CollectionModel,
  id: string,
  expectedRev: number | undefined,
): Promise<ApiError> {
  const idColumn = model.fields.get("id")!.column;
  const rs = await ctx.write.execute(
    statement(
      sql`SELECT "rev" AS rev FROM ${model.table} WHERE ${where([condition(ctx, model, "view"), sql`${idColumn} = ${id}`])}`,
    ),
  );
  const row = rs.rows[0];
  if (row === undefined) return notFound(model, id);
  if (expectedRev !== undefined && Number(row.rev) !== expectedRev) {
    return new ApiError(
      "PRECONDITION_FAILED",
      "The record changed since you read it (If-Match does not match); read it again.",
      {
        headers: { etag: recordEtag(id, Number(row.rev)) },
      },
    );
  }
  if (ctx.principal.kind === "anonymous") {
    return new ApiError("UNAUTHENTICATED", "Sign in to do this.", {
      headers: { "www-authenticate": 'Bearer realm="nearbase"' },
    });
  }
  return new ApiError("FORBIDDEN", `You may not change this ${model.name} record.`);
}

export function firstRecord(
  rs: ResultSet,
  fields: ReturnType<typeof fieldsOf>,
): Record_ | undefined {
  const row = rs.rows[0];
  return row === undefined ? undefined : fromRow(fields, row);
}
