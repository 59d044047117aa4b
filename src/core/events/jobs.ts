import type { Client } from "@libsql/client";
import { randomId } from "../kernel/crypto";
import { describeError, type LogSink } from "../kernel/log";
import { deleteExpiredRateLimits } from "../rate-limit/cleanup";
import type { DeliveryDeps } from "./deliver";
import { dispatchOnce } from "./dispatch";

/** A scheduled job: idempotent, so running it twice is harmless; the lease makes it rare. */
export interface Job {
  name: string;
  /** How long the lease lasts: longer than one run can take. */
  leaseMs: number;
  /** A finished run keeps the lease this long after it started: at most one run per interval. */
  everyMs: number;
  run(now: number): Promise<Record<string, number>>;
}

// Made on first use: Workers refuse random values at module scope (outside a request).
let holderId: string | undefined;
const holder = () => (holderId ??= randomId("run"));

/**
 * Takes the job's lease row unless another runner holds an unexpired one (one statement, so two
 * runners racing for it cannot both win). Returns whether this runner holds it now.
 */
export async function acquireLease(
  sql: Client,
  name: string,
  now: number,
  leaseMs: number,
  who = holder(),
) {
  const rs = await sql.execute({
    sql: `INSERT INTO nb_jobs (name, lease_until, holder) VALUES (?, ?, ?)
          ON CONFLICT (name) DO UPDATE SET lease_until = excluded.lease_until, holder = excluded.holder
          WHERE nb_jobs.lease_until <= ?
          RETURNING holder`,
    args: [name, now + leaseMs, who, now],
  });
  return rs.rows[0]?.holder === who;
}

async function releaseLease(sql: Client, name: string, until: number, now: number, result: string) {
  await sql.execute({
    sql: "UPDATE nb_jobs SET lease_until = ?, last_run_at = ?, last_result = ? WHERE name = ? AND holder = ?",
    args: [until, now, result.slice(0, 1000), name, holder()],
  });
}

/** Deletes in chunks so no one statement holds the write lock for long. */
async function chunked(sql: Client, statement: string, args: (string | number)[], chunk = 5000) {
  let deleted = 0;
  for (let i = 0; i < 20; i++) {
    const rs = await sql.execute({ sql: statement, args: [...args, chunk] });
    deleted += rs.rowsAffected;
    if (rs.rowsAffected < chunk) break;
  }
  return deleted;
}

/**
 * The scheduled jobs both homes run: Workers from the cron trigger, Node on a timer. `more` adds
 * jobs of other concerns (e.g. privacy retention) under the same leases.
 */
export function standardJobs(deps: DeliveryDeps, more: readonly Job[] = []): Job[] {
  const { sql } = deps;
  const day = 86_400_000;
  return [
    {
      // Anything a lost queue message or a stopped process left behind.
      name: "outbox-sweep",
      leaseMs: 5 * 60_000,
      // Below the Workers cron's minute, so every tick sweeps.
      everyMs: 45_000,
      run: async () => dispatchOnce(deps, { maxRounds: 20 }),
    },
    {
      name: "expired-credentials",
      leaseMs: 10 * 60_000,
      everyMs: 10 * 60_000,
      run: async (now) => ({
        rateLimits: await deleteExpiredRateLimits(sql, now),
        // A day's grace after expiry; refresh tokens go only once expired (used ones stay until
        // then, so a replayed one is still recognised as reuse), and with their sessions.
        sessions: await chunked(
          sql,
          "DELETE FROM nb_sessions WHERE id IN (SELECT id FROM nb_sessions WHERE expires_at <= ? LIMIT ?)",
          [now - day],
        ),
        refreshTokens: await chunked(
          sql,
          "DELETE FROM nb_refresh_tokens WHERE hash IN (SELECT hash FROM nb_refresh_tokens WHERE expires_at <= ? LIMIT ?)",
          [now - day],
        ),
        oneTimeTokens: await chunked(
          sql,
          "DELETE FROM nb_one_time_tokens WHERE hash IN (SELECT hash FROM nb_one_time_tokens WHERE expires_at <= ? LIMIT ?)",
          [now - day],
        ),
      }),
    },
    {
      name: "delivery-log-pruning",
      leaseMs: 10 * 60_000,
      everyMs: 60 * 60_000,
      run: async (now) => {
        const before = now - deps.settings.retentionMs;
        return {
          attempts: await chunked(
            sql,
            "DELETE FROM nb_webhook_attempts WHERE id IN (SELECT id FROM nb_webhook_attempts WHERE started_at < ? LIMIT ?)",
            [before],
          ),
          deliveries: await chunked(
            sql,
            "DELETE FROM nb_webhook_deliveries WHERE id IN (SELECT id FROM nb_webhook_deliveries WHERE status IN ('succeeded', 'dead') AND completed_at < ? LIMIT ?)",
            [before],
          ),
          // Dispatched events no delivery still needs.
          events: await chunked(
            sql,
            `DELETE FROM nb_events WHERE id IN (SELECT id FROM nb_events e WHERE dispatched_at IS NOT NULL AND occurred_at < ?
               AND NOT EXISTS (SELECT 1 FROM nb_webhook_deliveries d WHERE d.event_id = e.id) LIMIT ?)`,
            [before],
          ),
        };
      },
    },
    ...more,
  ];
}

/**
 * Runs every job whose lease this runner gets; a job another runner holds is skipped. Failures
 * are logged and recorded on the lease row, never thrown. Returns what each job did.
 */
export async function runJobs(
  sql: Client,
  jobs: readonly Job[],
  options: { now(): number; log: LogSink },
) {
  const results: Record<string, Record<string, number> | "skipped" | "failed"> = {};
  for (const job of jobs) {
    const now = options.now();
    if (!(await acquireLease(sql, job.name, now, job.leaseMs))) {
      results[job.name] = "skipped";
      continue;
    }
    try {
      const done = await job.run(now);
      results[job.name] = done;
      await releaseLease(sql, job.name, now + job.everyMs, options.now(), JSON.stringify(done));
    } catch (err) {
      results[job.name] = "failed";
      options.log.write({
        level: "error",
        msg: "job failed",
        job: job.name,
        error: describeError(err),
      });
      // A failed run may be retried at the next tick.
      const at = options.now();
      await releaseLease(sql, job.name, at, at, `failed: ${String((err as Error).message)}`).catch(
        () => {},
      );
    }
  }
  options.log.write({ level: "info", msg: "scheduled jobs", results });
  return results;
}
