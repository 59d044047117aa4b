import { ApiError } from "./errors";
import type { Principal } from "./principal";

/** The challenge every 401 carries (RFC 6750). */
export const bearerChallenge = 'Bearer realm="nearbase"';

/** 401: signing in (or a valid credential) might help. */
export function unauthenticated(detail = "Sign in to do this."): ApiError {
  return new ApiError("UNAUTHENTICATED", detail, {
    headers: { "www-authenticate": bearerChallenge },
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
