import type { RateLimitStore } from "../../core/rate-limit/stores";

/**
 * The period, in seconds, of the READ_LIMITER / WRITE_LIMITER bindings in wrangler.toml (Cloudflare
 * takes 10 or 60). The binding answers only yes or no, so a refusal's Retry-After is this long;
 * test/node/workers-rate-limit-config.test.ts holds wrangler.toml to it.
 */
export const limiterPeriodSeconds = 60;

/**
 * Read/write limits on Workers: the isolate's own GCRA (`local`, RATE_LIMIT_READ/WRITE: exact
 * for the requests this isolate sees, and what the RateLimit headers report) and then the Rate
 * Limiting binding, which counts the same key over every isolate of the Cloudflare location
 * (eventually consistent, per location; DESIGN.md). Alone, isolate-local state barely binds on
 * Workers: a client spread over many isolates gets every isolate's full budget. A refusal by
 * either is a 429. The binding is asked only when the local limit allows, so a caller already
 * refused here spends no binding call.
 */
export function bindingStore(binding: RateLimit, local: RateLimitStore): RateLimitStore {
  return {
    async hit(key, policy, now) {
      const decision = await local.hit(key, policy, now);
      if (!decision.allowed) return decision;
      const { success } = await binding.limit({ key: `${policy.name}:${key}` });
      if (success) return decision;
      return {
        ...decision,
        allowed: false,
        remaining: 0,
        resetSeconds: Math.max(decision.resetSeconds, limiterPeriodSeconds),
        retryAfterSeconds: limiterPeriodSeconds,
      };
    },
  };
}
