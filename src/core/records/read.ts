import type { Client, InStatement, ResultSet } from "@libsql/client";
import { type SQL, sql } from "drizzle-orm";
import { unavailableRetryAfterSeconds } from "../db/unavailable";
import { ApiError } from "../kernel/errors";
import type { Principal } from "../kernel/principal";
import { FilterError } from "../query/ast";
import { compileFilter, templateAuthId, templateNow } from "../query/compile";
import { parseFilterOnce } from "../query/parser";
import { matchCondition } from "../search/fts";
import type { Operation } from "./define";
import { encodeCursor, filterProblem, type ListParams } from "./list-params";
import {
  authValues,
  type CollectionModel,
  compileContext,
  type Models,
  ruleCondition,
} from "./model";
import { bind, fieldsOf, fromRow, selectList, TemplateMemo, template } from "./sql";

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

const anonymousStandIn: Principal = { kind: "anonymous" };
const userStandIn: Principal = { kind: "user", id: templateAuthId, role: "user" };
const adminStandIn: Principal = { kind: "user", id: templateAuthId, role: "admin" };
const keyStandIn: Principal = {
  kind: "apiKey",
  id: templateAuthId,
  ownerId: templateAuthId,
  scopes: [],
};

/**
 * The caller as a statement's shape sees it. Rules and filters compile to the same SQL for
 * every caller of one kind (anonymous, user, admin, API key) — only the caller's id and the
 * clock differ, and those become slots — so a statement rendered for the kind's stand-in is
 * reused for all of them, with `values` bound per request.
 */
export function shapeContext(ctx: RecordContext): {
  key: string;
  ctx: RecordContext;
  values: Record<string, unknown>;
} {
  const p = ctx.principal;
  const [key, standIn] =
    p.kind === "anonymous"
      ? (["a", anonymousStandIn] as const)
      : p.kind === "apiKey"
        ? (["k", keyStandIn] as const)
        : p.role === "admin"
          ? (["A", adminStandIn] as const)
          : (["u", userStandIn] as const);
  return {
    key,
    ctx: { ...ctx, principal: standIn, now: templateNow },
    values: { now: ctx.now.toISOString(), "auth.id": authValues(p).id },
  };
}

/** One memo per collection and statement kind; models live as long as the app. */
export function memoFor(memos: WeakMap<CollectionModel, TemplateMemo>, model: CollectionModel) {
  let memo = memos.get(model);
  if (memo === undefined) {
    memo = new TemplateMemo();
    memos.set(model, memo);
  }
  return memo;
}
const listMemos = new WeakMap<CollectionModel, TemplateMemo>();
const countMemos = new WeakMap<CollectionModel, TemplateMemo>();
const viewMemos = new WeakMap<CollectionModel, TemplateMemo>();
const byIdsMemos = new WeakMap<CollectionModel, TemplateMemo>();

/**
 * Runs a read under the Node home's statement budget (its embedded engine interrupts a read that
 * outlives it). Whose fault an interrupted read is depends on who shaped it: a list with the
 * client's filter or search text is the client's query being too expensive — a 400 they can act
 * on; any other read (a get by id, related records, a list under the collection's own rules) was
 * slow because the server is (load, a costly rule): a 503 with Retry-After, never a 400 that
 * blames a client for asking for one record.
 */
async function budgeted<T>(read: Promise<T>, clientShaped = false): Promise<T> {
  try {
    return await read;
  } catch (err) {
    if ((err as { code?: unknown }).code !== "SQLITE_INTERRUPT") throw err;
    if (clientShaped)
      throw new ApiError(
        "QUERY_TOO_EXPENSIVE",
        "The query ran longer than this server allows; narrow the filter (shorter ~ patterns, fewer relation paths) or page with a smaller limit.",
      );
    throw new ApiError(
      "UNAVAILABLE",
      "The server could not finish this read in time; retry shortly.",
      { cause: err, headers: { "retry-after": String(unavailableRetryAfterSeconds) } },
    );
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
  const caller = shapeContext(ctx);
  const tctx = caller.ctx;
  const keys = [...new Set([...params.fields, ...params.sort.map((s) => s.key), ...params.expand])];
  const fields = fieldsOf(model, keys);
  const values: Record<string, unknown> = { ...caller.values, limit: params.limit + 1 };
  params.cursor?.forEach((v, i) => {
    values[`c${i}`] = v;
  });
  const conditions = () => [
    condition(tctx, model, "list"),
    params.filter === undefined ? undefined : clientFilter(tctx, model, params.filter),
    params.search === undefined ? undefined : matchCondition(model, params.search),
  ];
  const pageSql = () => {
    let after: SQL | undefined;
    if (params.cursor !== undefined) {
      const sortFields = params.sort.map((s) => model.fields.get(s.key)!);
      const ors = params.sort.map((s, i) => {
        const eqs = params.sort
          .slice(0, i)
          .map((_, j) => sql`${sortFields[j]!.column} = ${sql.placeholder(`c${j}`)}`);
        const cmp = s.desc
          ? sql`${sortFields[i]!.column} < ${sql.placeholder(`c${i}`)}`
          : sql`${sortFields[i]!.column} > ${sql.placeholder(`c${i}`)}`;
        return where([...eqs, cmp]);
      });
      after = sql.join(
        ors.map((o) => sql`(${o})`),
        sql` OR `,
      );
    }
    const order = sql.join(
      params.sort.map(
        (s) => sql`${model.fields.get(s.key)!.column} ${sql.raw(s.desc ? "DESC" : "ASC")}`,
      ),
      sql`, `,
    );
    return sql`SELECT ${selectList(fields)} FROM ${model.table} WHERE ${where([...conditions(), after])} ORDER BY ${order} LIMIT ${sql.placeholder("limit")}`;
  };
  const countSql = () => sql`SELECT count(*) AS n FROM ${model.table} WHERE ${where(conditions())}`;
  // A full-text query is a bound value too, but lists with `q` are rare: rendered per request.
  // The filter text comes last in the key: nothing before it can hold a "|".
  const filterKey = `${caller.key}|${params.filter ?? ""}`;
  const searching = params.search !== undefined;
  const clientShaped = searching || params.filter !== undefined;
  const statements: InStatement[] = [
    bind(
      searching
        ? template(pageSql())
        : memoFor(listMemos, model).get(
            `${params.sortText}|${params.cursor === undefined ? 0 : 1}|${keys.join(",")}|${filterKey}`,
            pageSql,
          ),
      values,
    ),
  ];
  if (params.total)
    statements.push(
      bind(
        searching ? template(countSql()) : memoFor(countMemos, model).get(filterKey, countSql),
        values,
      ),
    );
  const [page, count] =
    statements.length === 1
      ? [await budgeted(ctx.read.execute(statements[0]!), clientShaped)]
      : await budgeted(ctx.read.batch(statements, "read"), clientShaped);
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
  const keys = [...new Set(["id", ...fields])];
  const info = fieldsOf(model, keys);
  const idColumn = model.fields.get("id")!.column;
  const caller = shapeContext(ctx);
  const values: Record<string, unknown> = { ...caller.values };
  unique.forEach((id, i) => {
    values[`i${i}`] = id;
  });
  const t = memoFor(byIdsMemos, model).get(
    `${caller.key}|${unique.length}|${keys.join(",")}`,
    () =>
      sql`SELECT ${selectList(info)} FROM ${model.table} WHERE ${where([
        condition(caller.ctx, model, "view"),
        sql`${idColumn} IN (${sql.join(
          unique.map((_, i) => sql`${sql.placeholder(`i${i}`)}`),
          sql`, `,
        )})`,
      ])}`,
  );
  const rs = await budgeted(ctx.read.execute(bind(t, values)));
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
  const { info, joined } =
    fields === model.readable && expandKeys.length === 0
      ? wholeRecordColumns(model)
      : viewColumns(model, fields, expandKeys);
  const idColumn = model.fields.get("id")!.column;
  const caller = shapeContext(ctx);
  const t = memoFor(viewMemos, model).get(
    `${caller.key}|${joined}`,
    () =>
      sql`SELECT ${selectList(info)} FROM ${model.table} WHERE ${where([condition(caller.ctx, model, "view"), sql`${idColumn} = ${sql.placeholder("id")}`])}`,
  );
  const rs = await budgeted(ctx.read.execute(bind(t, { ...caller.values, id })));
  const row = rs.rows[0];
  if (row === undefined) throw notFound(model, id);
  const record = fromRow(info, row);
  const [expansion] = await expand(ctx, model, [record], expandKeys);
  return { record: shape(record, fields, expansion), rev: Number(record.rev) };
}

/** The columns a view reads: id and rev (for the ETag), the fields, the relations to expand. */
function viewColumns(model: CollectionModel, fields: readonly string[], expandKeys: string[]) {
  const keys = [...new Set(["id", "rev", ...fields, ...expandKeys])];
  return { keys, info: fieldsOf(model, keys), joined: keys.join(",") };
}

/** The same for a whole record (no `fields`, no `expand`: most views), once per collection. */
const wholeRecords = new WeakMap<CollectionModel, ReturnType<typeof viewColumns>>();
function wholeRecordColumns(model: CollectionModel) {
  let columns = wholeRecords.get(model);
  if (columns === undefined) {
    columns = viewColumns(model, model.readable, []);
    wholeRecords.set(model, columns);
  }
  return columns;
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
