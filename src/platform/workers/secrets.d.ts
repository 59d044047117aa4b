// Bindings the worker reads that `wrangler types` cannot see in wrangler.toml: secrets (set with
// `npx wrangler secret put`, locally by `npm run dev`/.dev.vars, in tests by vitest.config.ts)
// and the optional Analytics Engine dataset. Merged into the generated `Env`.
interface NearbaseSecrets {
  /** libSQL over HTTP: libsql://<db>-<org>.turso.io in production. */
  DATABASE_URL: string;
  DATABASE_AUTH_TOKEN?: string;
  /** The signing key set (`npm run --silent keys:rotate -- --print`). */
  JWT_PRIVATE_KEYS?: string;
  /** Optional `[[analytics_engine_datasets]]` binding (wrangler.toml). */
  ANALYTICS?: AnalyticsEngineDataset;
}
interface Env extends NearbaseSecrets {}
declare namespace Cloudflare {
  interface Env extends NearbaseSecrets {}
}
