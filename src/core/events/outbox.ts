import type { InStatement } from "@libsql/client";
import { type SQL, sql } from "drizzle-orm";
import type { Principal } from "../kernel/principal";
import type { CollectionModel, FieldInfo } from "../records/model";
import { statement } from "../records/sql";
import { eventId } from "./ids";

export type ChangeKind = "created" | "updated" | "deleted";

/** The change a write makes, as the outbox records it. */
export interface ChangeEvent {
  kind: ChangeKind;
  recordId: string;
  actor: string;
  /** Field names an update set (readable ones only). */
  changed?: string[];
}

/** How an event names who made the change: `user:<id>`, `apiKey:<id>` or `anonymous`. */
export function actorOf(principal: Principal): string {
  if (principal.kind === "user") return `user:${principal.id}`;
  if (principal.kind === "apiKey") return `apiKey:${principal.id}`;
  return "anonymous";
}

/** Whether writes to this collection produce events (`events: false` in defineCollection turns them off). */
export function emitsEvents(model: CollectionModel): boolean {
  return model.def.options.events !== false;
}

/** A column as a JSON value, typed as clients see it (JSON columns as JSON, booleans as booleans). */
function jsonValue(field: FieldInfo): SQL {
  const type = field.column.columnType;
  if (type === "SQLiteTextJson" || type === "SQLiteBlobJson") return sql`json(${field.column})`;
  if (type === "SQLiteBoolean")
    return sql`CASE WHEN ${field.column} IS NULL THEN NULL WHEN ${field.column} THEN json('true') ELSE json('false') END`;
  return sql`${field.column}`;
}

/**
 * The outbox INSERT for one change, run inside the write's own batch: it reads the record's
 * readable fields (hidden fields never enter an event) from the table by id, so it must run
 * after a create/update and before a delete. It inserts nothing when the record is absent; the
 * write's guard rolls the whole batch back in that case anyway. The SQL text is built once per
 * collection (only the values change), so the outbox adds one cheap statement to each write.
 */
export function outboxStatement(
  model: CollectionModel,
  change: ChangeEvent,
  nowMs: number,
): InStatement {
  let text = outboxSql.get(model);
  if (text === undefined) {
    const idColumn = model.fields.get("id")!.column;
    const rendered = statement(
      sql`INSERT INTO nb_events (id, type, collection, record_id, actor, occurred_at, changed, data) SELECT ?, ?, ?, ?, ?, ?, ?, ${recordJson(model)} FROM ${model.table} WHERE ${idColumn} = ?`,
    );
    if (rendered.args.length !== 0) throw new Error("outbox SQL must not bind values");
    text = rendered.sql;
    outboxSql.set(model, text);
  }
  return {
    sql: text,
    args: [
      eventId(nowMs),
      `${model.name}.${change.kind}`,
      model.name,
      change.recordId,
      change.actor,
      nowMs,
      change.changed === undefined ? null : JSON.stringify(change.changed),
      change.recordId,
    ],
  };
}

/** A record's readable fields (hidden ones never enter an event) as a JSON object. */
export function recordJson(model: CollectionModel): SQL {
  // Encrypted fields stay out too: an event is delivered and logged outside the data's keys.
  const fields = model.readable
    .filter((k) => !model.encrypted.has(k))
    .map((k) => model.fields.get(k)!);
  // Keys are schema identifiers (checked by defineCollection/drizzle), so they are inlined.
  const record = sql.join(
    fields.map((f) => sql`${sql.raw(`'${f.key.replaceAll("'", "''")}'`)}, ${jsonValue(f)}`),
    sql`, `,
  );
  return sql`json_object(${record})`;
}

const outboxSql = new WeakMap<CollectionModel, string>();

/** Event sources besides the collections: what a pattern like `api_key.*` may name. */
export const engineSources = ["user", "api_key", "session", "refresh_token"] as const;

/**
 * The outbox INSERT for an engine event (`user.created`, `api_key.revoked`, …), placed right
 * after the statement that makes the change in the same batch: it inserts only when that
 * statement changed a row (`changes()`), so the event exists iff the change did.
 */
export function engineEventStatement(
  type: EngineEventType,
  subjectId: string,
  actor: string,
  data: Record<string, unknown>,
  nowMs: number,
): InStatement {
  return statement(engineEventSql(type, subjectId, actor, data, nowMs));
}

type EngineEventType = `${(typeof engineSources)[number]}.${string}`;

/** The same, as drizzle SQL (for `db.batch([...])`). */
export function engineEventSql(
  type: EngineEventType,
  subjectId: string,
  actor: string,
  data: Record<string, unknown>,
  nowMs: number,
  onlyIfChanged = true,
): SQL {
  return sql`INSERT INTO nb_events (id, type, collection, record_id, actor, occurred_at, data) SELECT ${eventId(nowMs)}, ${type}, ${type.split(".")[0]!}, ${subjectId}, ${actor}, ${nowMs}, ${JSON.stringify(data)} WHERE ${onlyIfChanged ? sql`changes() > 0` : sql`1`}`;
}
