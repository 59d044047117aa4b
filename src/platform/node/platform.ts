import { lookup } from "node:dns/promises";
import type { Client } from "@libsql/client";
import type { Config } from "../../config";
import { createDatabase } from "../../core/db/client";
import type { DeliveryDeps } from "../../core/events/deliver";
import { createDispatcher, type Dispatcher } from "../../core/events/dispatcher";
import type { FileStorage } from "../../core/files/storage";
import { describeError, jsonLogger, type LogSink } from "../../core/kernel/log";
import type { Clock, Mailer, Platform } from "../../core/kernel/ports";
import { configuredMailer, recordingMailer } from "../../core/mail/mailers";
import { instrumentClient } from "../../core/observability/instrument-db";
import { eventMetrics } from "../../core/observability/metrics";
import { forwardedClientIp } from "./client-ip";
import { LruCache } from "./lru-cache";
import { writeToOutbox } from "./outbox";
import { diskStorage } from "./storage-disk";
import { s3Storage } from "./storage-s3";
import { sharpImages } from "./storage-thumbs";
import { guardedDispatchers } from "./webhook-connect";

export interface NodePlatformOptions {
  /** Where writes go, where reads go, and whether reads see writes at once (see openNodeDatabase). */
  database: { client: Client; replica?: Client; freshReads?: boolean };
  /** Defaults to JSON lines on stdout at LOG_LEVEL. */
  log?: LogSink;
  /** Where secrets are read (signing keys); defaults to the process environment. */
  env?: Record<string, string | undefined>;
  clock?: Clock;
  /** Defaults to the configured mailer (HTTP provider, else mail files under ./data/outbox). */
  mailer?: Mailer;
  /** File storage; defaults to local disk under FILES_DIR. */
  files?: FileStorage;
}

export interface NodePlatform extends Platform {
  /** Waits for deferred work (tests and graceful shutdown use it). */
  settle(): Promise<void>;
  /** The webhook dispatcher over the outbox; `main.ts` starts it (tests start it when they need it). */
  readonly dispatcher: Dispatcher;
  /** What the dispatcher delivers with (tests and benchmarks run passes with it). */
  readonly delivery: DeliveryDeps;
}

/**
 * The Node home: embedded (or remote) libSQL, in-process everything else. Built from the config,
 * like `createWorkersPlatform`: logger, mailer, cache size and proxy trust come from it.
 */
export function createNodePlatform(config: Config, options: NodePlatformOptions): NodePlatform {
  const { client, replica } = options.database;
  const freshReads = options.database.freshReads ?? replica === undefined;
  const log =
    options.log ?? jsonLogger(config.logLevel, (line) => process.stdout.write(`${line}\n`));
  const env = options.env ?? process.env;
  const clock = options.clock ?? { now: () => new Date() };
  const mailer =
    options.mailer ??
    configuredMailer(config.mail, () =>
      recordingMailer(log, { deliver: writeToOutbox("./data/outbox") }),
    );
  const { trustProxy, trustProxyHops } = config;
  const pending = new Set<Promise<unknown>>();
  const sql = instrumentClient(client);
  const reads = replica === undefined ? sql : instrumentClient(replica);
  const resolve = async (host: string) =>
    (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  const delivery: DeliveryDeps = {
    sql,
    settings: config.webhooks,
    log,
    now: () => clock.now().getTime(),
    resolve,
    connectGuard: guardedDispatchers(),
    metrics: eventMetrics,
  };
  const dispatcher = createDispatcher(delivery, { pollMs: config.webhooks.pollMs });
  return {
    name: "node",
    db: createDatabase(sql),
    sql,
    replica: reads,
    freshReads,
    cache: new LruCache(config.cacheMaxBytes, () => clock.now().getTime()),
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
    events: { notify: () => dispatcher.wake(), resolve },
    files:
      options.files ??
      (config.filesS3 === undefined ? diskStorage(config.filesDir) : s3Storage(config.filesS3)),
    images: sharpImages(),
    dispatcher,
    delivery,
  };
}
