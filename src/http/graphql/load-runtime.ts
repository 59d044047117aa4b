import * as runtime from "./runtime";

/**
 * How /graphql gets its runtime (index.ts). Here graphql-js is part of the bundle — the Worker,
 * the tests, `npm run dev` — and only the schema is built on first use. The Node build
 * (scripts/build.ts) swaps in load-runtime.node.ts, which also imports graphql-js on first use,
 * from a chunk of its own. Not so in the Worker: wrangler bundles one file, and a dynamic import
 * there wraps every graphql-js module in a lazy initialiser (+4.8 KiB gzip, measured).
 */
export const loadRuntime = async (): Promise<typeof runtime> => runtime;
