import type { InStatement } from "@libsql/client";
import { type SQL, sql } from "drizzle-orm";
import { getTableConfig } from "drizzle-orm/sqlite-core";
import type { CollectionModel } from "../records/model";
import { statement } from "../records/sql";
import { eventId } from "./ids";
import { emitsEvents, recordJson } from "./outbox";

/** How deep a chain of ON DELETE CASCADE foreign keys is followed (posts → comments → …). */
const maxDepth = 4;

/** A foreign key of `child` to `parent`'s id that deletes the child with its parent. */
interface CascadeEdge {
  child: CollectionModel;
  field: SQL;
}

function cascadeEdges(parent: CollectionModel): CascadeEdge[] {
  const edges: CascadeEdge[] = [];
  for (const child of parent.dependents) {
    for (const fk of getTableConfig(child.table).foreignKeys) {
      const { columns, foreignColumns, foreignTable } = fk.reference();
      if (foreignTable !== parent.table || fk.onDelete !== "cascade") continue;
      if (columns.length !== 1 || foreignColumns[0]?.name !== "id") continue;
      edges.push({ child, field: sql`${columns[0]}` });
    }
  }
  return edges;
}

/**
 * The SQL text of one INSERT … SELECT per collection whose rows a delete in `model` removes
 * through ON DELETE CASCADE (directly or down a chain), each writing `<child>.deleted` for every
 * such row with its readable fields. Collections with `events: false` write none (their own
 * children still do). A self-reference or a loop is not followed (the path never revisits a
 * collection). Built once per collection; binds: id prefix, actor, time, the deleted record's id.
 */
function cascadeSql(model: CollectionModel): { collection: string; text: string }[] {
  const cached = cascadeCache.get(model);
  if (cached !== undefined) return cached;
  const texts: { collection: string; text: string }[] = [];
  const walk = (parent: CollectionModel, parentIds: SQL, path: CollectionModel[]) => {
    if (path.length > maxDepth) return;
    for (const { child, field } of cascadeEdges(parent)) {
      if (path.includes(child)) continue;
      const where = sql`${field} IN (${parentIds})`;
      if (emitsEvents(child)) {
        const rendered = statement(
          sql`INSERT INTO nb_events (id, type, collection, record_id, actor, occurred_at, data) SELECT ${sql.raw("?1")} || printf('%04x', row_number() OVER ()) || lower(hex(randomblob(4))), ${sql.raw(`'${child.name}.deleted'`)}, ${sql.raw(`'${child.name}'`)}, ${child.fields.get("id")!.column}, ${sql.raw("?2, ?3")}, ${recordJson(child)} FROM ${child.table} WHERE ${where}`,
        );
        if (rendered.args.length !== 0) throw new Error("cascade SQL must not bind values");
        texts.push({ collection: child.name, text: rendered.sql });
      }
      walk(
        child,
        sql`SELECT ${child.fields.get("id")!.column} FROM ${child.table} WHERE ${where}`,
        [...path, child],
      );
    }
  };
  walk(model, sql.raw("?4"), [model]);
  cascadeCache.set(model, texts);
  return texts;
}

const cascadeCache = new WeakMap<CollectionModel, { collection: string; text: string }[]>();

/**
 * The outbox statements for the rows a delete of `recordId` in `model` will remove through ON
 * DELETE CASCADE: placed in the delete's batch BEFORE the delete (they read the rows while they
 * are there), so each removed child record gets its `<child>.deleted` event iff the delete
 * commits. Empty when nothing cascades.
 */
export function cascadeEventStatements(
  model: CollectionModel,
  recordId: string,
  actor: string,
  nowMs: number,
): { collection: string; statement: InStatement }[] {
  const texts = cascadeSql(model);
  if (texts.length === 0) return [];
  return texts.map(({ collection, text }) => ({
    collection,
    statement: { sql: text, args: [eventId(nowMs).slice(0, 17), actor, nowMs, recordId] },
  }));
}
