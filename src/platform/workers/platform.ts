import { createClient } from "@libsql/client/web";
import type { Config } from "../../config";
import { createDatabase } from "../../core/db/client";
import { fastHttpReads } from "../../core/db/http-reads";
import { fetchWithTimeout } from "../../core/db/unavailable";
import type { DeliveryDeps } from "../../core/events/deliver";
import { jsonLogger } from "../../core/kernel/log";
import type { DeferContext, Platform } from "../../core/kernel/ports";
import { configuredMailer, recordingMailer } from "../../core/mail/mailers";
import { instrumentClient } from "../../core/observability/instrument-db";
import { eventMetrics } from "../../core/observability/metrics";
import type { EmbedderSettings } from "../../core/search/embedders";
import { edgeCache } from "./edge-cache";
import { r2Storage } from "./storage-r2";
import { cloudflareImages } from "./storage-thumbs";

/**
 * The Workers home: libSQL over HTTP (Turso in production, the local server in dev and tests),
 * logs to Workers Logs, deferred work through `waitUntil`. Built once per isolate.
 */
export function createWorkersPlatform(config: Config, env: Env): WorkersPlatform {
  // One client per isolate, shared by requests. Its default concurrency limit (20) queues one
  // request's statements behind another's, and a promise resolved from another request's I/O
  // makes workerd cancel the waiting request as hung — so no limit here (measured under load).
  const open = (url: string) => {
    // Every call bounded: a libSQL server that hangs is a 503, not a hung request.
    const fetch = fetchWithTimeout(config.databaseTimeoutMs);
    const client = createClient({
      url,
      authToken: config.databaseAuthToken,
      concurrency: Number.MAX_SAFE_INTEGER,
      fetch,
    });
    // Single SELECTs (every read's one round trip) skip the client's stream machinery.
    return instrumentClient(
      fastHttpReads(client, { url, authToken: config.databaseAuthToken }, fetch),
    );
  };
  // DATABASE_URL is the nearest copy; with DATABASE_PRIMARY_URL set it is a read replica.
  const replica = open(config.databaseUrl);
  const sql = config.databasePrimaryUrl === undefined ? replica : open(config.databasePrimaryUrl);
  const log = jsonLogger(config.logLevel, (line) => console.log(line));
  const bindings = env as unknown as Record<string, unknown>;
  const analytics = bindings.ANALYTICS as AnalyticsEngineDataset | undefined;
  const queue = bindings.EVENTS_QUEUE as Queue<EventsMessage> | undefined;
  const bucket = bindings.FILES as R2Bucket | undefined;
  const images = bindings.IMAGES as ImagesBinding | undefined;
  function defer(c: DeferContext, work: Promise<unknown>) {
    try {
      c.executionCtx?.waitUntil(work);
    } catch {
      // No ExecutionContext (an internal re-dispatch): the work still runs, unawaited.
      work.catch(() => {});
    }
  }
  return {
    name: "workers",
    db: createDatabase(sql),
    sql,
    replica,
    freshReads: replica === sql,
    cache: edgeCache(caches.default),
    clientIp: (c) => c.req.header("cf-connecting-ip") ?? "unknown",
    clock: { now: () => new Date() },
    log,
    secrets: {
      get: async (name) => {
        const value = bindings[name];
        return typeof value === "string" ? value : undefined;
      },
      // Non-string bindings a setting names (EMBEDDINGS_WORKERS_AI: the Workers AI binding).
      binding: (name) => bindings[name],
    },
    mailer: configuredMailer(config.mail, () =>
      recordingMailer(log, { logBodies: bindings.NEARBASE_DEV === "true" }),
    ),
    analytics,
    defer,
    events: {
      // Without a queue binding the cron sweep delivers (at most a cron interval later).
      notify(c) {
        if (queue === undefined) return;
        defer(
          c,
          queue
            .send({ kind: "dispatch" })
            .catch((err: unknown) =>
              log.write({ level: "warn", msg: "events queue send failed", error: String(err) }),
            ),
        );
      },
    },
    files: bucket === undefined ? undefined : r2Storage(bucket),
    images: images === undefined ? undefined : cloudflareImages(images),
    delivery: {
      sql,
      settings: config.webhooks,
      log,
      now: () => Date.now(),
      metrics: eventMetrics,
    },
  };
}

/** The one message the events queue carries: "there is something in the outbox". */
export interface EventsMessage {
  kind: "dispatch";
}

export interface WorkersPlatform extends Platform {
  /** Settings, and the bindings a setting names (src/core/search/embedders.ts). */
  readonly secrets: EmbedderSettings;
  /** What the queue consumer and the cron sweep deliver with (no DNS on Workers: literal checks). */
  readonly delivery: DeliveryDeps;
}
