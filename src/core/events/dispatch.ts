import type { InStatement, ResultSet, Row } from "@libsql/client";
import { randomId } from "../kernel/crypto";
import { attempt, type Claimed, type DeliveryDeps, eventBody, record } from "./deliver";
import { matchesAny } from "./patterns";

/** Slack past an endpoint's timeout before a claimed delivery counts as abandoned (a crash). */
const claimSlackMs = 30_000;

/**
 * Fans undispatched outbox events out into one delivery per matching enabled endpoint, and marks
 * them dispatched, in one batch. Idempotent (a delivery is unique per endpoint and event), so two
 * runners at once are harmless. Returns how many events it handled.
 */
export async function fanOut(deps: DeliveryDeps, limit = 500): Promise<number> {
  const now = deps.now();
  const [pending, endpoints] = await deps.sql.batch(
    [
      {
        sql: "SELECT id, type FROM nb_events WHERE dispatched_at IS NULL ORDER BY id LIMIT ?",
        args: [limit],
      },
      { sql: "SELECT id, patterns FROM nb_webhook_endpoints WHERE enabled", args: [] },
    ],
    "read",
  );
  if (pending!.rows.length === 0) return 0;
  const targets = endpoints!.rows.map((e) => ({
    id: String(e.id),
    patterns: JSON.parse(String(e.patterns)) as string[],
  }));
  const statements: InStatement[] = [];
  for (const event of pending!.rows) {
    for (const endpoint of targets) {
      if (!matchesAny(endpoint.patterns, String(event.type))) continue;
      statements.push({
        sql: "INSERT OR IGNORE INTO nb_webhook_deliveries (id, endpoint_id, event_id, status, attempts, due_at, created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)",
        args: [randomId("dlv"), endpoint.id, String(event.id), now, now],
      });
    }
  }
  const ids = pending!.rows.map((r) => String(r.id));
  statements.push({
    sql: `UPDATE nb_events SET dispatched_at = ? WHERE dispatched_at IS NULL AND id IN (${ids.map(() => "?").join(",")})`,
    args: [now, ...ids],
  });
  await deps.sql.batch(statements, "write");
  deps.metrics?.eventsDispatched.inc({}, ids.length);
  return ids.length;
}

/**
 * Claims up to `limit` due deliveries in one statement (so two runners never claim the same one),
 * never more per endpoint than its concurrency cap minus what is already in flight. A claim lasts
 * the endpoint's timeout plus slack; one left by a crashed runner becomes due again after that.
 */
export async function claimDue(deps: DeliveryDeps, limit: number): Promise<Claimed[]> {
  const now = deps.now();
  // One claim per enabled endpoint, all in one write transaction: each takes that endpoint's
  // oldest due deliveries, at most its cap minus what it has in flight (an index walk per
  // endpoint, so a large backlog at one endpoint costs the others nothing).
  const enabled = await deps.sql.execute("SELECT id FROM nb_webhook_endpoints WHERE enabled");
  if (enabled.rows.length === 0) return [];
  const results = await deps.sql.batch(
    enabled.rows.map((e) => ({
      sql: `UPDATE nb_webhook_deliveries AS d
              SET status = 'delivering', attempts = d.attempts + 1,
                  due_at = ?2 + (SELECT timeout_ms FROM nb_webhook_endpoints e WHERE e.id = d.endpoint_id) + ?3
            WHERE d.id IN (
              SELECT id FROM nb_webhook_deliveries
              WHERE endpoint_id = ?1 AND status IN ('pending', 'delivering') AND due_at <= ?2
              ORDER BY due_at, id
              LIMIT max(0, min(?4, coalesce((SELECT max_concurrency FROM nb_webhook_endpoints WHERE id = ?1 AND enabled), 0)
                - (SELECT count(*) FROM nb_webhook_deliveries WHERE endpoint_id = ?1 AND status = 'delivering' AND due_at > ?2))))
            RETURNING id, endpoint_id, event_id, attempts, created_at`,
      args: [String(e.id), now, claimSlackMs, limit],
    })),
    "write",
  );
  const rs = { rows: keepWithin(results, limit) };
  const kept = new Set(rs.rows.map((r) => String(r.id)));
  const excess = results.flatMap((r) => r.rows).filter((r) => !kept.has(String(r.id)));
  if (excess.length > 0) {
    // Each endpoint's claim took up to `limit`; together they took more. Hand the rest back,
    // due now and with the attempt not counted, so `limit` is a cap over all endpoints.
    await deps.sql.execute({
      sql: `UPDATE nb_webhook_deliveries SET status = 'pending', attempts = attempts - 1, due_at = ? WHERE status = 'delivering' AND id IN (${excess.map(() => "?").join(",")})`,
      args: [now, ...excess.map((r) => String(r.id))],
    });
  }
  if (rs.rows.length === 0) return [];
  const eventIds = [...new Set(rs.rows.map((r) => String(r.event_id)))];
  const endpointIds = [...new Set(rs.rows.map((r) => String(r.endpoint_id)))];
  const [events, endpoints] = await deps.sql.batch(
    [
      {
        sql: `SELECT * FROM nb_events WHERE id IN (${eventIds.map(() => "?").join(",")})`,
        args: eventIds,
      },
      {
        sql: `SELECT id, url, secret, previous_secret, previous_secret_until, allow_private, timeout_ms FROM nb_webhook_endpoints WHERE id IN (${endpointIds.map(() => "?").join(",")})`,
        args: endpointIds,
      },
    ],
    "read",
  );
  const eventsById = new Map(events!.rows.map((r) => [String(r.id), r]));
  const endpointsById = new Map(endpoints!.rows.map((r) => [String(r.id), r]));
  const claimed: Claimed[] = [];
  for (const r of rs.rows) {
    const event = eventsById.get(String(r.event_id));
    const endpoint = endpointsById.get(String(r.endpoint_id));
    if (event === undefined || endpoint === undefined) {
      // The event was pruned or the endpoint deleted meanwhile: nothing left to deliver.
      await deps.sql.execute({
        sql: "UPDATE nb_webhook_deliveries SET status = 'dead', last_error = 'event or endpoint gone', completed_at = ? WHERE id = ?",
        args: [now, String(r.id)],
      });
      continue;
    }
    claimed.push({
      id: String(r.id),
      endpointId: String(r.endpoint_id),
      attempts: Number(r.attempts),
      createdAt: Number(r.created_at),
      event: {
        id: String(event.id),
        type: String(event.type),
        occurredAt: Number(event.occurred_at),
        body: eventBody(event),
      },
      endpoint: {
        url: String(endpoint.url),
        secret: String(endpoint.secret),
        previousSecret: endpoint.previous_secret === null ? null : String(endpoint.previous_secret),
        previousSecretUntil:
          endpoint.previous_secret_until === null ? null : Number(endpoint.previous_secret_until),
        allowPrivate: Number(endpoint.allow_private) === 1,
        timeoutMs: Number(endpoint.timeout_ms),
      },
    });
  }
  return claimed;
}

let rotation = 0;

/**
 * At most `limit` of the rows the per-endpoint claims returned, taken in turns (one per endpoint
 * per round, starting at a rotating endpoint), so a small cap is shared fairly.
 */
function keepWithin(results: readonly ResultSet[], limit: number): Row[] {
  const total = results.reduce((n, r) => n + r.rows.length, 0);
  if (total <= limit) return results.flatMap((r) => r.rows);
  const queues = results.map((r) => [...r.rows]).filter((q) => q.length > 0);
  const start = rotation++ % queues.length;
  const kept: Row[] = [];
  for (let round = 0; kept.length < limit; round++) {
    for (let i = 0; i < queues.length && kept.length < limit; i++) {
      const row = queues[(start + i) % queues.length]![round];
      if (row !== undefined) kept.push(row);
    }
  }
  return kept;
}

/**
 * Measures what is still to do (outbox events not fanned out, deliveries pending or in flight to
 * enabled endpoints, and the age of the oldest) into the backlog gauges. One read.
 */
export async function observeBacklog(deps: DeliveryDeps) {
  if (deps.metrics === undefined) return;
  const rs = await deps.sql.execute(`SELECT
      (SELECT count(*) FROM nb_events WHERE dispatched_at IS NULL) AS events,
      (SELECT min(occurred_at) FROM nb_events WHERE dispatched_at IS NULL) AS oldest_event,
      (SELECT count(*) FROM nb_webhook_deliveries d JOIN nb_webhook_endpoints e ON e.id = d.endpoint_id
        WHERE e.enabled AND d.status IN ('pending', 'delivering')) AS deliveries,
      (SELECT min(d.created_at) FROM nb_webhook_deliveries d JOIN nb_webhook_endpoints e ON e.id = d.endpoint_id
        WHERE e.enabled AND d.status IN ('pending', 'delivering')) AS oldest_delivery`);
  const row = rs.rows[0]!;
  deps.metrics.backlog.set(Number(row.events), { kind: "events" });
  deps.metrics.backlog.set(Number(row.deliveries), { kind: "deliveries" });
  const oldest = [row.oldest_event, row.oldest_delivery]
    .filter((v) => v !== null && v !== undefined)
    .map(Number);
  deps.metrics.oldestPending.set(
    oldest.length === 0 ? 0 : Math.max(0, (deps.now() - Math.min(...oldest)) / 1000),
  );
}

/** One claimed delivery, attempted and recorded; errors are logged, never thrown. */
export async function deliver(deps: DeliveryDeps, claimed: Claimed) {
  try {
    return await record(deps, claimed, await attempt(deps, claimed));
  } catch (err) {
    deps.log.write({
      level: "error",
      msg: "webhook delivery failed to record",
      delivery: claimed.id,
      error: String((err as Error).message ?? err),
    });
    return "error" as const;
  }
}

/**
 * One full pass, awaited: fan out the outbox, then claim and attempt due deliveries until none
 * are due or `maxRounds` passes ran. The Workers queue consumer and cron sweep use it; the Node
 * dispatcher runs the same steps in a loop without waiting on slow receivers.
 */
export async function dispatchOnce(
  deps: DeliveryDeps,
  options: { batch?: number; maxRounds?: number } = {},
) {
  const batch = options.batch ?? 50;
  let events = 0;
  let attempted = 0;
  for (let round = 0; round < (options.maxRounds ?? 10); round++) {
    let fanned = 0;
    do {
      fanned = await fanOut(deps);
      events += fanned;
    } while (fanned > 0 && events < 10_000);
    const claimed = await claimDue(deps, batch);
    if (claimed.length === 0) break;
    await Promise.all(claimed.map((c) => deliver(deps, c)));
    attempted += claimed.length;
  }
  await observeBacklog(deps);
  return { events, attempted };
}
