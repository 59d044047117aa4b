import { getTableName, type SQL, sql } from "drizzle-orm";
import { randomId } from "../kernel/crypto";
import { ApiError } from "../kernel/errors";
import { refusal } from "../kernel/refusals";
import { columnName } from "./columns";
import type { RelationCheck } from "./commit";
import { expectedRevision, recordEtag } from "./ids";
import { type CollectionModel, type FieldInfo, ruleCondition } from "./model";
import {
  condition,
  memoFor,
  notFound,
  type Record_,
  type RecordContext,
  shapeContext,
  where,
} from "./read";
import { bind, fieldsOf, statement, type TemplateMemo, toDriver } from "./sql";

/*
 * Write statements. Each checks its rule inside the statement itself (INSERT … SELECT … WHERE
 * rule, UPDATE/DELETE … WHERE rule AND id AND rev), so there is no window between check and
 * write, and a refused write is simply one that touched no row.
 */

/**
 * For each relation field the write sets, a query that is non-empty only when the target record
 * exists AND the caller may view it. A missing target and one the caller may not see are refused
 * alike (same check, same statement, same problem), so a write cannot probe for hidden records.
 */
export function relationChecks(
  ctx: RecordContext,
  model: CollectionModel,
  data: Record_,
): RelationCheck[] {
  const checks: RelationCheck[] = [];
  for (const [field, target] of model.relations) {
    const value = data[field];
    if (value === undefined || value === null) continue;
    const alias = `nb_r1_${field}`;
    const visible = ruleCondition(target, "view", ctx.principal, ctx.now, alias, 1);
    const idColumn = sql`${sql.identifier(alias)}.${sql.identifier("id")}`;
    checks.push({
      field,
      exists: sql`SELECT 1 FROM ${target.table} AS ${sql.identifier(alias)} WHERE ${where([
        sql`${idColumn} = ${String(value)}`,
        visible === false ? sql`0` : visible,
      ])}`,
    });
  }
  return checks;
}

/** The same problem for a relation to a missing record and to one the caller may not view. */
export function missingRelation(field: string | undefined, pathPrefix = ""): ApiError {
  return new ApiError("VALIDATION_FAILED", "A relation points at a record that does not exist.", {
    errors:
      field === undefined
        ? undefined
        : [{ path: `${pathPrefix}/${field}`, message: "no such record" }],
  });
}

/** A new id for a record of `model` (known before the insert: encrypted fields are bound to it). */
export function newRecordId(model: CollectionModel): string {
  return randomId(model.def.options.idPrefix);
}

/** The statement that inserts a record if the create rule holds for it (checked in SQL). */
export function createStatement(
  ctx: RecordContext,
  model: CollectionModel,
  data: Record_,
  id = newRecordId(model),
) {
  const nowIso = ctx.now.toISOString();
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
  const present = all.filter((f) => f.key in values);
  const shape = shapeContext(ctx);
  const bound: Record_ = { ...shape.values };
  for (const f of present) bound[`f:${f.key}`] = toDriver(f, values[f.key]);
  // Rendered once per caller kind and set of fields given; the values are bound per request.
  const t = memoFor(createMemos, model).get(
    `${shape.key}|${present.map((f) => f.key).join(",")}`,
    () => {
      const cells = all.map((f) => {
        if (f.key in values) return sql`${sql.placeholder(`f:${f.key}`)}`;
        const fallback = (f.column as unknown as { default?: unknown }).default;
        if (fallback === undefined) return sql`NULL`;
        return typeof fallback === "object" && fallback !== null && "getSQL" in fallback
          ? (fallback as SQL)
          : sql`${toDriver(f, fallback)}`;
      });
      const names = all.map((f) => sql.identifier(columnName(f.column)));
      const rule = condition(shape.ctx, model, "create");
      // The rule reads the candidate row through a derived table named like the real one.
      const guard =
        rule === undefined
          ? sql``
          : sql` WHERE EXISTS (SELECT 1 FROM (SELECT ${sql.join(
              cells.map((cell, i) => sql`${cell} AS ${names[i]}`),
              sql`, `,
            )}) AS ${sql.identifier(getTableName(model.table))} WHERE ${rule})`;
      return sql`INSERT INTO ${model.table} (${sql.join(names, sql`, `)}) SELECT ${sql.join(cells, sql`, `)}${guard} RETURNING ${returningList(returningOf(model))}`;
    },
  );
  return { id, statement: bind(t, bound), returning: returningOf(model) };
}

const createMemos = new WeakMap<CollectionModel, TemplateMemo>();
const returnings = new WeakMap<CollectionModel, FieldInfo[]>();
/** What a write returns: the id, the revision (ETag) and every readable field. */
function returningOf(model: CollectionModel): FieldInfo[] {
  let fields = returnings.get(model);
  if (fields === undefined) {
    fields = fieldsOf(model, [...new Set(["id", "rev", ...model.readable])]);
    returnings.set(model, fields);
  }
  return fields;
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
  const expectedRev = expectedRevision(ifMatch, id);
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
  const expectedRev = expectedRevision(ifMatch, id);
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
  return refusal(ctx.principal, `You may not change this ${model.name} record.`);
}
