import type { Client, InStatement } from "@libsql/client";

/**
 * Data versions per scope (a collection, or a collection's record), kept in libSQL so every
 * location sees the same numbers. A write bumps its scopes in the same batch as the data change;
 * shared-cache keys include the version they were built from, so after a write no location can
 * serve the old entry once it has learned the new version — deletion is not needed for
 * correctness. Each isolate memoises versions for `memoMs`; that memo (plus replica lag) is the
 * staleness bound for readers elsewhere.
 */
export function bumpVersion(scope: string, now: number): InStatement {
  return {
    sql: `INSERT INTO nb_versions (scope, version, updated_at) VALUES (?, 1, ?)
          ON CONFLICT (scope) DO UPDATE SET version = version + 1, updated_at = excluded.updated_at
          RETURNING version`,
    args: [scope, now],
  };
}

export class VersionMemo {
  private readonly memo = new Map<string, { version: number; until: number }>();

  constructor(
    readonly memoMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The version of `scope`, from the memo when fresh enough, else from `sql`. */
  async get(sql: Client, scope: string, options: { fresh?: boolean } = {}): Promise<number> {
    const now = this.now();
    const known = this.memo.get(scope);
    if (!options.fresh && known !== undefined && known.until > now) return known.version;
    const rs = await sql.execute({
      sql: "SELECT version FROM nb_versions WHERE scope = ?",
      args: [scope],
    });
    const version = Number(rs.rows[0]?.version ?? 0);
    this.learn(scope, version);
    return version;
  }

  /**
   * The memoised version of `scope` while it is fresh enough to key a lookup — what `get` would
   * return without a query — else undefined (synchronous: the Node cache fast path).
   */
  peek(scope: string): number | undefined {
    const known = this.memo.get(scope);
    return known !== undefined && known.until > this.now() ? known.version : undefined;
  }

  /** The last version this isolate knew for `scope`, however old (stale-if-error keys). */
  lastKnown(scope: string): number | undefined {
    return this.memo.get(scope)?.version;
  }

  /** Records a version this isolate just produced or saw (never moves backwards). */
  learn(scope: string, version: number): void {
    const known = this.memo.get(scope);
    if (known !== undefined && known.version > version) return;
    if (this.memo.size > 10_000) this.memo.clear();
    this.memo.set(scope, { version, until: this.now() + this.memoMs });
  }
}
