import { describe, expect, it } from "vitest";
import { type Decision, decide, type Policy, parsePolicy } from "./gcra";

const tenPerMinute: Policy = { name: "test", limit: 10, periodMs: 60_000 };

/** Runs `n` requests at the same instant, threading the stored TAT through. */
function burst(policy: Policy, n: number, now: number, tat?: number): Decision[] {
  const out: Decision[] = [];
  let state = tat;
  for (let i = 0; i < n; i++) {
    const d = decide(state, policy, now);
    state = d.tat;
    out.push(d);
  }
  return out;
}

describe("GCRA decide", () => {
  it("allows a full burst of `limit` requests at once, then refuses", () => {
    const decisions = burst(tenPerMinute, 11, 1_000_000);
    expect(decisions.slice(0, 10).every((d) => d.allowed)).toBe(true);
    expect(decisions.map((d) => d.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0]);
    const refused = decisions[10]!;
    expect(refused.allowed).toBe(false);
    expect(refused.limit).toBe(10);
  });

  it("gives a first request from a new key the whole quota minus one", () => {
    const d = decide(undefined, tenPerMinute, 5_000);
    expect(d).toEqual({
      allowed: true,
      tat: 5_000 + 6_000,
      limit: 10,
      remaining: 9,
      resetSeconds: 6,
      retryAfterSeconds: 0,
    });
  });

  it("leaves the stored TAT unchanged when it refuses", () => {
    const now = 0;
    const full = burst(tenPerMinute, 10, now).at(-1)!;
    const refused = decide(full.tat, tenPerMinute, now);
    expect(refused.allowed).toBe(false);
    expect(refused.tat).toBe(full.tat);
    // Refusals do not push the TAT further: hammering a refused key does not extend the wait.
    const again = decide(refused.tat, tenPerMinute, now);
    expect(again.tat).toBe(full.tat);
    expect(again.retryAfterSeconds).toBe(refused.retryAfterSeconds);
  });

  it("says when a refused request could succeed, and that request succeeds then", () => {
    const now = 0;
    const tat = burst(tenPerMinute, 10, now).at(-1)!.tat; // 60 s ahead
    const refused = decide(tat, tenPerMinute, now);
    // One emission interval (6 s) must pass before another request fits.
    expect(refused.retryAfterSeconds).toBe(6);
    expect(refused.resetSeconds).toBe(60);
    expect(decide(tat, tenPerMinute, now + 5_999).allowed).toBe(false);
    const later = decide(tat, tenPerMinute, now + refused.retryAfterSeconds * 1000);
    expect(later.allowed).toBe(true);
    expect(later.remaining).toBe(0);
  });

  it("never asks a refused caller to wait less than one second", () => {
    const fast: Policy = { name: "fast", limit: 1000, periodMs: 1000 }; // 1 ms interval
    const tat = burst(fast, 1000, 0).at(-1)!.tat;
    const refused = decide(tat, fast, 0);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBe(1);
  });

  it("refills at the steady rate: one request per period/limit", () => {
    const now = 0;
    let tat = burst(tenPerMinute, 10, now).at(-1)!.tat;
    // At exactly one request per interval, every request passes and none are left over.
    for (let i = 1; i <= 20; i++) {
      const d = decide(tat, tenPerMinute, now + i * 6_000);
      expect(d.allowed, `request ${i}`).toBe(true);
      expect(d.remaining).toBe(0);
      tat = d.tat;
    }
    // Twice as fast as that, half are refused.
    let allowed = 0;
    for (let i = 1; i <= 20; i++) {
      const d = decide(tat, tenPerMinute, now + 120_000 + i * 3_000);
      if (d.allowed) allowed++;
      tat = d.tat;
    }
    expect(allowed).toBe(10);
  });

  it("recovers the whole quota after an idle period, without banking more", () => {
    const tat = burst(tenPerMinute, 10, 0).at(-1)!.tat;
    const afterIdle = 10 * 60_000;
    const decisions = burst(tenPerMinute, 11, afterIdle, tat);
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
    expect(decisions[0]!.remaining).toBe(9);
  });

  it("reports resetSeconds as the time until the quota is whole again", () => {
    const [first, second, third] = burst(tenPerMinute, 3, 0);
    expect(first!.resetSeconds).toBe(6);
    expect(second!.resetSeconds).toBe(12);
    expect(third!.resetSeconds).toBe(18);
    // 4 s later a fourth request: 18 - 4 + 6 = 20 s until whole; 6.67 requests' room is left.
    const fourth = decide(third!.tat, tenPerMinute, 4_000);
    expect(fourth.resetSeconds).toBe(20);
    expect(fourth.remaining).toBe(6);
  });

  it("keys are independent: the TAT is the only state", () => {
    const a = burst(tenPerMinute, 10, 0).at(-1)!;
    expect(decide(a.tat, tenPerMinute, 0).allowed).toBe(false);
    expect(decide(undefined, tenPerMinute, 0).allowed).toBe(true);
  });
});

describe("parsePolicy", () => {
  it("reads seconds, minutes and hours", () => {
    expect(parsePolicy("api", "300/60s")).toEqual({ name: "api", limit: 300, periodMs: 60_000 });
    expect(parsePolicy("login", "5/1m")).toEqual({ name: "login", limit: 5, periodMs: 60_000 });
    expect(parsePolicy("signup", "1000/1h")).toEqual({
      name: "signup",
      limit: 1000,
      periodMs: 3_600_000,
    });
    expect(parsePolicy("x", "  10/15m \n")).toEqual({ name: "x", limit: 10, periodMs: 900_000 });
  });

  it("refuses malformed text, naming the setting and the value", () => {
    for (const bad of [
      "",
      "10",
      "10/",
      "/60s",
      "10/60",
      "10/60d",
      "10 / 60s",
      "-1/60s",
      "1.5/1m",
    ]) {
      expect(() => parsePolicy("LOGIN_LIMIT", bad), bad).toThrow(
        /rate limit LOGIN_LIMIT must look/,
      );
    }
    expect(() => parsePolicy("N", "abc")).toThrow(/"abc"/);
  });

  it("refuses a zero limit and periods under one second", () => {
    expect(() => parsePolicy("N", "0/1m")).toThrow(/at least 1 request/);
    expect(() => parsePolicy("N", "5/0s")).toThrow(/at least 1 request/);
    expect(() => parsePolicy("N", "5/0m")).toThrow(/at least 1 request/);
  });

  it("refuses numbers too long to be meant", () => {
    expect(() => parsePolicy("N", "1234567/1s")).toThrow(/must look/);
    expect(() => parsePolicy("N", "1/123456s")).toThrow(/must look/);
  });

  it("gives policies that decide as their text says", () => {
    const policy = parsePolicy("p", "3/1s");
    const decisions = burst(policy, 4, 0);
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
  });
});
