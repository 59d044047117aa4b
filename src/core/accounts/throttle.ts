import type { Client } from "@libsql/client";
import { ApiError } from "../kernel/errors";
import { parsePolicy } from "../rate-limit/gcra";
import { libsqlStore } from "../rate-limit/stores";

/**
 * Throttles attempts on one account (log-in, forgot-password, verification mail), counted in
 * libSQL so every instance and location shares the count. Throws 429 with Retry-After when the
 * account's budget under `policyText` (e.g. "5/15m") is spent.
 */
export async function throttleAccount(
  sql: Client,
  policyText: string,
  name: string,
  account: string,
  now: number,
): Promise<void> {
  const policy = parsePolicy(name, policyText);
  const decision = await libsqlStore(sql).hit(account, policy, now);
  if (!decision.allowed) {
    throw new ApiError(
      "RATE_LIMITED",
      `Too many attempts for this account; retry in ${decision.retryAfterSeconds} s.`,
      { headers: { "retry-after": String(decision.retryAfterSeconds) } },
    );
  }
}
