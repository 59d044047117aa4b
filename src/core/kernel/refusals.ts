import { ApiError, type ApiErrorOptions } from "./errors";
import type { Principal } from "./principal";

/** The challenge every 401 carries (RFC 6750). */
export const bearerChallenge = 'Bearer realm="nearbase"';

/**
 * 401: signing in (or a valid credential) might help. Always carries the Bearer challenge;
 * `headers` may refine it (e.g. `error="invalid_token"`), `cause` is logged, never sent.
 */
export function unauthenticated(
  detail = "Sign in to do this.",
  options: ApiErrorOptions = {},
): ApiError {
  return new ApiError("UNAUTHENTICATED", detail, {
    ...options,
    headers: { "www-authenticate": bearerChallenge, ...options.headers },
  });
}

/** 403: this caller is known and may not do this. */
export function forbidden(detail: string): ApiError {
  return new ApiError("FORBIDDEN", detail);
}

/** A refusal for this caller: 401 when anonymous (signing in might help), else 403. */
export function refusal(principal: Principal, detail: string): ApiError {
  return principal.kind === "anonymous" ? unauthenticated() : forbidden(detail);
}
