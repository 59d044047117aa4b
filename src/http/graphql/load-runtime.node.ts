/**
 * The Node build's load-runtime.ts (scripts/build.ts swaps it in): graphql-js and the schema
 * are read, compiled and built on the first /graphql request, not at start (CPU and memory
 * measured in bench/results/production-2026-12-07.md).
 */
export const loadRuntime = () => import("./runtime");
