// Preloaded into the Node home by bench/realtime.ts (NODE_OPTIONS=--expose-gc --require …):
// SIGUSR2 runs a full garbage collection, so resident memory is read after one (per-connection
// memory is then a difference of settled heaps, not of whenever the collector last ran).
process.on("SIGUSR2", () => globalThis.gc?.());
