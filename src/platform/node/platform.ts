import type { Client } from "@libsql/client";
import { createDatabase } from "../../core/db/client";
import { recordingMailer } from "../../core/mail/mailers";
import { instrumentClient } from "../../core/observability/instrument-db";
import { describeError, type LogSink } from "../../core/observability/logger";
import type { Clock, Mailer, Platform } from "../../core/platform/types";
import { unimplementedPorts } from "../../core/platform/unimplemented";
import { LruCache } from "./lru-cache";

export interface NodePlatformOptions {
  /** The primary. */
  client: Client;
  /** A read replica (e.g. a Turso embedded replica); defaults to the primary. */
  replica?: Client;
  log: LogSink;
  env?: Record<string, string | undefined>;
  cacheMaxBytes?: number;
  /** Behind a reverse proxy: the client is the first X-Forwarded-For address. */
  trustProxy?: boolean;
  clock?: Clock;
  /** Defaults to the recording (development) mailer. */
  mailer?: Mailer;
}

export interface NodePlatform extends Platform {
  /** Waits for deferred work (tests and graceful shutdown use it). */
  settle(): Promise<void>;
}

/** The Node home: embedded (or remote) libSQL, in-process everything else. */
export function createNodePlatform({
  client,
  replica,
  log,
  env = process.env,
  cacheMaxBytes = 64 * 1024 * 1024,
  trustProxy = false,
  clock = { now: () => new Date() },
  mailer = recordingMailer(log),
}: NodePlatformOptions): NodePlatform {
  const pending = new Set<Promise<unknown>>();
  const sql = instrumentClient(client);
  const reads = replica === undefined ? sql : instrumentClient(replica);
  return {
    name: "node",
    db: createDatabase(sql),
    sql,
    replica: reads,
    cache: new LruCache(cacheMaxBytes, () => clock.now().getTime()),
    clientIp(c) {
      if (trustProxy) {
        const forwarded = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
        if (forwarded) return forwarded;
      }
      // @hono/node-server puts the socket on the bindings; in-process requests have none.
      const socket = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)
        ?.incoming?.socket;
      return socket?.remoteAddress ?? "local";
    },
    clock,
    mailer,
    log,
    secrets: { get: async (name) => env[name] },
    ...unimplementedPorts(log, "node"),
    defer(_c, work) {
      const tracked = work
        .catch((err) =>
          log.write({ level: "error", msg: "deferred work failed", error: describeError(err) }),
        )
        .finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
    async settle() {
      while (pending.size > 0) await Promise.all(pending);
    },
  };
}
