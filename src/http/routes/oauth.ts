import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { oauthExchangeInput } from "../../core/accounts/schemas";
import { signInResultSchema } from "../../core/accounts/strong-schemas";
import { readJsonObject } from "../body";
import { callerOf } from "../caller";
import type { AppEnv } from "../context";
import { noStore } from "../middleware/no-store";
import { cookieParameter, signInResponse, withRefreshCookie } from "../refresh-cookie";
import { openApiPaths, type RouteDocs } from "../route-docs";

const cookieName = "nb_oauth";
const cookiePath = "/api/auth/oauth";

/** Our callback URL for a provider (what the provider sends the browser back to). */
export const oauthCallbackUrl = (publicUrl: string, provider: string) =>
  `${publicUrl}/api/auth/oauth/${provider}/callback`;

const tags = ["auth"];
const redirect = { description: "To the provider, or back to the browser app" };

/** What each route below does, for /openapi.json (mounted at /api/auth). */
const docs = () =>
  ({
    "get /oauth/:provider/start": {
      tags,
      summary: "Start signing in with a provider (authorization code, PKCE S256, state)",
      parameters: [
        {
          name: "redirect",
          in: "query",
          description:
            "A browser app's URL (on PUBLIC_URL's or a CORS origin) to return to with a single-use `#code=`",
          schema: { type: "string" },
        },
      ],
      responses: { "302": redirect },
      raises: ["NOT_FOUND", "BAD_REQUEST", "UNAVAILABLE", "CONFIG_INVALID"],
    },
    "get /oauth/:provider/callback": {
      tags,
      summary: "Where the provider returns; signs in (or creates the account of a verified email)",
      parameters: ["state", "code"].map((name) => ({
        name,
        in: "query",
        schema: { type: "string" },
      })),
      responses: {
        "200": {
          description:
            "Signed in (no redirect was asked for); or `mfa_required` with a ticket for /api/auth/mfa/verify",
          schema: signInResultSchema,
        },
        "302": redirect,
      },
      raises: ["NOT_FOUND", "BAD_REQUEST", "EMAIL_NOT_VERIFIED", "UNAVAILABLE", "CONFIG_INVALID"],
    },
    "post /oauth/:provider/callback": {
      tags,
      summary:
        "Where a provider returns with a form POST (Sign in with Apple's response_mode=form_post): 303 to the GET callback",
      responses: { "303": { description: "To GET /api/auth/oauth/{provider}/callback" } },
      raises: [],
    },
    "post /oauth/exchange": {
      tags,
      summary: "Exchange a browser app's single-use sign-in code (60 s) for tokens",
      body: oauthExchangeInput,
      parameters: [cookieParameter],
      responses: {
        "200": signInResponse(),
      },
      raises: ["CONFIG_INVALID"],
    },
  }) satisfies RouteDocs;

export const oauthPaths = () => openApiPaths("/api/auth", docs());

/**
 * OAuth sign-in over HTTP: the attempt's state and verifier ride in a short-lived HttpOnly
 * cookie between `start` and `callback`; the account service does the rest (see
 * src/core/accounts/oauth/flow.ts).
 */
export function oauthRoutes() {
  const app = new Hono<AppEnv>();
  app.use(noStore);

  app.get("/oauth/:provider/start", async (c) => {
    const { authorizationUrl, flowState } = await c
      .get("services")
      .accounts.oauthStart(c.req.param("provider"), c.req.query("redirect"));
    setCookie(c, cookieName, flowState, {
      path: cookiePath,
      httpOnly: true,
      sameSite: "Lax",
      secure: new URL(c.req.url).protocol === "https:",
      maxAge: 600,
    });
    return c.redirect(authorizationUrl.toString(), 302);
  });

  app.get("/oauth/:provider/callback", async (c) => {
    const flowState = getCookie(c, cookieName);
    deleteCookie(c, cookieName, { path: cookiePath });
    const finished = await c
      .get("services")
      .accounts.oauthCallback(
        c.req.param("provider"),
        { state: c.req.query("state"), code: c.req.query("code"), flowState },
        callerOf(c),
      );
    if ("redirectTo" in finished) return c.redirect(finished.redirectTo, 302);
    return c.json(finished.signedIn);
  });

  // Apple, asked for the email, comes back with a cross-site form POST, which carries no
  // SameSite=Lax cookie; a 303 makes it a top-level GET navigation, which does.
  app.post("/oauth/:provider/callback", async (c) => {
    const form = new URLSearchParams(await c.req.text());
    const query = new URLSearchParams();
    for (const name of ["state", "code", "error"]) {
      const value = form.get(name);
      if (value !== null) query.set(name, value);
    }
    const provider = encodeURIComponent(c.req.param("provider"));
    return c.redirect(`${cookiePath}/${provider}/callback?${query}`, 303);
  });

  app.post("/oauth/exchange", async (c) => {
    const { accounts } = c.get("services");
    const signedIn = await accounts.oauthExchange(await readJsonObject(c), callerOf(c));
    if ("mfaTicket" in signedIn) return c.json(signedIn);
    // The refresh token's lifetime is the server's to enforce; the cookie keeps it 30 days.
    return c.json(withRefreshCookie(c, signedIn, 30 * 86_400));
  });

  return app;
}
