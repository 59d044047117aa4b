import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { loadConfig } from "../../src/config";
import { limiterPeriodSeconds } from "../../src/platform/workers/rate-limit";

// wrangler.toml's Rate Limiting bindings (READ_LIMITER, WRITE_LIMITER) against the code: the
// period the code reports as Retry-After, the limits RATE_LIMIT_READ/WRITE default to, and a
// namespace of its own for staging (it must not spend production's counters).
const read = (env?: string) =>
  unstable_readConfig({ config: "wrangler.toml", env }).ratelimits as {
    name: string;
    namespace_id: string;
    simple: { limit: number; period: number };
  }[];

describe("wrangler.toml Rate Limiting bindings", () => {
  const defaults = loadConfig({ DATABASE_URL: "http://127.0.0.1:1" }, "workers").rateLimits;
  for (const env of [undefined, "staging", "production"]) {
    it(`${env ?? "top level"}: READ_LIMITER and WRITE_LIMITER match the code`, () => {
      const byName = new Map(read(env).map((r) => [r.name, r]));
      const expected = { READ_LIMITER: defaults.read, WRITE_LIMITER: defaults.write };
      for (const [name, setting] of Object.entries(expected)) {
        const binding = byName.get(name);
        expect(binding, name).toBeDefined();
        expect(binding!.simple.period, name).toBe(limiterPeriodSeconds);
        expect(`${binding!.simple.limit}/${binding!.simple.period}s`, name).toBe(setting);
      }
    });
  }

  it("staging counts in namespaces of its own", () => {
    const production = new Set(read("production").map((r) => r.namespace_id));
    for (const r of read("staging")) expect(production.has(r.namespace_id), r.name).toBe(false);
  });
});
