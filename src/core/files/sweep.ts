import type { Client } from "@libsql/client";
import { describeError, type LogSink } from "../kernel/log";
import type { FileStorage } from "./storage";

/** How long an upload may wait for its record to commit before its object counts as orphaned. */
export const uploadGraceMs = 60 * 60_000;

/** Retry delay after `attempts` failed deletes: 1 s, 4 s, 16 s … capped at an hour. */
export function retryDelayMs(attempts: number): number {
  return Math.min(1000 * 4 ** Math.max(0, attempts - 1), 60 * 60_000);
}

/**
 * One pass of the storage outbox: deletes the objects whose nb_file_deletions rows are due,
 * then their rows; a delete that fails keeps its row with a later due time and the error
 * (retried by a later pass: after the next write that frees files, and by the scheduled
 * `files-sweep` job). Idempotent: deleting an absent object is not an error.
 */
export async function sweepFiles(
  deps: { sql: Client; storage: FileStorage; log: LogSink; now(): number },
  limit = 100,
): Promise<{ deleted: number; failed: number }> {
  const now = deps.now();
  const rs = await deps.sql.execute({
    sql: "SELECT key, attempts FROM nb_file_deletions WHERE due_at <= ? ORDER BY due_at LIMIT ?",
    args: [now, limit],
  });
  let deleted = 0;
  let failed = 0;
  const rows = rs.rows.map((r) => ({ key: String(r.key), attempts: Number(r.attempts) }));
  for (let i = 0; i < rows.length; i += 10) {
    const chunk = rows.slice(i, i + 10);
    const results = await Promise.allSettled(chunk.map((r) => deps.storage.delete([r.key])));
    const done: string[] = [];
    const statements = [];
    for (const [j, result] of results.entries()) {
      const row = chunk[j]!;
      if (result.status === "fulfilled") {
        done.push(row.key);
        continue;
      }
      failed++;
      const error = describeError(result.reason);
      deps.log.write({
        level: "warn",
        msg: "file delete failed",
        key: row.key,
        attempt: row.attempts + 1,
        error,
      });
      statements.push({
        sql: "UPDATE nb_file_deletions SET attempts = attempts + 1, due_at = ?, last_error = ? WHERE key = ?",
        args: [now + retryDelayMs(row.attempts + 1), String(error.message).slice(0, 500), row.key],
      });
    }
    if (done.length > 0) {
      statements.push({
        sql: `DELETE FROM nb_file_deletions WHERE key IN (${done.map(() => "?").join(", ")}) AND due_at <= ?`,
        args: [...done, now],
      });
      deleted += done.length;
    }
    if (statements.length > 0) await deps.sql.batch(statements, "write");
  }
  return { deleted, failed };
}

/** The scheduled `files-sweep` job (both homes): retries failed deletes, removes abandoned uploads. */
export function filesJob(deps: { sql: Client; storage: FileStorage | undefined; log: LogSink }) {
  return {
    name: "files-sweep",
    leaseMs: 5 * 60_000,
    everyMs: 45_000,
    run: async (now: number) => {
      if (deps.storage === undefined) return { deleted: 0, failed: 0 };
      let total = { deleted: 0, failed: 0 };
      // A few passes: a backlog drains over several ticks without holding the lease long.
      for (let i = 0; i < 5; i++) {
        const pass = await sweepFiles({ ...deps, storage: deps.storage, now: () => now });
        total = { deleted: total.deleted + pass.deleted, failed: total.failed + pass.failed };
        if (pass.deleted + pass.failed < 100) break;
      }
      return total;
    },
  };
}
