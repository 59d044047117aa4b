import type { InStatement, Row } from "@libsql/client";
import type * as z from "zod/mini";
import { randomId } from "../kernel/crypto";
import { ApiError } from "../kernel/errors";
import { isAdmin, type Principal } from "../kernel/principal";
import { refusal } from "../kernel/refusals";
import { validate } from "../kernel/validate";
import { type AuditAction, auditStatement } from "../privacy/audit";
import { refuseAddress } from "./address-guard";
import { attempt, type DeliveryDeps } from "./deliver";
import { eventId } from "./ids";
import { actorOf } from "./outbox";
import { isPattern, matchesAny } from "./patterns";
import {
  type AttemptView,
  createEndpointInput,
  type DeliveryView,
  type EndpointView,
  replayRangeInput,
  rotateSecretInput,
  updateEndpointInput,
} from "./schemas";
import { encryptSecret, generateSecret } from "./signing";

export interface WebhookServiceDeps extends DeliveryDeps {
  /** Event sources a pattern may name: the collections, plus the engine's own (`user`, …). */
  sources: readonly string[];
}

const defaultOverlapSeconds = 86_400;

/**
 * Webhook endpoints as an admin service: create (the secret is shown once and stored only
 * encrypted), list, view, update, delete, rotate the secret with an overlap, send a test event,
 * and look at or replay deliveries. Every call needs an admin; others get 401/403.
 */
export function createWebhookService(deps: WebhookServiceDeps) {
  const sources = new Set(deps.sources);

  function admin(principal: Principal) {
    if (!isAdmin(principal)) throw refusal(principal, "Only admins manage webhooks.");
  }

  function secretKey(): string {
    const key = deps.settings.secretKey;
    if (key === undefined)
      throw new ApiError(
        "CONFIG_INVALID",
        "Webhooks need WEBHOOK_SECRET_KEY (it encrypts signing secrets at rest).",
      );
    return key;
  }

  function checkPatterns(patterns: readonly string[]) {
    const errors = patterns.flatMap((p, i) => {
      if (!isPattern(p))
        return [
          {
            path: `/patterns/${i}`,
            message: "not a pattern (posts.created, posts.*, *.deleted, *)",
          },
        ];
      const source = p.split(".")[0]!;
      if (p !== "*" && source !== "*" && !sources.has(source))
        return [
          { path: `/patterns/${i}`, message: `no collection or event source named ${source}` },
        ];
      return [];
    });
    if (errors.length > 0)
      throw new ApiError("VALIDATION_FAILED", "Bad event-type pattern(s).", { errors });
  }

  async function checkUrl(url: string, allowPrivate: boolean) {
    const refused = await refuseAddress(
      new URL(url),
      { allowPrivate, allowLoopback: deps.settings.allowLoopback },
      deps.resolve,
    );
    if (refused !== undefined)
      throw new ApiError("VALIDATION_FAILED", "Webhooks may not call that address.", {
        errors: [{ path: "/url", message: refused }],
      });
  }

  async function row(id: string): Promise<Row> {
    const rs = await deps.sql.execute({
      sql: "SELECT * FROM nb_webhook_endpoints WHERE id = ?",
      args: [id],
    });
    const found = rs.rows[0];
    if (found === undefined) throw new ApiError("NOT_FOUND", "There is no such webhook endpoint.");
    return found;
  }

  function view(r: Row): EndpointView {
    const until = r.previous_secret_until === null ? null : Number(r.previous_secret_until);
    return {
      id: String(r.id),
      url: String(r.url),
      description: String(r.description),
      patterns: JSON.parse(String(r.patterns)) as string[],
      enabled: Number(r.enabled) === 1,
      disabledReason: r.disabled_reason === null ? null : String(r.disabled_reason),
      allowPrivate: Number(r.allow_private) === 1,
      maxConcurrency: Number(r.max_concurrency),
      timeoutMs: Number(r.timeout_ms),
      failureStreak: Number(r.failure_streak),
      previousSecretExpiresAt:
        until !== null && until > deps.now() ? new Date(until).toISOString() : null,
      created: String(r.created),
      updated: String(r.updated),
    };
  }

  const iso = (ms: unknown) =>
    ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString();

  function deliveryView(r: Row): DeliveryView {
    return {
      id: String(r.id),
      endpointId: String(r.endpoint_id),
      eventId: String(r.event_id),
      eventType: String(r.type ?? ""),
      status: r.status as DeliveryView["status"],
      attempts: Number(r.attempts),
      nextAttemptAt: r.status === "pending" ? iso(r.due_at) : null,
      created: iso(r.created_at)!,
      completed: iso(r.completed_at),
      lastStatusCode: r.last_status_code === null ? null : Number(r.last_status_code),
      lastError: r.last_error === null ? null : String(r.last_error),
    };
  }

  /** Runs a change to an endpoint with its audit entry in the same batch (only if it changed a row). */
  async function audited(
    principal: Principal,
    action: AuditAction,
    id: string,
    change: InStatement,
    details?: Record<string, unknown>,
  ) {
    const [done] = await deps.sql.batch(
      [
        change,
        auditStatement(
          { action, actor: actorOf(principal), target: id, details },
          deps.now(),
          true,
        ),
      ],
      "write",
    );
    return done!;
  }

  return {
    async create(principal: Principal, body: unknown) {
      admin(principal);
      const input = validate(createEndpointInput, body);
      checkPatterns(input.patterns);
      await checkUrl(input.url, input.allowPrivate ?? false);
      const secret = generateSecret();
      const id = randomId("whe");
      const now = new Date(deps.now()).toISOString();
      await audited(principal, "webhook.created", id, {
        sql: "INSERT INTO nb_webhook_endpoints (id, url, description, patterns, enabled, secret, allow_private, max_concurrency, timeout_ms, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        args: [
          id,
          input.url,
          input.description ?? "",
          JSON.stringify(input.patterns),
          input.enabled === false ? 0 : 1,
          await encryptSecret(secretKey(), secret),
          input.allowPrivate ? 1 : 0,
          input.maxConcurrency ?? deps.settings.concurrency,
          input.timeoutMs ?? deps.settings.timeoutMs,
          now,
          now,
        ],
      });
      return { ...view(await row(id)), secret };
    },

    async list(principal: Principal) {
      admin(principal);
      const rs = await deps.sql.execute("SELECT * FROM nb_webhook_endpoints ORDER BY created, id");
      return rs.rows.map(view);
    },

    async get(principal: Principal, id: string) {
      admin(principal);
      return view(await row(id));
    },

    async update(principal: Principal, id: string, body: unknown) {
      admin(principal);
      const input: z.output<typeof updateEndpointInput> = validate(updateEndpointInput, body);
      const current = await row(id);
      if (input.patterns !== undefined) checkPatterns(input.patterns);
      const allowPrivate = input.allowPrivate ?? Number(current.allow_private) === 1;
      if (input.url !== undefined || input.allowPrivate !== undefined)
        await checkUrl(input.url ?? String(current.url), allowPrivate);
      const sets: string[] = [];
      const args: (string | number | null)[] = [];
      const set = (column: string, value: string | number | null) => {
        sets.push(`${column} = ?`);
        args.push(value);
      };
      if (input.url !== undefined) set("url", input.url);
      if (input.description !== undefined) set("description", input.description);
      if (input.patterns !== undefined) set("patterns", JSON.stringify(input.patterns));
      if (input.allowPrivate !== undefined) set("allow_private", input.allowPrivate ? 1 : 0);
      if (input.maxConcurrency !== undefined) set("max_concurrency", input.maxConcurrency);
      if (input.timeoutMs !== undefined) set("timeout_ms", input.timeoutMs);
      if (input.enabled !== undefined) {
        set("enabled", input.enabled ? 1 : 0);
        // Switching on again (after an automatic switch-off) starts a fresh failure count.
        if (input.enabled) {
          set("disabled_reason", null);
          set("failure_streak", 0);
        }
      }
      set("updated", new Date(deps.now()).toISOString());
      await audited(
        principal,
        "webhook.updated",
        id,
        {
          sql: `UPDATE nb_webhook_endpoints SET ${sets.join(", ")} WHERE id = ?`,
          args: [...args, id],
        },
        { changed: Object.keys(input) },
      );
      return view(await row(id));
    },

    async remove(principal: Principal, id: string) {
      admin(principal);
      const rs = await audited(principal, "webhook.deleted", id, {
        sql: "DELETE FROM nb_webhook_endpoints WHERE id = ?",
        args: [id],
      });
      if (rs.rowsAffected === 0)
        throw new ApiError("NOT_FOUND", "There is no such webhook endpoint.");
    },

    /** A new secret (shown once); the old one keeps signing alongside it for the overlap. */
    async rotateSecret(principal: Principal, id: string, body: unknown) {
      admin(principal);
      const input = validate(rotateSecretInput, body ?? {});
      const current = await row(id);
      const secret = generateSecret();
      const until = deps.now() + (input.overlapSeconds ?? defaultOverlapSeconds) * 1000;
      await audited(principal, "webhook.secret_rotated", id, {
        sql: "UPDATE nb_webhook_endpoints SET secret = ?, previous_secret = ?, previous_secret_until = ?, updated = ? WHERE id = ?",
        args: [
          await encryptSecret(secretKey(), secret),
          String(current.secret),
          until,
          new Date(deps.now()).toISOString(),
          id,
        ],
      });
      return { ...view(await row(id)), secret };
    },

    /** Sends one `webhook.test` event to the endpoint now and reports the attempt (not retried). */
    async test(principal: Principal, id: string) {
      admin(principal);
      const r = await row(id);
      const now = deps.now();
      const event = eventId(now);
      const body = JSON.stringify({
        id: event,
        type: "webhook.test",
        timestamp: new Date(now).toISOString(),
        data: { endpoint: String(r.id) },
      });
      const result = await attempt(deps, {
        id: randomId("dlv"),
        endpointId: String(r.id),
        attempts: 1,
        createdAt: now,
        event: { id: event, type: "webhook.test", occurredAt: now, body },
        endpoint: {
          url: String(r.url),
          secret: String(r.secret),
          previousSecret: r.previous_secret === null ? null : String(r.previous_secret),
          previousSecretUntil:
            r.previous_secret_until === null ? null : Number(r.previous_secret_until),
          allowPrivate: Number(r.allow_private) === 1,
          timeoutMs: Number(r.timeout_ms),
        },
      });
      return { eventId: event, ...result };
    },

    async deliveries(
      principal: Principal,
      id: string,
      filter: { status?: string | undefined; limit?: number | undefined } = {},
    ) {
      admin(principal);
      await row(id);
      const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
      const statuses = ["pending", "delivering", "succeeded", "dead"];
      if (filter.status !== undefined && !statuses.includes(filter.status))
        throw new ApiError("INVALID_QUERY", `status must be one of ${statuses.join(", ")}.`);
      const rs = await deps.sql.execute({
        sql: `SELECT d.*, e.type FROM nb_webhook_deliveries d LEFT JOIN nb_events e ON e.id = d.event_id
              WHERE d.endpoint_id = ? ${filter.status ? "AND d.status = ?" : ""} ORDER BY d.event_id DESC LIMIT ?`,
        args: filter.status ? [id, filter.status, limit] : [id, limit],
      });
      return rs.rows.map(deliveryView);
    },

    /** One delivery and its attempt log. */
    async delivery(principal: Principal, id: string, deliveryId: string) {
      admin(principal);
      const [d, a] = await deps.sql.batch(
        [
          {
            sql: "SELECT d.*, e.type FROM nb_webhook_deliveries d LEFT JOIN nb_events e ON e.id = d.event_id WHERE d.id = ? AND d.endpoint_id = ?",
            args: [deliveryId, id],
          },
          {
            sql: "SELECT * FROM nb_webhook_attempts WHERE delivery_id = ? ORDER BY attempt, started_at",
            args: [deliveryId],
          },
        ],
        "read",
      );
      const found = d!.rows[0];
      if (found === undefined) throw new ApiError("NOT_FOUND", "There is no such delivery.");
      const attempts: AttemptView[] = a!.rows.map((r) => ({
        attempt: Number(r.attempt),
        started: iso(r.started_at)!,
        durationMs: Number(r.duration_ms),
        outcome: r.outcome as AttemptView["outcome"],
        statusCode: r.status_code === null ? null : Number(r.status_code),
        response: r.response === null ? null : String(r.response),
        error: r.error === null ? null : String(r.error),
      }));
      return { ...deliveryView(found), log: attempts };
    },

    /** Sends one delivery again (whatever its state), with a fresh attempt budget. */
    async replay(principal: Principal, id: string, deliveryId: string) {
      admin(principal);
      const rs = await deps.sql.execute({
        sql: "UPDATE nb_webhook_deliveries SET status = 'pending', attempts = 0, due_at = ?, created_at = ?, completed_at = NULL WHERE id = ? AND endpoint_id = ? AND status <> 'delivering'",
        args: [deps.now(), deps.now(), deliveryId, id],
      });
      if (rs.rowsAffected === 0)
        throw new ApiError("NOT_FOUND", "There is no such delivery, or it is being attempted now.");
    },

    /**
     * Replays a time range: every dead delivery of the endpoint for events that occurred in it is
     * due again, and events in it that matched no delivery for this endpoint (it was disabled or
     * created later) get one. Returns how many deliveries are now pending.
     */
    async replayRange(principal: Principal, id: string, body: unknown) {
      admin(principal);
      const input = validate(replayRangeInput, body);
      const endpoint = await row(id);
      const since = Date.parse(input.since);
      const until = input.until === undefined ? deps.now() : Date.parse(input.until);
      const now = deps.now();
      const events = await deps.sql.execute({
        sql: "SELECT id, type FROM nb_events WHERE occurred_at >= ? AND occurred_at < ? ORDER BY id LIMIT 10000",
        args: [since, until],
      });
      const patterns = JSON.parse(String(endpoint.patterns)) as string[];
      const wanted = events.rows.filter((e) => matchesAny(patterns, String(e.type)));
      const statements = wanted.map((e) => ({
        sql: `INSERT INTO nb_webhook_deliveries (id, endpoint_id, event_id, status, attempts, due_at, created_at)
              VALUES (?, ?, ?, 'pending', 0, ?, ?)
              ON CONFLICT (endpoint_id, event_id) DO UPDATE SET status = 'pending', attempts = 0, due_at = excluded.due_at,
                created_at = excluded.created_at, completed_at = NULL WHERE status = 'dead'`,
        args: [randomId("dlv"), id, String(e.id), now, now],
      }));
      if (statements.length === 0) return { replayed: 0 };
      const rs = await deps.sql.batch(statements, "write");
      return { replayed: rs.reduce((n, r) => n + r.rowsAffected, 0) };
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
