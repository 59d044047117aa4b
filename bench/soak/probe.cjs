// Preloaded into the Node home by `npm run soak` / `npm run chaos` (node --require): once a
// second, appends the process's memory and event-loop delay to SOAK_PROBE_FILE as a JSON line.
// Measurement only; not part of the server.
const { appendFileSync } = require("node:fs");
const { monitorEventLoopDelay, performance } = require("node:perf_hooks");

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
      })}\n`,
    );
    delay.reset();
  }, 1000);
  timer.unref();
}
