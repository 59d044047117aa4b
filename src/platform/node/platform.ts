import type { Client } from "@libsql/client";
import { createDatabase } from "../../core/db/client";
import { describeError, type LogSink } from "../../core/kernel/log";
import type { Clock, Mailer, Platform } from "../../core/kernel/ports";
import { recordingMailer } from "../../core/mail/mailers";
import { instrumentClient } from "../../core/observability/instrument-db";
import { forwardedClientIp } from "./client-ip";
import { LruCache } from "./lru-cache";

export interface NodePlatformOptions {
  /** The primary. */
  client: Client;
  /** A read replica (e.g. a Turso embedded replica); defaults to the primary. */
  replica?: Client;
  /**
   * The replica reads the primary's own data (e.g. read connections to the same file), so a
   * committed write is visible to the next read. Defaults to true only without a replica.
   */
  freshReads?: boolean;
  log: LogSink;
  env?: Record<string, string | undefined>;
  cacheMaxBytes?: number;
  /** Behind `trustProxyHops` reverse proxies: the client address comes from X-Forwarded-For. */
  trustProxy?: boolean;
  trustProxyHops?: number;
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
  freshReads = replica === undefined,
  log,
  env = process.env,
  cacheMaxBytes = 64 * 1024 * 1024,
  trustProxy = false,
  trustProxyHops = 1,
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
    freshReads,
    cache: new LruCache(cacheMaxBytes, () => clock.now().getTime()),
    clientIp(c) {
      if (trustProxy) {
        const forwarded = forwardedClientIp(c.req.header("x-forwarded-for"), trustProxyHops);
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
