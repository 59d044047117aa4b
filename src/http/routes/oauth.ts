import { CodeChallengeMethod, generateCodeVerifier, generateState, OAuth2Client } from "arctic";
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import type { AuthConfig } from "../../core/accounts/config";
import { rejectedCredential } from "../../core/accounts/failures";
import { findOrCreateUser } from "../../core/accounts/oauth/link";
import { issueOneTimeToken, spendOneTimeToken } from "../../core/accounts/one-time-tokens";
import { startSession } from "../../core/accounts/sessions";
import { users } from "../../core/db/schema/auth";
import { base64url, constantTimeEqual, fromBase64url } from "../../core/kernel/crypto";
import { ApiError } from "../../core/kernel/errors";
import { tracedFetch } from "../../core/observability/fetch";
import { readJsonObject, validate } from "../body";
import type { AppEnv } from "../context";
import { noStore, publicUser } from "./auth";

/** What a provider says about the signed-in person (checked by `findOrCreateUser`). */
export interface OAuthProfile {
  id: string;
  email: string | undefined;
  emailVerified: boolean;
  name: string;
}

/** A provider's endpoints and how to read the signed-in person from it. */
export interface OAuthProvider {
  name: string;
  clientId: string;
  clientSecret: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  scopes: string[];
  /** The provider's stable user id and email, with whether the provider verified that email. */
  profile(accessToken: string): Promise<OAuthProfile>;
}

async function getJson(url: string, accessToken: string): Promise<unknown> {
  const res = await tracedFetch(url, {
    headers: {
      authorization: `Bearer ${accessToken}`,
      accept: "application/json",
      "user-agent": "nearbase",
    },
  });
  if (!res.ok) throw new Error(`${new URL(url).host} answered ${res.status}`);
  return res.json();
}

export function githubProvider(clientId: string, clientSecret: string): OAuthProvider {
  return {
    name: "github",
    clientId,
    clientSecret,
    authorizationEndpoint: "https://github.com/login/oauth/authorize",
    tokenEndpoint: "https://github.com/login/oauth/access_token",
    scopes: ["read:user", "user:email"],
    async profile(token) {
      const user = (await getJson("https://api.github.com/user", token)) as {
        id: number;
        login: string;
        name?: string;
      };
      const emails = (await getJson("https://api.github.com/user/emails", token)) as {
        email: string;
        primary: boolean;
        verified: boolean;
      }[];
      const primary = emails.find((e) => e.primary && e.verified) ?? emails.find((e) => e.verified);
      return {
        id: String(user.id),
        email: primary?.email,
        emailVerified: primary !== undefined,
        name: user.name ?? user.login,
      };
    },
  };
}

/** Any OpenID Connect provider (Google included), from its discovery document. */
export async function oidcProvider(
  name: string,
  issuer: string,
  clientId: string,
  clientSecret: string,
): Promise<OAuthProvider> {
  const res = await tracedFetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`OIDC discovery for ${name} failed (${res.status})`);
  const meta = (await res.json()) as {
    authorization_endpoint: string;
    token_endpoint: string;
    userinfo_endpoint: string;
  };
  return {
    name,
    clientId,
    clientSecret,
    authorizationEndpoint: meta.authorization_endpoint,
    tokenEndpoint: meta.token_endpoint,
    scopes: ["openid", "email", "profile"],
    async profile(token) {
      const info = (await getJson(meta.userinfo_endpoint, token)) as {
        sub: string;
        email?: string;
        email_verified?: boolean | string;
        name?: string;
      };
      return {
        id: info.sub,
        email: info.email,
        emailVerified: info.email_verified === true || info.email_verified === "true",
        name: info.name ?? "",
      };
    },
  };
}

/** The configured providers, built on first use (OIDC discovery is a fetch). */
export function oauthProviders(config: {
  github?: { clientId: string; clientSecret: string };
  google?: { clientId: string; clientSecret: string };
  oidc?: { name: string; issuer: string; clientId: string; clientSecret: string };
}) {
  let built: Promise<Map<string, OAuthProvider>> | undefined;
  return () => {
    built ??= (async () => {
      const map = new Map<string, OAuthProvider>();
      if (config.github)
        map.set("github", githubProvider(config.github.clientId, config.github.clientSecret));
      if (config.google) {
        map.set(
          "google",
          await oidcProvider(
            "google",
            "https://accounts.google.com",
            config.google.clientId,
            config.google.clientSecret,
          ),
        );
      }
      if (config.oidc) {
        const { name, issuer, clientId, clientSecret } = config.oidc;
        map.set(name, await oidcProvider(name, issuer, clientId, clientSecret));
      }
      return map;
    })().catch((err: unknown) => {
      built = undefined;
      throw new ApiError("UNAVAILABLE", "The OAuth provider could not be reached; try again.", {
        cause: err,
      });
    });
    return built;
  };
}

const cookieName = "nb_oauth";
const loginCodeTtlMs = 60_000;

/**
 * OAuth sign-in: authorization code with PKCE (S256) and state, through arctic's OAuth2 client.
 * `start` sets a short-lived HttpOnly cookie with state and verifier and redirects to the
 * provider; `callback` checks state (constant time), exchanges the code with the verifier,
 * reads the profile and signs the person in. Only an email the provider verified creates or links
 * an account (see oauth-link.ts). With `redirect` (an allowed origin) the browser gets a 60-second single-use code in
 * the URL fragment to exchange at POST /oauth/exchange; without, the tokens come back as JSON.
 */
export function oauthRoutes(
  auth: () => Promise<AuthConfig>,
  providers: () => Promise<Map<string, OAuthProvider>>,
  allowedOrigins: () => string[],
) {
  const app = new Hono<AppEnv>();
  app.use(noStore);
  const redirectUri = (config: AuthConfig, name: string) =>
    `${config.publicUrl}/api/auth/oauth/${name}/callback`;
  const providerOf = async (name: string) => {
    const provider = (await providers()).get(name);
    if (provider === undefined)
      throw new ApiError(
        "NOT_FOUND",
        `No OAuth provider ${JSON.stringify(name.slice(0, 32))} is configured.`,
      );
    return provider;
  };

  app.get("/oauth/:provider/start", async (c) => {
    const provider = await providerOf(c.req.param("provider"));
    const config = await auth();
    const redirect = allowedRedirect(c.req.query("redirect"), allowedOrigins());
    const state = generateState();
    const verifier = generateCodeVerifier();
    const client = new OAuth2Client(
      provider.clientId,
      provider.clientSecret,
      redirectUri(config, provider.name),
    );
    const url = client.createAuthorizationURLWithPKCE(
      provider.authorizationEndpoint,
      state,
      CodeChallengeMethod.S256,
      verifier,
      provider.scopes,
    );
    setCookie(
      c,
      cookieName,
      [provider.name, state, verifier, redirect ? base64url(utf8.encode(redirect)) : ""].join("."),
      {
        path: "/api/auth/oauth",
        httpOnly: true,
        sameSite: "Lax",
        secure: new URL(c.req.url).protocol === "https:",
        maxAge: 600,
      },
    );
    return c.redirect(url.toString(), 302);
  });

  app.get("/oauth/:provider/callback", async (c) => {
    const provider = await providerOf(c.req.param("provider"));
    const config = await auth();
    const [name, state, verifier, redirect64] = (getCookie(c, cookieName) ?? "").split(".");
    deleteCookie(c, cookieName, { path: "/api/auth/oauth" });
    const given = c.req.query("state") ?? "";
    const code = c.req.query("code");
    const enc = new TextEncoder();
    if (
      !state ||
      !verifier ||
      name !== provider.name ||
      !code ||
      !constantTimeEqual(enc.encode(given), enc.encode(state))
    ) {
      throw new ApiError("BAD_REQUEST", "The sign-in attempt is invalid or expired; start again.");
    }
    let profile: OAuthProfile;
    try {
      const client = new OAuth2Client(
        provider.clientId,
        provider.clientSecret,
        redirectUri(config, provider.name),
      );
      const tokens = await client.validateAuthorizationCode(provider.tokenEndpoint, code, verifier);
      profile = await provider.profile(tokens.accessToken());
    } catch (err) {
      throw new ApiError(
        "UNAUTHENTICATED",
        "The provider did not confirm the sign-in; start again.",
        { cause: err },
      );
    }
    const user = await findOrCreateUser(c, provider.name, profile);
    const now = c.var.platform.clock.now();
    if (redirect64) {
      const target = decodeRedirect(redirect64);
      if (target === undefined || allowedRedirect(target, allowedOrigins()) !== target)
        throw new ApiError(
          "BAD_REQUEST",
          "The sign-in attempt is invalid or expired; start again.",
        );
      const { raw, insert } = await issueOneTimeToken(c.var.platform.db, {
        userId: user.id,
        purpose: "oauth_login",
        expiresAt: now.getTime() + loginCodeTtlMs,
      });
      await insert;
      return c.redirect(`${target}#code=${raw}`, 302);
    }
    const pair = await startSession(
      c.var.platform.db,
      config,
      user,
      c.req.header("user-agent") ?? "",
      now,
    );
    return c.json({ user: publicUser(user), ...pair });
  });

  app.post("/oauth/exchange", async (c) => {
    const body = validate(
      z.object({ code: z.string().min(20).max(200) }).strict(),
      await readJsonObject(c),
    ) as { code: string };
    const { db, clock } = c.var.platform;
    const now = clock.now();
    const userId = await spendOneTimeToken(db, body.code, "oauth_login", now.getTime());
    if (userId === undefined)
      throw rejectedCredential("The sign-in code is invalid, expired or used.");
    const [user] = await db.select().from(users).where(eq(users.id, userId));
    if (user === undefined) throw new ApiError("UNAUTHENTICATED", "This account no longer exists.");
    const pair = await startSession(db, await auth(), user, c.req.header("user-agent") ?? "", now);
    return c.json({ user: publicUser(user), ...pair });
  });

  return app;
}

const utf8 = new TextEncoder();

/**
 * The `redirect` a browser app asked for, if it is an absolute http(s) URL on an allowed origin:
 * returned in its normalised ASCII form (WHATWG serialisation percent-encodes anything else, so
 * it is safe in a cookie and a Location header) without a fragment (the code goes there).
 */
function allowedRedirect(redirect: string | undefined, origins: string[]): string | undefined {
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
