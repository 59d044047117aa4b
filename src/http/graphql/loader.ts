import type { Principal } from "../../core/kernel/principal";
import type { Record_ } from "../../core/records/read";
import type { ReadOptions, RecordService } from "../../core/records/service";

interface Pending {
  ids: Set<string>;
  waiters: { id: string; resolve(r: Record_ | null): void; reject(err: unknown): void }[];
}

/** Runs `work` after the microtasks queued now (the sibling resolvers of this tick). */
const later: (work: () => void) => void =
  typeof setImmediate === "function"
    ? (work) => {
        setImmediate(work);
      }
    : (work) => {
        setTimeout(work, 0);
      };

/**
 * Per-request batching of related-record reads: every `load(collection, id)` asked for in the
 * same tick becomes ONE `records.viewMany` per collection (the target's view rule in SQL), so a
 * list of 20 comments with their posts costs two queries, not 21. Results are kept for the rest
 * of the request; `prime` fills the cache from a list's rows ahead of time.
 */
export class RelationLoader {
  private readonly cache = new Map<string, Promise<Record_ | null>>();
  private readonly pending = new Map<string, Pending>();
  private scheduled = false;

  constructor(
    private readonly records: RecordService,
    private readonly principal: Principal,
    private readonly read: ReadOptions,
  ) {}

  load(collection: string, id: string): Promise<Record_ | null> {
    const key = `${collection}\u0000${id}`;
    const known = this.cache.get(key);
    if (known !== undefined) return known;
    const promise = new Promise<Record_ | null>((resolve, reject) => {
      let batch = this.pending.get(collection);
      if (batch === undefined) {
        batch = { ids: new Set(), waiters: [] };
        this.pending.set(collection, batch);
      }
      batch.ids.add(id);
      batch.waiters.push({ id, resolve, reject });
    });
    this.cache.set(key, promise);
    if (!this.scheduled) {
      this.scheduled = true;
      later(() => void this.flush());
    }
    return promise;
  }

  /** Loads every id of `collection` in one query now (a list resolver knows them all at once). */
  async prime(collection: string, ids: readonly string[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.cache.has(`${collection}\u0000${id}`));
    if (missing.length === 0) return;
    const found = this.records.viewMany(this.principal, collection, missing, undefined, this.read);
    for (const id of missing) {
      this.cache.set(
        `${collection}\u0000${id}`,
        found.then((m) => m.get(id) ?? null),
      );
    }
    await found;
  }

  private async flush() {
    this.scheduled = false;
    const batches = [...this.pending];
    this.pending.clear();
    await Promise.all(
      batches.map(async ([collection, batch]) => {
        try {
          const found = await this.records.viewMany(
            this.principal,
            collection,
            [...batch.ids],
            undefined,
            this.read,
          );
          for (const w of batch.waiters) w.resolve(found.get(w.id) ?? null);
        } catch (err) {
          for (const w of batch.waiters) w.reject(err);
        }
      }),
    );
  }
}
