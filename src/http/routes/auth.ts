import { Hono } from "hono";
import * as z from "zod/mini";
import {
  loginInput,
  publicUserSchema,
  sessionViewSchema,
  signupInput,
} from "../../core/accounts/schemas";
import { readJsonObject } from "../body";
import { callerOf } from "../caller";
import type { AppEnv } from "../context";
import { noStore } from "../middleware/no-store";
import {
  clearRefreshCookie,
  cookieParameter,
  refreshBody,
  refreshRequestBody,
  setCookieHeader,
  signedInAnswer,
  signInResponse,
  tokenPairAnswer,
  withRefreshCookie,
} from "../refresh-cookie";
import { openApiPaths, type RouteDocs } from "../route-docs";

const tags = ["auth"];
const noContent = { "204": { description: "Done" } };

/** What each route below does, for /openapi.json (mounted at /api/auth). */
const docs = () =>
  ({
    "post /signup": {
      tags,
      summary: "Create an account with a password, and sign in",
      description:
        "Answers 409 for a registered email: sign-up returns tokens, so it cannot hide that an account exists.",
      body: signupInput,
      example: { email: "ada@example.com", password: "correct horse battery", name: "Ada" },
      parameters: [cookieParameter],
      responses: {
        "201": {
          description: "Signed up and in",
          schema: signedInAnswer(),
          headers: setCookieHeader,
        },
      },
      raises: ["CONFLICT", "CONFIG_INVALID"],
    },
    "post /login": {
      tags,
      summary: "Sign in with email and password",
      description: "Throttled per account and address, and per account (LOGIN_LIMIT_PER_ACCOUNT*).",
      body: loginInput,
      example: { email: "ada@example.com", password: "correct horse battery" },
      parameters: [cookieParameter],
      responses: {
        "200": signInResponse(),
      },
      raises: ["CONFIG_INVALID"],
    },
    "post /refresh": {
      tags,
      summary: "Rotate a refresh token for a new token pair",
      description:
        "A refresh token works once; presenting a spent one revokes its whole session. With ?cookie=1 the body may be `{}`: the token is read from the nb_refresh cookie, and the new one set there.",
      body: refreshRequestBody(),
      parameters: [cookieParameter],
      responses: {
        "200": {
          description: "A new token pair",
          schema: tokenPairAnswer(),
          headers: setCookieHeader,
        },
      },
      raises: ["CONFIG_INVALID"],
    },
    "post /logout": {
      tags,
      summary: "End this session (and clear the nb_refresh cookie)",
      auth: "user",
      responses: noContent,
    },
    "post /logout-all": {
      tags,
      summary: "Sign out everywhere: every session, API key and pending sign-in code",
      auth: "user",
      responses: noContent,
    },
    "get /me": {
      tags,
      summary: "The signed-in account",
      auth: "user",
      responses: { "200": { description: "The account", schema: publicUserSchema } },
    },
    "get /sessions": {
      tags,
      summary: "The signed-in account's active sessions",
      auth: "user",
      responses: {
        "200": {
          description: "Active sessions",
          schema: z.object({ items: z.array(sessionViewSchema) }),
        },
      },
    },
    "delete /sessions/:id": {
      tags,
      summary: "Revoke one of the account's sessions",
      auth: "user",
      responses: noContent,
      raises: ["NOT_FOUND"],
    },
  }) satisfies RouteDocs;

export const authPaths = () => openApiPaths("/api/auth", docs());

/**
 * /api/auth: sign-up, log-in, refresh rotation, log-out, sessions and the current user. Each
 * handler hands the request's parts to the account service and shapes its answer.
 */
export function authRoutes(options: { refreshTokenTtlDays?: number } = {}) {
  const app = new Hono<AppEnv>();
  const cookieMaxAge = (options.refreshTokenTtlDays ?? 30) * 86_400;
  app.use(noStore);

  app.post("/signup", async (c) => {
    const { accounts } = c.get("services");
    const signedIn = await accounts.signup(await readJsonObject(c), callerOf(c));
    return c.json(withRefreshCookie(c, signedIn, cookieMaxAge), 201);
  });

  app.post("/login", async (c) => {
    const { accounts } = c.get("services");
    const signedIn = await accounts.login(await readJsonObject(c), callerOf(c));
    // A second factor is due: no tokens yet, only the ticket.
    if ("mfaTicket" in signedIn) return c.json(signedIn);
    return c.json(withRefreshCookie(c, signedIn, cookieMaxAge));
  });

  app.post("/refresh", async (c) => {
    const body = refreshBody(c, await readJsonObject(c));
    const pair = await c.get("services").accounts.refresh(body);
    return c.json(withRefreshCookie(c, pair, cookieMaxAge));
  });

  app.post("/logout", async (c) => {
    await c.get("services").accounts.logout(c.get("principal"));
    clearRefreshCookie(c);
    return c.body(null, 204);
  });

  app.post("/logout-all", async (c) => {
    await c.get("services").accounts.logoutAll(c.get("principal"));
    clearRefreshCookie(c);
    return c.body(null, 204);
  });

  app.get("/me", async (c) => {
    const me = await c.get("services").accounts.me(c.get("principal"));
    c.header("cache-control", "private, no-store");
    return c.json(me);
  });

  app.get("/sessions", async (c) => {
    const items = await c.get("services").accounts.listSessions(c.get("principal"));
    c.header("cache-control", "private, no-store");
    return c.json({ items });
  });

  app.delete("/sessions/:id", async (c) => {
    await c.get("services").accounts.revokeSession(c.get("principal"), c.req.param("id"));
    return c.body(null, 204);
  });

  return app;
}
