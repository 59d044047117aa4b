import type { Client } from "@libsql/client";
import { createDatabase } from "../../core/db/client";
import { instrumentClient } from "../../core/observability/instrument-db";
import { describeError, type LogSink } from "../../core/observability/logger";
import type { Platform } from "../../core/platform/types";
import { unimplementedPorts } from "../../core/platform/unimplemented";

export interface NodePlatformOptions {
  client: Client;
  log: LogSink;
  env?: Record<string, string | undefined>;
}

export interface NodePlatform extends Platform {
  /** Waits for deferred work (tests and graceful shutdown use it). */
  settle(): Promise<void>;
}

/** The Node home: embedded (or remote) libSQL, in-process everything else. */
export function createNodePlatform({
  client,
  log,
  env = process.env,
}: NodePlatformOptions): NodePlatform {
  const pending = new Set<Promise<unknown>>();
  const sql = instrumentClient(client);
  return {
    name: "node",
    db: createDatabase(sql),
    sql,
    clock: { now: () => new Date() },
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
