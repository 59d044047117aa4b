import type { Client } from "@libsql/client";
import { ApiError, type ApiErrorOptions } from "../kernel/errors";
import { unauthenticated } from "../kernel/refusals";
import { parsePolicy } from "../rate-limit/gcra";
import { libsqlStore } from "../rate-limit/stores";

const rejected = new WeakSet<ApiError>();

/**
 * A 401 for a credential that was presented and is wrong (forged or unknown token, unknown or
 * revoked API key, wrong password, spent refresh token or sign-in code). Only these count against
 * the caller's address; a missing credential or an expired (but genuine) access token does not.
 */
export function rejectedCredential(detail: string, options: ApiErrorOptions = {}): ApiError {
  const err = unauthenticated(detail, options);
  rejected.add(err);
  return err;
}

export function isRejectedCredential(err: unknown): boolean {
  return err instanceof ApiError && rejected.has(err);
}

/** The per-address budget of rejected credentials, as `credentialFailureBudget` returns it. */
export type FailureBudget = ReturnType<typeof credentialFailureBudget>;

/**
 * Per-address budget of rejected credentials, so guessing tokens, keys or passwords is throttled.
 * Failures are counted in libSQL (shared by every instance and location); an address over budget
 * is remembered in memory until its budget refills, so the check costs no I/O and requests with
 * good credentials pay nothing. While an address is over budget every request from it that
 * carries a credential gets 429 — a correct guess included, which is what makes it a throttle.
 */
export function credentialFailureBudget(sql: Client, maxRemembered = 10_000) {
  const blockedUntil = new Map<string, number>();
  return {
    /** Throws 429 when `ip` is over its failure budget under `policyText` ("off" disables). */
    check(ip: string, policyText: string, now: number) {
      if (policyText === "off") return;
      const until = blockedUntil.get(ip);
      if (until === undefined) return;
      if (until <= now) {
        blockedUntil.delete(ip);
        return;
      }
      throw tooManyFailures(Math.max(1, Math.ceil((until - now) / 1000)));
    },
    /** Counts one rejected credential from `ip`. */
    async record(ip: string, policyText: string, now: number) {
      if (policyText === "off") return;
      const policy = parsePolicy("credential-failures", policyText);
      const decision = await libsqlStore(sql).hit(`ip:${ip}`, policy, now);
      // Blocked once the next failure would be refused: the budget is used up.
      const next = decision.tat + policy.periodMs / policy.limit - now;
      if (!decision.allowed || next > policy.periodMs) {
        if (blockedUntil.size >= maxRemembered) {
          for (const [key, until] of blockedUntil) if (until <= now) blockedUntil.delete(key);
          if (blockedUntil.size >= maxRemembered) blockedUntil.clear();
        }
        blockedUntil.set(ip, now + Math.max(1000, next - policy.periodMs));
      }
    },
  };
}

function tooManyFailures(retryAfterSeconds: number) {
  return new ApiError(
    "RATE_LIMITED",
    `Too many rejected credentials from this address; retry in ${retryAfterSeconds} s.`,
    { headers: { "retry-after": String(retryAfterSeconds) } },
  );
}
