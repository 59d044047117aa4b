import type { Client, InStatement, ResultSet, Row } from "@libsql/client";
import { randomId } from "../kernel/crypto";
import type { LogSink } from "../kernel/log";
import { tracedFetch } from "../observability/fetch";
import type { EventMetrics } from "../observability/metrics";
import { type AddressPolicy, type Resolve, refuseAddress } from "./address-guard";
import { retryDelayMs } from "./backoff";
import type { WebhookSettings } from "./settings";
import { decryptSecret, webhookHeaders } from "./signing";

/** What delivery needs; the same in both homes. */
export interface DeliveryDeps {
  sql: Client;
  settings: WebhookSettings;
  log: LogSink;
  now(): number;
  /** Resolves host names so private targets behind public names are refused (Node: DNS). */
  resolve?: Resolve;
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /**
   * Node: the fetch dispatcher that resolves each connection's host once and refuses addresses
   * the policy forbids at connect time (see platform/node/webhook-connect.ts). With it, `resolve`
   * is not used before the attempt: the address checked is the address connected to.
   */
  connectGuard?: (policy: AddressPolicy) => Promise<unknown>;
  metrics?: EventMetrics;
}

/** A delivery claimed for one attempt, with its event and endpoint. */
export interface Claimed {
  id: string;
  endpointId: string;
  attempts: number;
  createdAt: number;
  event: { id: string; type: string; occurredAt: number; body: string };
  endpoint: {
    url: string;
    secret: string;
    previousSecret: string | null;
    previousSecretUntil: number | null;
    allowPrivate: boolean;
    timeoutMs: number;
  };
}

export interface AttemptResult {
  outcome: "succeeded" | "failed";
  statusCode: number | null;
  durationMs: number;
  response: string | null;
  error: string | null;
}

const responseBytes = 1024;

/** A short, safe description of a network failure (fetch hides the cause in `cause`). */
function errorText(err: unknown): string {
  const e = err as { message?: unknown; cause?: { code?: unknown; message?: unknown } };
  if (e.cause?.code === "ERR_ADDRESS_REFUSED") return `refused: ${String(e.cause.message)}`;
  const cause = e.cause?.code ?? e.cause?.message;
  return `${String(e.message ?? err)}${cause === undefined ? "" : ` (${String(cause)})`}`.slice(
    0,
    500,
  );
}

/** The JSON body a receiver gets: Standard Webhooks' `type`/`timestamp`/`data` envelope. */
export function eventBody(row: Row): string {
  const data: Record<string, unknown> = {
    collection: row.collection,
    id: row.record_id,
    actor: row.actor,
    record: JSON.parse(String(row.data)),
  };
  if (row.changed !== null && row.changed !== undefined)
    data.changed = JSON.parse(String(row.changed));
  return JSON.stringify({
    id: row.id,
    type: row.type,
    timestamp: new Date(Number(row.occurred_at)).toISOString(),
    data,
  });
}

async function firstBytes(res: Response): Promise<string> {
  if (res.body === null) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < responseBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all.subarray(0, responseBytes));
}

/**
 * One HTTP attempt: refuses forbidden addresses before connecting, signs with the current secret
 * (and the previous one during a rotation's overlap), never follows redirects, gives up at the
 * endpoint's timeout and keeps only the first bytes of the answer. Any 2xx is success.
 */
export async function attempt(deps: DeliveryDeps, claimed: Claimed): Promise<AttemptResult> {
  const started = deps.now();
  const done = (r: Omit<AttemptResult, "durationMs">): AttemptResult => ({
    ...r,
    durationMs: Math.max(0, deps.now() - started),
  });
  const { endpoint, event } = claimed;
  try {
    const url = new URL(endpoint.url);
    const policy = {
      allowPrivate: endpoint.allowPrivate,
      allowLoopback: deps.settings.allowLoopback,
    };
    // Literal addresses and well-known names here; a name's addresses at connect time when the
    // home guards connections (else here, with a window until the connection resolves again).
    const refused = await refuseAddress(
      url,
      policy,
      deps.connectGuard === undefined ? deps.resolve : undefined,
    );
    if (refused !== undefined)
      return done({
        outcome: "failed",
        statusCode: null,
        response: null,
        error: `refused: ${refused}`,
      });
    const key = deps.settings.secretKey;
    if (key === undefined) throw new Error("WEBHOOK_SECRET_KEY is not set");
    const secrets = [await decryptSecret(key, endpoint.secret)];
    if (
      endpoint.previousSecret !== null &&
      endpoint.previousSecretUntil !== null &&
      endpoint.previousSecretUntil > started
    )
      secrets.push(await decryptSecret(key, endpoint.previousSecret));
    const headers = await webhookHeaders(secrets, event.id, Math.floor(started / 1000), event.body);
    const dispatcher = await deps.connectGuard?.(policy);
    const res = await (deps.fetch ?? tracedFetch)(url.href, {
      method: "POST",
      headers: {
        ...headers,
        "content-type": "application/json",
        "user-agent": "Nearbase-Webhooks/1",
      },
      body: event.body,
      redirect: "manual",
      signal: AbortSignal.timeout(endpoint.timeoutMs),
      // Node's fetch (undici) takes the connection guard as its dispatcher.
      ...(dispatcher === undefined ? {} : { dispatcher }),
    } as RequestInit);
    const response = await firstBytes(res).catch(() => "");
    const ok = res.status >= 200 && res.status < 300;
    return done({
      outcome: ok ? "succeeded" : "failed",
      statusCode: res.status,
      response,
      error: ok
        ? null
        : res.status >= 300 && res.status < 400
          ? "redirect not followed"
          : `HTTP ${res.status}`,
    });
  } catch (err) {
    const name = (err as { name?: unknown }).name;
    const timedOut = name === "TimeoutError" || name === "AbortError";
    return done({
      outcome: "failed",
      statusCode: null,
      response: null,
      error: timedOut ? `timed out after ${endpoint.timeoutMs} ms` : errorText(err),
    });
  }
}

/**
 * Records an attempt and decides what follows, in one batch: the log row; the delivery succeeded,
 * due again after a full-jitter backoff, or dead (attempts or age exhausted); the endpoint's
 * failure streak, switching the endpoint off once it reaches the limit.
 */
export async function record(deps: DeliveryDeps, claimed: Claimed, result: AttemptResult) {
  const [status] = await recordAll(deps, [{ claimed, result }]);
  return status!;
}

/**
 * Records several attempts in ONE write transaction (group commit: a busy dispatcher pays one
 * commit for many deliveries). Returns each delivery's new status, in order.
 */
export async function recordAll(
  deps: DeliveryDeps,
  items: readonly { claimed: Claimed; result: AttemptResult }[],
) {
  const plans = items.map(({ claimed, result }) => plan(deps, claimed, result));
  const rs = await deps.sql.batch(
    plans.flatMap((p) => p.statements),
    "write",
  );
  return plans.map((p, i) => p.after(rs[i * 3 + 2]!));
}

function plan(deps: DeliveryDeps, claimed: Claimed, result: AttemptResult) {
  const now = deps.now();
  const { settings } = deps;
  const ok = result.outcome === "succeeded";
  const exhausted =
    claimed.attempts >= settings.maxAttempts || now - claimed.createdAt >= settings.maxAgeMs;
  const status = ok ? "succeeded" : exhausted ? "dead" : "pending";
  const due =
    ok || exhausted
      ? now
      : now +
        retryDelayMs(claimed.attempts, {
          baseMs: settings.retryBaseMs,
          capMs: settings.retryCapMs,
        });
  const statements: InStatement[] = [
    {
      sql: "INSERT INTO nb_webhook_attempts (id, delivery_id, endpoint_id, attempt, started_at, duration_ms, outcome, status_code, response, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      args: [
        randomId("att"),
        claimed.id,
        claimed.endpointId,
        claimed.attempts,
        now - result.durationMs,
        result.durationMs,
        result.outcome,
        result.statusCode,
        result.response,
        result.error,
      ],
    },
    {
      sql: "UPDATE nb_webhook_deliveries SET status = ?, due_at = ?, completed_at = ?, last_status_code = ?, last_error = ? WHERE id = ? AND status = 'delivering'",
      args: [
        status,
        due,
        status === "pending" ? null : now,
        result.statusCode,
        result.error,
        claimed.id,
      ],
    },
    ok
      ? {
          sql: "UPDATE nb_webhook_endpoints SET failure_streak = 0 WHERE id = ? AND failure_streak <> 0 RETURNING enabled",
          args: [claimed.endpointId],
        }
      : {
          sql: `UPDATE nb_webhook_endpoints SET failure_streak = failure_streak + 1,
                    enabled = CASE WHEN failure_streak + 1 >= ? THEN 0 ELSE enabled END,
                    disabled_reason = CASE WHEN enabled AND failure_streak + 1 >= ? THEN ? ELSE disabled_reason END
                  WHERE id = ? RETURNING enabled, disabled_reason, failure_streak`,
          args: [
            settings.disableAfterFailures,
            settings.disableAfterFailures,
            `${settings.disableAfterFailures} consecutive failed attempts (last: ${result.error ?? "unknown"})`.slice(
              0,
              500,
            ),
            claimed.endpointId,
          ],
        },
  ];
  const after = (endpointResult: ResultSet) => {
    deps.metrics?.deliveries.inc({ outcome: status === "pending" ? "retry" : status });
    deps.metrics?.deliveryDuration.observe(result.durationMs / 1000, { outcome: result.outcome });
    if (status === "dead") {
      deps.log.write({
        level: "warn",
        msg: "webhook dead letter",
        delivery: claimed.id,
        endpoint: claimed.endpointId,
        event: claimed.event.id,
        attempts: claimed.attempts,
        error: result.error,
      });
    }
    const endpoint = endpointResult.rows[0];
    if (
      !ok &&
      endpoint !== undefined &&
      Number(endpoint.enabled) === 0 &&
      Number(endpoint.failure_streak) === settings.disableAfterFailures
    ) {
      deps.metrics?.endpointsDisabled.inc();
      deps.log.write({
        level: "warn",
        msg: "webhook endpoint disabled",
        endpoint: claimed.endpointId,
        reason: endpoint.disabled_reason,
      });
    }
    return status;
  };
  return { statements, after };
}
