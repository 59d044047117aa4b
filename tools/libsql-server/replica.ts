import { renameSync, rmSync } from "node:fs";
import Database from "libsql";

export interface LaggingReplicaOptions {
  /** The primary's database file. */
  source: string;
  /** Where the replica's copy lives. */
  path: string;
  /** How far behind the primary the replica's data is (at least this, at most lagMs + tickMs). */
  lagMs: number;
  tickMs?: number;
}

/**
 * A read replica that lags its primary by a known delay, for testing read-your-writes: every
 * tick it snapshots the primary (`VACUUM INTO`), and it promotes the newest snapshot that is at
 * least `lagMs` old by renaming it over `path`. New connections see the promoted copy; the
 * snapshot is in rollback-journal mode, so no WAL of an older copy can be mixed in.
 */
export function startLaggingReplica(options: LaggingReplicaOptions, onPromote: () => void) {
  const tickMs = options.tickMs ?? Math.max(10, Math.floor(options.lagMs / 4));
  const pending: { file: string; takenAt: number }[] = [];
  let seq = 0;
  const source = new Database(options.source);

  const snapshot = () => {
    const file = `${options.path}.snap-${seq++}`;
    rmSync(file, { force: true });
    source.exec(`VACUUM INTO '${file.replaceAll("'", "''")}'`);
    pending.push({ file, takenAt: Date.now() });
  };
  const promote = () => {
    const now = Date.now();
    let ready: { file: string } | undefined;
    while (pending.length > 0 && pending[0]!.takenAt <= now - options.lagMs) {
      if (ready) rmSync(ready.file, { force: true });
      ready = pending.shift();
    }
    if (ready) {
      renameSync(ready.file, options.path);
      onPromote();
    }
  };

  snapshot();
  renameSync(pending.shift()!.file, options.path);
  const timer = setInterval(() => {
    try {
      snapshot();
      promote();
    } catch {
      // The primary may be mid-migration; the next tick tries again.
    }
  }, tickMs);
  timer.unref();
  return {
    close() {
      clearInterval(timer);
      source.close();
      for (const p of pending.splice(0)) rmSync(p.file, { force: true });
    },
  };
}
