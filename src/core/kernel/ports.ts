import type { Client } from "@libsql/client";
import type { Database } from "../db/client";
import type { FileStorage } from "../files/storage";
import type { ImageResizer } from "../files/thumbs";
import type { LogSink } from "./log";

/**
 * The ports a home (Node or Workers) provides. The engine only talks to these, so nothing in
 * `src/core` knows where it runs. A port exists only once something implements it in both
 * homes (no silent no-op stand-ins).
 */
export interface Platform {
  readonly name: "node" | "workers";
  /** The primary database (drizzle over libSQL). */
  readonly db: Database;
  /** The primary (raw libSQL client under `db`): every write, and reads that must be fresh. */
  readonly sql: Client;
  /** The nearest read replica; the primary itself when there is none. */
  readonly replica: Client;
  /**
   * True when `replica` reads the primary's own data (the same client, or another connection to
   * the same file): a committed write is visible to the next read, so caches may move forward.
   */
  readonly freshReads: boolean;
  /** The caller's address, as this home can know it. */
  clientIp(c: ClientIpContext): string;
  readonly clock: Clock;
  readonly log: LogSink;
  readonly cache: CachePort;
  readonly secrets: SecretStore;
  readonly mailer: Mailer;
  /** Request data points for Workers Analytics Engine, when a dataset is bound. */
  readonly analytics?: AnalyticsSink;
  /** Runs work after the response is sent (Workers `waitUntil`; a tracked promise in Node). */
  readonly defer: (c: DeferContext, work: Promise<unknown>) => void;
  /** Hands committed events to this home's dispatcher. */
  readonly events: EventsPort;
  /**
   * Object storage for file fields (src/core/files): local disk in Node, the FILES R2 bucket on
   * Workers. Absent when a Worker has no FILES binding: uploads are then refused (501).
   */
  readonly files?: FileStorage;
  /** Makes thumbnails (src/core/files/thumbs.ts): sharp in Node, the IMAGES binding on Workers. */
  readonly images?: ImageResizer;
}

/**
 * The outbox's way out: the Node home wakes its in-process dispatcher; the Workers home sends a
 * Queues message (a cron trigger sweeps whatever a lost message left behind). Either way the
 * events themselves are already committed in libSQL: `notify` only makes delivery prompt.
 */
export interface EventsPort {
  notify(c: DeferContext): void;
  /** Resolves a host name to addresses, so webhooks to private targets behind public names are refused. */
  resolve?: (host: string) => Promise<string[]>;
}

/** What `clientIp` needs from a request; Hono's context satisfies it. */
export interface ClientIpContext {
  req: { header(name: string): string | undefined; raw: Request };
  env: unknown;
}

/** What `defer` needs from a request; Hono's context satisfies it. */
export interface DeferContext {
  readonly executionCtx?: { waitUntil(p: Promise<unknown>): void };
}

export interface Clock {
  now(): Date;
}

/** A stored response and when it was stored (epoch ms), so callers can judge freshness. */
export interface CachedEntry {
  response: Response;
  storedAt: number;
  /** The body, when the store holds it as bytes (Node's LRU): read without a body stream. */
  bytes?: Uint8Array;
}

/**
 * Shared response cache: the Workers Cache API (per data centre) or a byte-bounded in-memory
 * LRU (Node). Keys are absolute URLs (the Cache API needs them; the LRU doesn't care). Entries
 * live at most `ttlSeconds`; correctness never depends on deletion reaching every location,
 * because callers fold data versions into the key.
 */
export interface CachePort {
  readonly implemented: boolean;
  match(key: string): Promise<CachedEntry | undefined>;
  put(key: string, response: Response, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * The entry as stored, read synchronously, where the cache is in this process's memory
   * (Node's LRU): the Node home's cache fast path answers hits without a promise or a Response.
   */
  peek?(key: string): StoredEntry | undefined;
}

/** An in-memory entry as `peek` hands it over; never written to. */
export interface StoredEntry {
  bytes: Uint8Array;
  /** Lower-case field names, as `Headers` lists them. */
  headers: readonly [string, string][];
  storedAt: number;
}

/** Cloudflare Analytics Engine's dataset binding, when bound (Workers only). */
export interface AnalyticsSink {
  writeDataPoint(point: { blobs?: string[]; doubles?: number[]; indexes?: string[] }): void;
}

/** Named secrets (Workers secrets, env + generated files in Node). */
export interface SecretStore {
  get(name: string): Promise<string | undefined>;
}

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/** Sends transactional mail. Issue: accounts and auth. */
export interface Mailer {
  readonly implemented: boolean;
  send(message: MailMessage): Promise<void>;
}
