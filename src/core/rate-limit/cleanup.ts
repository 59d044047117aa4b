import type { Client } from "@libsql/client";

/**
 * Deletes rate-limit rows whose bucket is whole again (TAT at or before `now`): such a row
 * decides exactly like a missing one, so deleting it changes no decision. Runs in chunks so one
 * call never holds the write lock for long; returns how many rows went. The Node home runs it on
 * a timer, the Workers home from its cron trigger (`scheduled`).
 */
export async function deleteExpiredRateLimits(
  sql: Client,
  now: number,
  options: { chunk?: number; maxChunks?: number } = {},
): Promise<number> {
  const chunk = options.chunk ?? 5000;
  const maxChunks = options.maxChunks ?? 20;
  let deleted = 0;
  for (let i = 0; i < maxChunks; i++) {
    const rs = await sql.execute({
      sql: "DELETE FROM nb_rate_limits WHERE key IN (SELECT key FROM nb_rate_limits WHERE tat <= ? LIMIT ?)",
      args: [now, chunk],
    });
    deleted += rs.rowsAffected;
    if (rs.rowsAffected < chunk) break;
  }
  return deleted;
}
