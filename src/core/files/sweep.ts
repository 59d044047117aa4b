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
 * `files-sweep` job). Idempotent: deleting an absent object is not an error. An object's
 * thumbnails are deleted with it.
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
    const thumbs = await thumbsOf(
      deps.sql,
      chunk.map((r) => r.key),
    );
    const results = await Promise.allSettled(
      chunk.map((r) => deps.storage.delete([r.key, ...(thumbs.get(r.key) ?? [])])),
    );
    const done: string[] = [];
    const doneThumbs: string[] = [];
    const statements = [];
    for (const [j, result] of results.entries()) {
      const row = chunk[j]!;
      if (result.status === "fulfilled") {
        done.push(row.key);
        doneThumbs.push(...(thumbs.get(row.key) ?? []));
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
    if (doneThumbs.length > 0)
      statements.push({
        sql: `DELETE FROM nb_file_deletions WHERE reason = 'thumb' AND key IN (${doneThumbs.map(() => "?").join(", ")})`,
        args: doneThumbs,
      });
    if (statements.length > 0) await deps.sql.batch(statements, "write");
  }
  return { deleted, failed };
}

/**
 * The thumbnails stored for each of `keys` (their `thumb` rows, `<key>@<size>`): they go with
 * their original, whatever sizes the field declares now.
 */
async function thumbsOf(sql: Client, keys: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (keys.length === 0) return out;
  // `@` (0x40) is in no stored name, and `A` (0x41) follows it: one primary-key range per key.
  const rs = await sql.execute({
    sql: `SELECT key FROM nb_file_deletions WHERE reason = 'thumb' AND (${keys.map(() => "(key > ? AND key < ?)").join(" OR ")})`,
    args: keys.flatMap((k) => [`${k}@`, `${k}A`]),
  });
  for (const row of rs.rows) {
    const key = String(row.key);
    const original = key.slice(0, key.lastIndexOf("@"));
    out.set(original, [...(out.get(original) ?? []), key]);
  }
  return out;
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
