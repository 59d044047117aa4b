import type { CachedEntry, CachePort, StoredEntry } from "../../core/kernel/ports";

interface Entry {
  body: Uint8Array;
  status: number;
  headers: [string, string][];
  storedAt: number;
  expiresAt: number;
  bytes: number;
}

/**
 * The Node home's shared cache: an in-memory LRU bounded by bytes (bodies + headers + a fixed
 * overhead per entry), not by entry count, so a few large lists cannot exhaust memory. Map
 * iteration order is insertion order, so re-inserting on hit makes the first key the LRU one.
 */
export class LruCache implements CachePort {
  readonly implemented = true;
  private readonly entries = new Map<string, Entry>();
  private used = 0;

  constructor(
    readonly maxBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.used;
  }

  async match(key: string): Promise<CachedEntry | undefined> {
    const entry = this.peekEntry(key);
    if (entry === undefined) return undefined;
    // The bytes are handed over as they are (entries are never written to after a put): a
    // reader that takes them skips the Response body stream, the slow part of a hit.
    return {
      response: new Response(entry.body, { status: entry.status, headers: entry.headers }),
      storedAt: entry.storedAt,
      bytes: entry.body,
    };
  }

  peek(key: string): StoredEntry | undefined {
    const entry = this.peekEntry(key);
    return entry && { bytes: entry.body, headers: entry.headers, storedAt: entry.storedAt };
  }

  /** The live entry under `key`, made the most recently used; an expired one is dropped. */
  private peekEntry(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.remove(key, entry);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  async put(key: string, response: Response, ttlSeconds: number): Promise<void> {
    const body = new Uint8Array(await response.arrayBuffer());
    const headers = [...response.headers];
    const bytes =
      body.byteLength +
      key.length +
      headers.reduce((n, [k, v]) => n + k.length + v.length, 0) +
      256;
    const existing = this.entries.get(key);
    if (existing) this.remove(key, existing);
    if (bytes > this.maxBytes / 4 || ttlSeconds <= 0) return;
    const storedAt = this.now();
    this.entries.set(key, {
      body,
      status: response.status,
      headers,
      storedAt,
      expiresAt: storedAt + ttlSeconds * 1000,
      bytes,
    });
    this.used += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.used <= this.maxBytes) break;
      this.remove(oldest, entry);
    }
  }

  async delete(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry) this.remove(key, entry);
  }

  private remove(key: string, entry: Entry) {
    this.entries.delete(key);
    this.used -= entry.bytes;
  }
}
