import type { Client } from "@libsql/client";
import { type Decision, decide, type Policy } from "./gcra";

/** Where GCRA state lives; `hit` decides and records atomically. */
export interface RateLimitStore {
  hit(key: string, policy: Policy, now: number): Promise<Decision>;
  /**
   * The same, synchronously, where the state is in this process's memory: the Node home's cache
   * fast path answers a hit without a promise (with AsyncLocalStorage on, each runs async hooks).
   */
  hitNow?(key: string, policy: Policy, now: number): Decision;
}

/**
 * In-process state: exact for the Node home (one process), per isolate on Workers. Bounded: when
 * full, keys whose TAT has passed (i.e. fully replenished) are dropped first.
 */
export function memoryStore(maxKeys = 100_000): RateLimitStore {
  const tats = new Map<string, number>();
  const hitNow = (who: string, policy: Policy, now: number): Decision => {
    const key = `${policy.name}:${who}`;
    const decision = decide(tats.get(key), policy, now);
    if (!tats.has(key) && tats.size >= maxKeys) {
      for (const [k, tat] of tats) if (tat <= now) tats.delete(k);
      if (tats.size >= maxKeys) tats.delete(tats.keys().next().value!);
    }
    tats.set(key, decision.tat);
    return decision;
  };
  return {
    hitNow,
    async hit(who, policy, now) {
      return hitNow(who, policy, now);
    },
  };
}

/**
 * State in libSQL, shared by every process and location: precise limits (per account on login)
 * at the cost of one write per hit. The decision is made inside one UPDATE, so concurrent hits
 * cannot both take the last slot (SQLite evaluates SET expressions against the old row).
 */
export function libsqlStore(sql: Client): RateLimitStore {
  return {
    async hit(key, policy, now) {
      const interval = policy.periodMs / policy.limit;
      const rs = await sql.execute({
        sql: `INSERT INTO nb_rate_limits (key, tat, allowed) VALUES (?1, ?2 + ?3, 1)
              ON CONFLICT (key) DO UPDATE SET
                allowed = (max(tat, ?2) + ?3 - ?2 <= ?4),
                tat = CASE WHEN max(tat, ?2) + ?3 - ?2 <= ?4 THEN max(tat, ?2) + ?3 ELSE tat END
              RETURNING tat, allowed`,
        args: [`${policy.name}:${key}`, now, interval, policy.periodMs],
      });
      const row = rs.rows[0]!;
      const tat = Number(row.tat);
      const allowed = Number(row.allowed) === 1;
      // Re-derive the numbers from the stored TAT with the same pure function.
      const view = decide(allowed ? tat - interval : tat, policy, now);
      return { ...view, allowed, tat };
    },
  };
}
