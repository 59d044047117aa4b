import { createClient } from "@libsql/client/web";
import type { Config } from "../../config";
import { createDatabase } from "../../core/db/client";
import { jsonLogger } from "../../core/kernel/log";
import type { Platform } from "../../core/kernel/ports";
import { configuredMailer, recordingMailer } from "../../core/mail/mailers";
import { instrumentClient } from "../../core/observability/instrument-db";
import { edgeCache } from "./edge-cache";

/**
 * The Workers home: libSQL over HTTP (Turso in production, the local server in dev and tests),
 * logs to Workers Logs, deferred work through `waitUntil`. Built once per isolate.
 */
export function createWorkersPlatform(config: Config, env: Env): Platform {
  // One client per isolate, shared by requests. Its default concurrency limit (20) queues one
  // request's statements behind another's, and a promise resolved from another request's I/O
  // makes workerd cancel the waiting request as hung — so no limit here (measured under load).
  const open = (url: string) =>
    instrumentClient(
      createClient({
        url,
        authToken: config.databaseAuthToken,
        concurrency: Number.MAX_SAFE_INTEGER,
      }),
    );
  // DATABASE_URL is the nearest copy; with DATABASE_PRIMARY_URL set it is a read replica.
  const replica = open(config.databaseUrl);
  const sql = config.databasePrimaryUrl === undefined ? replica : open(config.databasePrimaryUrl);
  const log = jsonLogger(config.logLevel, (line) => console.log(line));
  const bindings = env as unknown as Record<string, unknown>;
  const analytics = bindings.ANALYTICS as AnalyticsEngineDataset | undefined;
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
    },
    mailer: configuredMailer(config.mail, () =>
      recordingMailer(log, { logBodies: bindings.NEARBASE_DEV === "true" }),
    ),
    analytics,
    defer(c, work) {
      try {
        c.executionCtx?.waitUntil(work);
      } catch {
        // No ExecutionContext (an internal re-dispatch): the work still runs, unawaited.
        work.catch(() => {});
      }
    },
  };
}
