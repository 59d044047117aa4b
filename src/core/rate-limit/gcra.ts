/**
 * Rate-limit decisions by GCRA (the generic cell rate algorithm): a policy of `limit` requests
 * per `periodMs` becomes one timestamp per key — the theoretical arrival time (TAT) — so state
 * is tiny and the decision is exact, smooth (no window-edge bursts) and pure.
 */
export interface Policy {
  name: string;
  limit: number;
  periodMs: number;
}

export interface Decision {
  allowed: boolean;
  /** The TAT to store (unchanged when refused). */
  tat: number;
  limit: number;
  remaining: number;
  /** Seconds until the quota is whole again. */
  resetSeconds: number;
  /** Seconds until a refused request could succeed. */
  retryAfterSeconds: number;
}

export function decide(tat: number | undefined, policy: Policy, now: number): Decision {
  const interval = policy.periodMs / policy.limit;
  const base = Math.max(tat ?? now, now);
  const next = base + interval;
  const allowed = next - now <= policy.periodMs;
  const stored = allowed ? next : base;
  const remaining = Math.max(0, Math.floor((policy.periodMs - (stored - now)) / interval));
  return {
    allowed,
    tat: stored,
    limit: policy.limit,
    remaining,
    resetSeconds: Math.ceil((stored - now) / 1000),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((next - now - policy.periodMs) / 1000)),
  };
}

/** Parses "300/60s" or "5/1m" into a policy. */
export function parsePolicy(name: string, text: string): Policy {
  const match = /^(\d{1,6})\/(\d{1,5})(s|m|h)$/.exec(text.trim());
  if (!match)
    throw new Error(
      `rate limit ${name} must look like 300/60s, 10/1m or 1000/1h (got ${JSON.stringify(text)})`,
    );
  const unit = { s: 1000, m: 60_000, h: 3_600_000 }[match[3] as "s" | "m" | "h"];
  const limit = Number(match[1]);
  const periodMs = Number(match[2]) * unit;
  if (limit < 1 || periodMs < 1000)
    throw new Error(`rate limit ${name} needs at least 1 request per second or longer`);
  return { name, limit, periodMs };
}
