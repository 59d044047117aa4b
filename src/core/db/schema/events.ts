import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * The transactional outbox: one row per committed change, written in the same libSQL batch as
 * the change itself (an event exists iff its write committed). Ids sort by time. `dispatchedAt`
 * is set once the event has been fanned out into deliveries (see core/events/fan-out.ts).
 */
export const events = sqliteTable(
  "nb_events",
  {
    id: text().primaryKey(),
    type: text().notNull(),
    collection: text().notNull(),
    recordId: text().notNull(),
    /** `user:<id>`, `apiKey:<id>` or `anonymous`. */
    actor: text().notNull(),
    /** Epoch ms. */
    occurredAt: integer().notNull(),
    /** The readable fields after the change (before it, for deletes), as JSON. */
    data: text().notNull(),
    /** Field names an update set, as a JSON array; null otherwise. */
    changed: text(),
    dispatchedAt: integer(),
  },
  (t) => [index("nb_events_pending_idx").on(t.dispatchedAt, t.id)],
);

/** A webhook endpoint. Secrets are stored only encrypted (AES-GCM, key from the secret store). */
export const webhookEndpoints = sqliteTable("nb_webhook_endpoints", {
  id: text().primaryKey(),
  url: text().notNull(),
  description: text().notNull().default(""),
  /** JSON array of event-type patterns: `posts.created`, `posts.*`, `*.deleted`, `*`. */
  patterns: text().notNull(),
  enabled: integer({ mode: "boolean" }).notNull().default(true),
  /** Why the endpoint was switched off automatically (null when enabled or disabled by hand). */
  disabledReason: text(),
  secret: text().notNull(),
  /** The secret before the last rotation, still signing until `previousSecretUntil` (epoch ms). */
  previousSecret: text(),
  previousSecretUntil: integer(),
  /** Lets this endpoint reach private/loopback addresses (operators only, on purpose). */
  allowPrivate: integer({ mode: "boolean" }).notNull().default(false),
  maxConcurrency: integer().notNull(),
  timeoutMs: integer().notNull(),
  /** Consecutive failed attempts; reset by any success. */
  failureStreak: integer().notNull().default(0),
  created: text().notNull(),
  updated: text().notNull(),
});

/** One event for one endpoint: at-least-once, retried with backoff, then dead-lettered. */
export const webhookDeliveries = sqliteTable(
  "nb_webhook_deliveries",
  {
    id: text().primaryKey(),
    endpointId: text()
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    eventId: text().notNull(),
    /** pending → delivering → succeeded | pending (retry) | dead. */
    status: text({ enum: ["pending", "delivering", "succeeded", "dead"] }).notNull(),
    attempts: integer().notNull().default(0),
    /** Epoch ms: when the next attempt is due (pending) or the claim expires (delivering). */
    dueAt: integer().notNull(),
    createdAt: integer().notNull(),
    completedAt: integer(),
    lastStatusCode: integer(),
    lastError: text(),
  },
  (t) => [
    uniqueIndex("nb_webhook_deliveries_endpoint_event_idx").on(t.endpointId, t.eventId),
    index("nb_webhook_deliveries_due_idx").on(t.status, t.dueAt),
    // The claim walks one endpoint's due deliveries in order.
    index("nb_webhook_deliveries_endpoint_due_idx").on(t.endpointId, t.status, t.dueAt),
  ],
);

/** The delivery log: one row per HTTP attempt. Pruned by a scheduled job. */
export const webhookAttempts = sqliteTable(
  "nb_webhook_attempts",
  {
    id: text().primaryKey(),
    deliveryId: text()
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    endpointId: text().notNull(),
    attempt: integer().notNull(),
    startedAt: integer().notNull(),
    durationMs: integer().notNull(),
    /** succeeded | failed */
    outcome: text().notNull(),
    statusCode: integer(),
    /** First bytes of the response body. */
    response: text(),
    error: text(),
  },
  (t) => [
    index("nb_webhook_attempts_delivery_idx").on(t.deliveryId, t.attempt),
    index("nb_webhook_attempts_started_idx").on(t.startedAt),
  ],
);

/** Scheduled jobs: a lease row per job so two runners never run one job at once. */
export const jobs = sqliteTable("nb_jobs", {
  name: text().primaryKey(),
  leaseUntil: integer().notNull(),
  holder: text().notNull(),
  lastRunAt: integer(),
  lastResult: text(),
});
