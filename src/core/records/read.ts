import type { Client, InStatement, ResultSet } from "@libsql/client";
import { type SQL, sql } from "drizzle-orm";
import { ApiError } from "../kernel/errors";
import type { Principal } from "../kernel/principal";
import { FilterError } from "../query/ast";
import { compileFilter } from "../query/compile";
import { parseFilterOnce } from "../query/parser";
import { matchCondition } from "../search/fts";
import type { Operation } from "./define";
import { encodeCursor, filterProblem, type ListParams } from "./list-params";
import { type CollectionModel, compileContext, type Models, ruleCondition } from "./model";
import { fieldsOf, fromRow, selectList, statement } from "./sql";

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

/**
 * Runs a read the client shaped (filter, expansion). A read the database stopped because it
 * outlived the statement budget (the Node home's embedded engine interrupts it) is the client's
 * query being too expensive: a 400, not a 500.
 */
async function budgeted<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (err) {
    if ((err as { code?: unknown }).code === "SQLITE_INTERRUPT")
      throw new ApiError(
        "QUERY_TOO_EXPENSIVE",
        "The query ran longer than this server allows; narrow the filter (shorter ~ patterns, fewer relation paths) or page with a smaller limit.",
      );
    throw err;
  }
}

export function condition(
  ctx: RecordContext,
  model: CollectionModel,
  op: Operation,
): SQL | undefined {
  const rule = ruleCondition(model, op, ctx.principal, ctx.now);
  if (rule === false) return sql`0`;
  return rule;
}

function clientFilter(ctx: RecordContext, model: CollectionModel, text: string): SQL {
  try {
    return compileFilter(
      parseFilterOnce(text),
      compileContext(model, ctx.principal, ctx.now, false),
    );
  } catch (err) {
    if (err instanceof FilterError) throw filterProblem(err);
    throw err;
  }
}

export function where(parts: (SQL | undefined)[]): SQL {
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
  const match = params.search === undefined ? undefined : matchCondition(model, params.search);
  const conditions = [rule, filter, match];
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
      ? [await budgeted(ctx.read.execute(statements[0]!))]
      : await budgeted(ctx.read.batch(statements, "read"));
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
    const target = model.relations.get(key)!;
    const ids = rows.map((r) => r[key]).filter((v): v is string => typeof v === "string");
    byKey.set(key, await recordsByIds(ctx, target, ids, target.readable));
  }
  return rows.map((row) =>
    Object.fromEntries(keys.map((key) => [key, byKey.get(key)!.get(row[key] as string) ?? null])),
  );
}

/**
 * The records among `ids` the caller may view (the view rule in the statement), in one query,
 * keyed by id; ids that are missing or not visible are simply absent. Expansion and GraphQL's
 * batched relation loads use it.
 */
export async function recordsByIds(
  ctx: RecordContext,
  model: CollectionModel,
  ids: readonly string[],
  fields: readonly string[],
): Promise<Map<string, Record_>> {
  const unique = [...new Set(ids)];
  const found = new Map<string, Record_>();
  if (unique.length === 0) return found;
  const info = fieldsOf(model, [...new Set(["id", ...fields])]);
  const idColumn = model.fields.get("id")!.column;
  const rs = await budgeted(
    ctx.read.execute(
      statement(
        sql`SELECT ${selectList(info)} FROM ${model.table} WHERE ${where([
          condition(ctx, model, "view"),
          sql`${idColumn} IN (${sql.join(
            unique.map((id) => sql`${id}`),
            sql`, `,
          )})`,
        ])}`,
      ),
    ),
  );
  for (const r of rs.rows) {
    const record = fromRow(info, r);
    found.set(record.id as string, record);
  }
  return found;
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
  const rs = await budgeted(
    ctx.read.execute(
      statement(
        sql`SELECT ${selectList(info)} FROM ${model.table} WHERE ${where([condition(ctx, model, "view"), sql`${idColumn} = ${id}`])}`,
      ),
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

export function firstRecord(
  rs: ResultSet,
  fields: ReturnType<typeof fieldsOf>,
): Record_ | undefined {
  const row = rs.rows[0];
  return row === undefined ? undefined : fromRow(fields, row);
}
