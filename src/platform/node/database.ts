import { type Client, createClient } from "@libsql/client";
import { defaultDatabaseTimeoutMs, fetchWithTimeout } from "../../core/db/unavailable";
import type { LogSink } from "../../core/kernel/log";
import { busyTimeoutMs, embeddedReader } from "./embedded-reader";
import { embeddedWriter, writerBusySliceMs } from "./embedded-writer";
import { migrateDatabase } from "./migrate";

export interface NodeDatabaseOptions {
  /** DATABASE_URL: an embedded file, or the nearest copy (a read replica when `primaryUrl` is set). */
  url: string;
  /** DATABASE_PRIMARY_URL: where writes go when `url` is a replica. */
  primaryUrl?: string | undefined;
  authToken?: string | undefined;
  /** Read connections on an embedded file. */
  readConnections?: number;
  /** How long one read on an embedded file may run before it is interrupted. */
  readBudgetMs?: number;
  /** DATABASE_TIMEOUT_MS: longest wait for one call to a libSQL server over HTTP. */
  timeoutMs?: number;
  /**
   * DATABASE_SYNC_INTERVAL_SECONDS: with a `file:` DATABASE_URL and a DATABASE_PRIMARY_URL, the
   * file is a libSQL embedded replica of the primary, pulled this often.
   */
  syncIntervalSeconds?: number;
  /**
   * DATABASE_SYNCHRONOUS, embedded file: `normal` (default) — a commit survives a crash of the
   * process; `full` — also an OS crash, power loss or disk error (an fsync per commit).
   */
  synchronous?: "normal" | "full";
  /** An embedded file's write lock was found held by another process; the write waits for it. */
  onLockWait?: () => void;
}

export interface NodeDatabase {
  /** The primary: every write. */
  client: Client;
  /** Where reads go. */
  replica: Client;
  /** Reads see every committed write at once (no replication lag). */
  freshReads: boolean;
  close(): void;
}

export const defaultReadBudgetMs = 1000;

/**
 * For `onLockWait`: a warn line when writes start waiting for a lock another process holds (a
 * CLI script, another NODE_WORKERS worker holding it for long), then at most one a minute with
 * how many waited since the last line.
 */
export function lockWaitLog(log: LogSink): () => void {
  let last = Number.NEGATIVE_INFINITY;
  let waits = 0;
  return () => {
    waits++;
    const now = performance.now();
    if (now - last < 60_000) return;
    log.write({
      level: "warn",
      msg: `database write lock held by another process: writes wait for it (up to ${busyTimeoutMs} ms, then 503)`,
      waits,
    });
    waits = 0;
    last = now;
  };
}

/**
 * Opens the Node home's database, migrated. On an embedded file the engine would run every
 * statement on the event loop, so reads go to read connections that run off it under a time
 * budget (see `embeddedReader`), in WAL mode so they read beside the writer. With a replica URL,
 * reads go there and may lag.
 */
export async function openNodeDatabase(options: NodeDatabaseOptions): Promise<NodeDatabase> {
  const path = embeddedPath(options.primaryUrl === undefined ? options.url : undefined);
  const synchronous = options.synchronous ?? "normal";
  // Over HTTP every call is bounded: a server that hangs is a 503, not a hung request.
  const fetch = fetchWithTimeout(options.timeoutMs ?? defaultDatabaseTimeoutMs);
  const replicaPath = options.primaryUrl === undefined ? undefined : embeddedPath(options.url);
  if (options.primaryUrl !== undefined && replicaPath !== undefined)
    return openEmbeddedReplica(options, options.primaryUrl, fetch);
  // An embedded file: one connection with its statements prepared once (see `useWal` and
  // `embeddedWriter`), waiting up to busyTimeoutMs — off the event loop — for a lock another
  // process (NODE_WORKERS) holds instead of failing with SQLITE_BUSY.
  const nearest =
    path === undefined
      ? createClient({ url: options.url, authToken: options.authToken, fetch })
      : embeddedWriter(path, { onLockWait: options.onLockWait, synchronous });
  const client =
    options.primaryUrl === undefined
      ? nearest
      : createClient({ url: options.primaryUrl, authToken: options.authToken, fetch });
  if (path !== undefined) await useWal(client, synchronous);
  await migrateDatabase(client);
  if (path === undefined) {
    return {
      client,
      replica: nearest,
      freshReads: nearest === client,
      close() {
        client.close();
        if (nearest !== client) nearest.close();
      },
    };
  }
  const replica = embeddedReader({
    path,
    connections: options.readConnections ?? 4,
    budgetMs: options.readBudgetMs ?? defaultReadBudgetMs,
  });
  return {
    client,
    replica,
    freshReads: true,
    close() {
      replica.close();
      client.close();
    },
  };
}

/**
 * A region's own copy of the primary: DATABASE_URL `file:` + DATABASE_PRIMARY_URL. The file is a
 * libSQL embedded replica (frames pulled from the primary — Turso, or sqld — every
 * `syncIntervalSeconds`), so reads are local-disk fast and survive the primary being away (they
 * are then as stale as the last pull; a failed pull is retried at the next interval). Writes go
 * to the primary over HTTP; a reader that carries a read-your-writes token is sent to the primary
 * too (freshReads: false), so a writer sees its write at once and everyone else within the
 * interval (+ CACHE_VERSION_MEMO_MS).
 */
async function openEmbeddedReplica(
  options: NodeDatabaseOptions,
  primaryUrl: string,
  fetch: ReturnType<typeof fetchWithTimeout>,
): Promise<NodeDatabase> {
  const client = createClient({ url: primaryUrl, authToken: options.authToken, fetch });
  await migrateDatabase(client);
  const replica = createClient({
    url: options.url,
    syncUrl: primaryUrl,
    authToken: options.authToken,
    syncInterval: options.syncIntervalSeconds ?? 1,
  });
  // The first pull before serving: a new region starts from the primary's current data.
  await replica.sync();
  return {
    client,
    replica,
    freshReads: false,
    close() {
      replica.close();
      client.close();
    },
  };
}

/**
 * WAL with `synchronous = NORMAL` (or FULL: DATABASE_SYNCHRONOUS) on the embedded file, checked
 * (a file system that cannot do WAL, e.g. some network mounts, fails the start rather than
 * running slow and unsafe).
 *
 * Durability with NORMAL: a commit is atomic and survives a crash of the process; after a power
 * loss, an OS crash or a disk error that turns the file system read-only, the transactions
 * committed since the previous checkpoint may be rolled back, never half-applied (SQLite's WAL +
 * NORMAL guarantee; test/node/reliability-readonly.test.ts shows the disk-error case). FULL
 * fsyncs the WAL at every commit, so an acknowledged write survives those too, at ~3 ms per
 * commit on the event loop (measured on this machine's disk, against ~0.1 ms). `journal_mode` is stored in the file;
 * `synchronous` belongs to the connection, so the primary keeps a single connection
 * (`embeddedWriter`; its calls run synchronously, so one connection costs no parallelism;
 * interactive transactions get a second connection with the same setting).
 */
async function useWal(client: Client, synchronous: "normal" | "full"): Promise<void> {
  await client.execute("PRAGMA journal_mode = WAL");
  await client.execute(`PRAGMA synchronous = ${synchronous.toUpperCase()}`);
  const mode = (await client.execute("PRAGMA journal_mode")).rows[0]?.[0];
  const sync = (await client.execute("PRAGMA synchronous")).rows[0]?.[0];
  const busy = (await client.execute("PRAGMA busy_timeout")).rows[0]?.[0];
  if (
    String(mode).toLowerCase() !== "wal" ||
    Number(sync) !== (synchronous === "full" ? 2 : 1) ||
    Number(busy) !== writerBusySliceMs
  )
    throw new Error(
      `The database file did not accept WAL settings (journal_mode=${mode}, synchronous=${sync}, busy_timeout=${busy}); Nearbase needs a local file system that supports WAL.`,
    );
}

/** The file behind a `file:` URL (not an in-memory database, which other connections cannot share). */
function embeddedPath(url: string | undefined): string | undefined {
  if (url === undefined || !url.startsWith("file:") || url.includes(":memory:")) return undefined;
  const path = url.slice("file:".length).split("?")[0]!;
  return path === "" ? undefined : path;
}
