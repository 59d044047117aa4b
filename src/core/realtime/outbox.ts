import type { Client, Row } from "@libsql/client";

/** An outbox row as realtime reads it. */
export interface OutboxEvent {
  /**
   * The row's rowid: SQLite has one writer, so rowids grow in commit order (event ids sort by
   * the time the write started, which concurrent writers may commit out of order). Tailing by
   * rowid therefore never skips a late commit. Never sent to clients: they see `id`.
   */
  seq: number;
  id: string;
  type: string;
  collection: string;
  recordId: string;
  action: "create" | "update" | "delete" | string;
  occurredAt: number;
  /** Readable fields after the change (before it, for a delete). */
  record: Record<string, unknown>;
  changed?: string[];
}

const columns = "rowid AS seq, id, type, collection, record_id, occurred_at, data, changed";

function fromRow(r: Row): OutboxEvent {
  const type = String(r.type);
  const kind = type.slice(type.indexOf(".") + 1);
  const action =
    kind === "created"
      ? "create"
      : kind === "updated"
        ? "update"
        : kind === "deleted"
          ? "delete"
          : kind;
  const changed =
    r.changed === null || r.changed === undefined
      ? undefined
      : (JSON.parse(String(r.changed)) as string[]);
  return {
    seq: Number(r.seq),
    id: String(r.id),
    type,
    collection: String(r.collection),
    recordId: String(r.record_id),
    action,
    occurredAt: Number(r.occurred_at),
    record: JSON.parse(String(r.data)) as Record<string, unknown>,
    ...(changed ? { changed } : {}),
  };
}

/** Events committed after `seq`, oldest first, at most `limit`, and never past `upTo` when given. */
export async function eventsAfter(
  db: Client,
  seq: number,
  limit: number,
  upTo?: number,
): Promise<OutboxEvent[]> {
  const rs = await db.execute({
    sql:
      upTo === undefined
        ? `SELECT ${columns} FROM nb_events WHERE rowid > ? ORDER BY rowid LIMIT ?`
        : `SELECT ${columns} FROM nb_events WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?`,
    args: upTo === undefined ? [seq, limit] : [seq, upTo, limit],
  });
  return rs.rows.map(fromRow);
}

/** The newest event's position (0 when the outbox is empty): where a new tail starts. */
export async function headSeq(db: Client): Promise<number> {
  const rs = await db.execute("SELECT coalesce(max(rowid), 0) AS seq FROM nb_events");
  return Number(rs.rows[0]!.seq);
}

/**
 * The resume id of the position before every event (an empty outbox): what a stream that starts
 * on an empty outbox announces in its `connected` message.
 */
export const outboxStart = "evt_0";

/**
 * The resume id of outbox position `seq`, for a stream's `connected` message: the id of the
 * newest event at or before it, or `outboxStart` when there is none. A client that drops before
 * its first change resumes from it, so what was committed meanwhile is replayed.
 */
export async function positionId(db: Client, seq: number): Promise<string> {
  if (seq <= 0) return outboxStart;
  const rs = await db.execute({
    sql: "SELECT id FROM nb_events WHERE rowid <= ? ORDER BY rowid DESC LIMIT 1",
    args: [seq],
  });
  const row = rs.rows[0];
  return row === undefined ? outboxStart : String(row.id);
}

/**
 * Where to resume after the event a client saw last (`Last-Event-ID` / `since`, or the position
 * its `connected` message named): its position, or undefined when the outbox no longer has that
 * event or the first event after it is older than the replay window (the client must refetch).
 * Only what the client missed counts against the window: a resume id from a quiet hour ago
 * with nothing since is still good.
 */
export async function resumePoint(
  db: Client,
  eventId: string,
  oldestMs: number,
): Promise<number | undefined> {
  let seq = 0;
  if (eventId !== outboxStart) {
    if (!/^evt_[a-z0-9]{1,40}$/.test(eventId)) return undefined;
    const rs = await db.execute({
      sql: "SELECT rowid AS seq FROM nb_events WHERE id = ?",
      args: [eventId],
    });
    const row = rs.rows[0];
    if (row === undefined) return undefined;
    seq = Number(row.seq);
  }
  const next = await db.execute({
    sql: "SELECT occurred_at FROM nb_events WHERE rowid > ? ORDER BY rowid LIMIT 1",
    args: [seq],
  });
  const first = next.rows[0];
  if (first !== undefined && Number(first.occurred_at) < oldestMs) return undefined;
  return seq;
}
