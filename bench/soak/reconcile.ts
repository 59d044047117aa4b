import type { Client } from "@libsql/client";

/**
 * "Nothing lost", checked from the outside: every write a client sent is in a ledger with what
 * the client was told; at the end the ledger is reconciled against what the database holds and
 * what the webhook receiver got.
 *
 * - acknowledged (2xx): the record exists with what was sent, and its outbox event exists;
 * - refused with a 4xx: nothing was applied;
 * - no answer or a 5xx (a crash, a timeout, an outage): either fully applied (record AND event)
 *   or not at all — never one without the other;
 * - every `posts.created` event of these records reached the webhook receiver (at least once).
 */
export type Outcome =
  | { kind: "acked"; id: string; status: number }
  | { kind: "refused"; status: number }
  | { kind: "unknown"; status?: number; error?: string };

export class Ledger {
  readonly writes = new Map<string, Outcome>();
  record(title: string, outcome: Outcome) {
    this.writes.set(title, outcome);
  }
  count(kind: Outcome["kind"]) {
    let n = 0;
    for (const o of this.writes.values()) if (o.kind === kind) n++;
    return n;
  }
}

/** Creates a post titled `title` and records what the client was told. */
export async function createPost(
  base: string,
  token: string,
  title: string,
  ledger: Ledger,
  timeoutMs = 30_000,
): Promise<Outcome> {
  let outcome: Outcome;
  try {
    const res = await fetch(`${base}/api/collections/posts/records`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ title, status: "published" }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status >= 200 && res.status < 300) {
      outcome = { kind: "acked", id: (JSON.parse(text) as { id: string }).id, status: res.status };
    } else if (res.status >= 400 && res.status < 500) {
      outcome = { kind: "refused", status: res.status };
    } else {
      outcome = { kind: "unknown", status: res.status };
    }
  } catch (err) {
    outcome = { kind: "unknown", error: (err as Error).name };
  }
  ledger.record(title, outcome);
  return outcome;
}

export interface Reconciliation {
  sent: number;
  acked: number;
  refused: number;
  unknown: number;
  /** Of the unknown ones: applied whole / not applied. */
  unknownApplied: number;
  unknownAbsent: number;
  /** Violations: each must be zero. */
  lostAcked: string[];
  appliedRefused: string[];
  recordWithoutEvent: string[];
  eventWithoutRecord: string[];
  undelivered: string[];
  ok: boolean;
}

/**
 * Compares the ledger with the database (`posts` + `nb_events`) and with the event ids a webhook
 * receiver got (`delivered`: the `webhook-id` headers). Titles must carry `prefix`.
 */
export async function reconcile(
  db: Client,
  ledger: Ledger,
  prefix: string,
  delivered: Set<string> | undefined,
): Promise<Reconciliation> {
  const rows = await db.execute({
    sql: "SELECT id, title FROM posts WHERE title LIKE ? ESCAPE '\\'",
    args: [`${prefix.replaceAll("%", "\\%").replaceAll("_", "\\_")}%`],
  });
  const byTitle = new Map(rows.rows.map((r) => [String(r.title), String(r.id)]));
  const events = await db.execute({
    sql: "SELECT id, record_id FROM nb_events WHERE type = 'posts.created'",
    args: [],
  });
  const eventOf = new Map(events.rows.map((r) => [String(r.record_id), String(r.id)]));
  const ids = new Set(byTitle.values());
  const result: Reconciliation = {
    sent: ledger.writes.size,
    acked: 0,
    refused: 0,
    unknown: 0,
    unknownApplied: 0,
    unknownAbsent: 0,
    lostAcked: [],
    appliedRefused: [],
    recordWithoutEvent: [],
    eventWithoutRecord: [],
    undelivered: [],
    ok: false,
  };
  for (const [title, outcome] of ledger.writes) {
    const id = byTitle.get(title);
    result[outcome.kind]++;
    // A batch's answer may not say which id went with which title: then presence is the check.
    if (outcome.kind === "acked" && (id === undefined || (outcome.id !== "" && id !== outcome.id)))
      result.lostAcked.push(title);
    if (outcome.kind === "refused" && id !== undefined) result.appliedRefused.push(title);
    if (outcome.kind === "unknown") {
      if (id === undefined) result.unknownAbsent++;
      else result.unknownApplied++;
    }
  }
  for (const [title, id] of byTitle) {
    const event = eventOf.get(id);
    if (event === undefined) result.recordWithoutEvent.push(title);
    else if (delivered !== undefined && !delivered.has(event)) result.undelivered.push(event);
  }
  // Events for records of this run that are not in the database (a half-applied write).
  const runEvents = await db.execute({
    sql: "SELECT id, record_id FROM nb_events WHERE type = 'posts.created' AND json_extract(data, '$.title') LIKE ? ESCAPE '\\'",
    args: [`${prefix.replaceAll("%", "\\%").replaceAll("_", "\\_")}%`],
  });
  for (const r of runEvents.rows)
    if (!ids.has(String(r.record_id))) result.eventWithoutRecord.push(String(r.id));
  result.ok =
    result.lostAcked.length === 0 &&
    result.appliedRefused.length === 0 &&
    result.recordWithoutEvent.length === 0 &&
    result.eventWithoutRecord.length === 0 &&
    result.undelivered.length === 0;
  return result;
}
