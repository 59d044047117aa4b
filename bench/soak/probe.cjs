// Preloaded into the Node home by `npm run soak` / `npm run chaos` (node --require): once a
// second, appends the process's memory and event-loop delay to SOAK_PROBE_FILE as a JSON line.
// With SOAK_HEAP_SNAPSHOTS="120,720" (seconds after start) and SOAK_HEAP_SNAPSHOT_DIR, it also
// writes V8 heap snapshots then (live objects only: a snapshot collects garbage first), for
// diffing what the heap holds over a run. Measurement only; not part of the server.
const { appendFileSync } = require("node:fs");
const { monitorEventLoopDelay, performance } = require("node:perf_hooks");

// Prepared statements by SQL text (libSQL keeps each one's compiled program in native memory):
// how many were prepared and how many distinct texts, per connection kind.
const prepared = { sync: 0, syncDistinct: new Set(), async: 0, asyncDistinct: new Set() };
if (process.env.SOAK_COUNT_STATEMENTS) {
  for (const [mod, kind] of [
    ["libsql", "sync"],
    ["libsql/promise", "async"],
  ]) {
    const Database = require(mod);
    const prepare = Database.prototype.prepare;
    Database.prototype.prepare = function (sql, ...rest) {
      prepared[kind]++;
      prepared[`${kind}Distinct`].add(sql);
      return prepare.call(this, sql, ...rest);
    };
  }
}

const file = process.env.SOAK_PROBE_FILE;
if (file) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let elu = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const next = performance.eventLoopUtilization();
    const used = performance.eventLoopUtilization(next, elu).utilization;
    elu = next;
    appendFileSync(
      file,
      `${JSON.stringify({
        at: Date.now(),
        rss: m.rss,
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
        lagP50: delay.percentile(50) / 1e6,
        lagP99: delay.percentile(99) / 1e6,
        lagMax: delay.max / 1e6,
        elu: used,
        ...(process.env.SOAK_COUNT_STATEMENTS
          ? {
              prepared: prepared.sync + prepared.async,
              distinctSync: prepared.syncDistinct.size,
              distinctAsync: prepared.asyncDistinct.size,
            }
          : {}),
      })}\n`,
    );
    delay.reset();
  }, 1000);
  timer.unref();
}

const snapshotDir = process.env.SOAK_HEAP_SNAPSHOT_DIR;
if (snapshotDir)
  for (const at of (process.env.SOAK_HEAP_SNAPSHOTS ?? "").split(",").filter(Boolean))
    setTimeout(() => {
      const { writeHeapSnapshot } = require("node:v8");
      writeHeapSnapshot(require("node:path").join(snapshotDir, `heap-${at}s.heapsnapshot`));
    }, Number(at) * 1000).unref();
