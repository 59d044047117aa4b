import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import * as z from "zod/mini";
import { refreshInput, signedInSchema, tokenPairSchema } from "../core/accounts/schemas";
import { mfaRequiredSchema } from "../core/accounts/strong-schemas";
import { ApiError } from "../core/kernel/errors";
import type { AppEnv } from "./context";

/**
 * The refresh token in an HttpOnly cookie, for browsers: a request that adds `?cookie=1` to
 * signup, login, refresh or the OAuth exchange gets the refresh token as `nb_refresh` (HttpOnly,
 * Secure, SameSite=Strict, path /api/auth) instead of in the body, so page scripts never hold
 * it; `POST /api/auth/refresh?cookie=1` with `{}` then rotates the cookie's token, and log-out
 * clears it. Every such request is a JSON POST, which a browser only sends cross-origin after a
 * CORS preflight our allowlist answers, and SameSite=Strict keeps other sites' pages from
 * sending the cookie at all.
 */
export const refreshCookie = "nb_refresh";
const path = "/api/auth";

/** The `cookie` query parameter, for the OpenAPI document. */
export const cookieParameter = {
  name: "cookie",
  in: "query",
  required: false,
  description:
    "1: the refresh token comes as the HttpOnly, Secure, SameSite=Strict cookie nb_refresh (path /api/auth), not in the body",
  schema: { enum: ["1"] },
};

export const setCookieHeader = {
  "Set-Cookie": {
    description: "With ?cookie=1: nb_refresh=…; Path=/api/auth; HttpOnly; Secure; SameSite=Strict",
    schema: { type: "string" },
  },
};

/**
 * What sign-in answers document: the refresh token is absent with ?cookie=1. Functions, as route
 * docs are (see RouteDocs in route-docs.ts).
 */
export const signedInAnswer = () =>
  z.extend(signedInSchema, {
    refreshToken: z
      .optional(tokenPairSchema.shape.refreshToken)
      .check(
        z.describe("Opaque, single use: rotate it at /api/auth/refresh. Absent with ?cookie=1"),
      ),
  });
export const tokenPairAnswer = () =>
  z.extend(tokenPairSchema, { refreshToken: signedInAnswer().shape.refreshToken });

/** The 200 of a sign-in (password log-in, the OAuth exchange): tokens, or a second factor to give. */
export const signInResponse = () => ({
  description:
    "Signed in; or, for an account with two-factor sign-in, `mfa_required` with a ticket for /api/auth/mfa/verify (no tokens, no cookie)",
  schema: z.union([signedInAnswer(), mfaRequiredSchema]),
  headers: setCookieHeader,
});

/** Whether the request asked for the cookie flow. */
export const wantsCookie = (c: Context<AppEnv>) => c.req.query("cookie") === "1";

/**
 * An answer carrying a refresh token, shaped for the caller: as is, or (with ?cookie=1) with the
 * token moved into the cookie.
 */
export function withRefreshCookie<T extends { refreshToken: string }>(
  c: Context<AppEnv>,
  answer: T,
  maxAgeSeconds: number,
): T | Omit<T, "refreshToken"> {
  if (!wantsCookie(c)) return answer;
  const { refreshToken, ...rest } = answer;
  setCookie(c, refreshCookie, refreshToken, {
    path,
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    maxAge: maxAgeSeconds,
  });
  return rest;
}

/** A refresh body: with ?cookie=1 and no token in it, the cookie's. */
export function refreshBody(
  c: Context<AppEnv>,
  body: Record<string, unknown>,
): Record<string, unknown> {
  if (!wantsCookie(c) || body.refreshToken !== undefined) return body;
  const token = getCookie(c, refreshCookie);
  if (token === undefined)
    throw new ApiError("UNAUTHENTICATED", "No refresh-token cookie: sign in with ?cookie=1 first.");
  return { ...body, refreshToken: token };
}

/** Log-out: the cookie goes too (if there is one). */
export function clearRefreshCookie(c: Context<AppEnv>): void {
  if (getCookie(c, refreshCookie) !== undefined)
    deleteCookie(c, refreshCookie, { path, secure: true, httpOnly: true, sameSite: "Strict" });
}

/** The refresh request body as documented: the token, or `{}` with ?cookie=1. */
export const refreshRequestBody = () =>
  z.union([
    refreshInput,
    z
      .strictObject({})
      .check(z.describe("With ?cookie=1: the token is read from the nb_refresh cookie")),
  ]);
