import { generateCodeVerifier, generateState } from "arctic";
import { base64url, constantTimeEqual, fromBase64url } from "../../kernel/crypto";
import { ApiError } from "../../kernel/errors";
import { unauthenticated } from "../../kernel/refusals";
import { validate } from "../../kernel/validate";
import type { AccountDeps, Caller } from "../deps";
import { rejectedCredential } from "../failures";
import { finishSignIn } from "../mfa";
import { issueOneTimeToken, spendOneTimeToken } from "../one-time-tokens";
import { oauthExchangeInput, type SignedIn } from "../schemas";
import type { MfaRequired } from "../strong-schemas";
import { userById } from "../users";
import { findOrCreateUser } from "./link";
import type { OAuthProfile } from "./provider";

const loginCodeTtlMs = 60_000;
const utf8 = new TextEncoder();

/** Where to send the browser, and the attempt's secrets to keep until it comes back. */
export interface OAuthStarted {
  authorizationUrl: URL;
  /** Provider, state, PKCE verifier and the app's redirect: keep it HttpOnly, for minutes. */
  flowState: string;
}

/** What the provider's callback carries, with the `flowState` kept since the start. */
export interface OAuthReturn {
  state: string | undefined;
  code: string | undefined;
  flowState: string | undefined;
}

/**
 * A browser app gets a single-use code at `location`; an API client gets tokens (or, for an
 * account with two-factor sign-in, an MFA ticket: a provider is a first factor like a password).
 */
export type OAuthFinished = { redirectTo: string } | { signedIn: SignedIn | MfaRequired };

const invalidAttempt = () =>
  new ApiError("BAD_REQUEST", "The sign-in attempt is invalid or expired; start again.");

/**
 * OAuth sign-in: authorization code with PKCE (S256) and state. `oauthStart` makes the attempt's
 * state and verifier; `oauthCallback` checks state (constant time), exchanges the code with the
 * verifier, reads the profile and signs the person in. Only an email the provider verified
 * creates or links an account (see link.ts). With `redirect` (on an allowed origin) the browser
 * gets a 60-second single-use code in the URL fragment to exchange at `oauthExchange`; without,
 * the tokens are the answer.
 */
export function oauthOperations(deps: AccountDeps) {
  const { db, clock, auth, oauth, redirectOrigins } = deps;
  return {
    async oauthStart(providerName: string, redirect: string | undefined): Promise<OAuthStarted> {
      const provider = await oauth.get(providerName);
      // Fail before sending the browser away when the sign-in could not finish here.
      await auth();
      const target = allowedRedirect(redirect, redirectOrigins);
      const state = generateState();
      const verifier = generateCodeVerifier();
      return {
        authorizationUrl: provider.createAuthorizationURL(state, verifier),
        flowState: [
          provider.name,
          state,
          verifier,
          target ? base64url(utf8.encode(target)) : "",
        ].join("."),
      };
    },

    async oauthCallback(
      providerName: string,
      back: OAuthReturn,
      caller: Caller,
    ): Promise<OAuthFinished> {
      const provider = await oauth.get(providerName);
      const config = await auth();
      const [name, state, verifier, redirect64] = (back.flowState ?? "").split(".");
      const given = back.state ?? "";
      if (
        !state ||
        !verifier ||
        name !== provider.name ||
        !back.code ||
        !constantTimeEqual(utf8.encode(given), utf8.encode(state))
      ) {
        throw invalidAttempt();
      }
      let profile: OAuthProfile;
      try {
        const tokens = await provider.validateAuthorizationCode(back.code, verifier);
        profile = await provider.fetchProfile(tokens);
      } catch (err) {
        throw unauthenticated("The provider did not confirm the sign-in; start again.", {
          cause: err,
        });
      }
      const user = await findOrCreateUser(deps, provider.name, profile);
      const now = clock.now();
      if (redirect64) {
        const target = decodeRedirect(redirect64);
        if (target === undefined || allowedRedirect(target, redirectOrigins) !== target)
          throw invalidAttempt();
        const { raw, insert } = await issueOneTimeToken(db, {
          userId: user.id,
          purpose: "oauth_login",
          expiresAt: now.getTime() + loginCodeTtlMs,
        });
        await insert;
        return { redirectTo: `${target}#code=${raw}` };
      }
      return { signedIn: await finishSignIn(db, config, user, caller, now, "oauth") };
    },

    /** Spends a browser app's single-use sign-in code for a session (or an MFA ticket). */
    async oauthExchange(input: unknown, caller: Caller): Promise<SignedIn | MfaRequired> {
      const body = validate(oauthExchangeInput, input);
      const now = clock.now();
      const userId = await spendOneTimeToken(db, body.code, "oauth_login", now.getTime());
      if (userId === undefined)
        throw rejectedCredential("The sign-in code is invalid, expired or used.");
      const user = await userById(db, userId);
      if (user === undefined) throw unauthenticated("This account no longer exists.");
      return finishSignIn(db, await auth(), user, caller, now, "oauth");
    },
  };
}

/**
 * The `redirect` a browser app asked for, if it is an absolute http(s) URL on an allowed origin:
 * returned in its normalised ASCII form (WHATWG serialisation percent-encodes anything else, so
 * it is safe in a cookie and a Location header) without a fragment (the code goes there).
 */
function allowedRedirect(
  redirect: string | undefined,
  origins: readonly string[],
): string | undefined {
  if (redirect === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(redirect);
  } catch {
    url = undefined;
  }
  if (url === undefined || !/^https?:$/.test(url.protocol) || !origins.includes(url.origin)) {
    throw new ApiError(
      "BAD_REQUEST",
      "redirect must be an absolute URL on an allowed origin (PUBLIC_URL or CORS_ORIGINS).",
    );
  }
  url.hash = "";
  return url.href;
}

function decodeRedirect(encoded: string): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      fromBase64url(encoded),
    );
  } catch {
    return undefined;
  }
}
