import type { EventEmitter } from "node:events";
import module from "node:module";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { LogSink } from "../../core/kernel/log";

/** How long the server must have served nothing before the collection runs. */
const quietMs = 500;
/** A server that is busy for this long after starting is left to V8's own memory reducer. */
const giveUpMs = 30_000;

/**
 * Once after starting, as soon as the server has been quiet for half a second: one
 * memory-reducing garbage collection (V8's "last resort" collection — every unreachable object,
 * and the young generation shrunk back from the 16 MiB that starting up grew it to). Starting
 * allocates a lot (modules, the app, migrations, ANALYZE) and V8 keeps the young generation it
 * grew until its memory reducer sees the process idle, ~20-25 s later; this gives the same memory
 * back within a second of listening. Measured (bench/results/production-2026-12-07.md): idle RSS
 * ~9 MiB less; one pause of 40-110 ms on this loaded 2-core machine, taken only when no request
 * arrived for half a second (looked at every 125 ms while requests come; after 30 s it gives up,
 * since a busy server needs its young generation anyway), and ~7 ms more CPU over the next 40
 * requests (bytecode the collection dropped is compiled again, the young generation grows back).
 * V8's `gc` is reached through a fresh context with --expose-gc on for that moment only (the
 * app's own global never has a `gc`). The log says how long it took and the RSS before and after
 * (debug level).
 */
export function collectAfterStart(server: Pick<EventEmitter, "on" | "off">, log: LogSink): void {
  const started = performance.now();
  let last = started;
  const seen = () => {
    last = performance.now();
  };
  server.on("request", seen);
  server.on("upgrade", seen);
  // Looked at every quietMs / 4, so it runs 0.5-0.625 s after the last request.
  const timer = setInterval(() => {
    const now = performance.now();
    if (now - last < quietMs && now - started < giveUpMs) return;
    clearInterval(timer);
    server.off("request", seen);
    server.off("upgrade", seen);
    if (now - last < quietMs) return;
    const before = process.memoryUsage.rss();
    // The compile cache (dist/server.js) written now rather than at exit: its in-memory copy
    // is let go (~0.6 MiB), and a crash no longer loses it.
    module.flushCompileCache?.();
    collectAllAvailable();
    log.write({
      level: "debug",
      msg: "memory collected after start",
      durationMs: Math.round(performance.now() - now),
      rssBeforeMiB: Math.round(before / 2 ** 20),
      rssAfterMiB: Math.round(process.memoryUsage.rss() / 2 ** 20),
    });
  }, quietMs / 4);
  timer.unref();
}

function collectAllAvailable(): void {
  // Started with --expose-gc (benchmarks, profiling): leave the flag as it was found.
  const exposed = typeof (globalThis as { gc?: unknown }).gc === "function";
  if (!exposed) setFlagsFromString("--expose-gc");
  try {
    const gc = runInNewContext("gc") as (options: object) => void;
    gc({ type: "major", execution: "sync", flavor: "last-resort" });
  } finally {
    if (!exposed) setFlagsFromString("--no-expose-gc");
  }
}
