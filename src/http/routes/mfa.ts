import { Hono } from "hono";
import {
  assertionResponseInput,
  authMethodsSchema,
  mfaCodeInput,
  mfaStatusSchema,
  mfaVerifyInput,
  recoveryCodesSchema,
  requestOptionsSchema,
  steppedUpSchema,
  stepUpInput,
  totpCodeInput,
  totpEnrolledSchema,
} from "../../core/accounts/strong-schemas";
import { readJsonObject } from "../body";
import { callerOf } from "../caller";
import type { AppEnv } from "../context";
import { noStore } from "../middleware/no-store";
import {
  cookieParameter,
  setCookieHeader,
  signedInAnswer,
  withRefreshCookie,
} from "../refresh-cookie";
import { openApiPaths, type RouteDocs } from "../route-docs";
import { requestOptionsExample } from "./passkeys";

const tags = ["auth"];

/** What each route below does, for /openapi.json (mounted at /api/auth). */
const docs = () =>
  ({
    "get /methods": {
      tags,
      auth: "none",
      summary:
        "The sign-in methods this server offers, for login pages (OAuth providers with their start URLs)",
      responses: { "200": { description: "Methods", schema: authMethodsSchema } },
      raises: ["CONFIG_INVALID"],
    },
    "get /mfa": {
      tags,
      summary: "The signed-in account's two-factor sign-in",
      auth: "user",
      responses: { "200": { description: "Status", schema: mfaStatusSchema } },
    },
    "post /mfa/totp/enroll": {
      tags,
      summary: "Start TOTP enrolment: a new key, shown once (otpauth:// URI for a QR code)",
      description:
        "Needs a recent sign-in (STEP_UP_REQUIRED otherwise). 409 when two-factor sign-in is on.",
      auth: "user",
      responses: { "200": { description: "The key", schema: totpEnrolledSchema } },
      raises: ["CONFLICT", "CONFIG_INVALID", "STEP_UP_REQUIRED"],
    },
    "post /mfa/totp/confirm": {
      tags,
      summary: "Turn TOTP on with a first code; answers 10 single-use recovery codes (shown once)",
      auth: "user",
      body: totpCodeInput,
      responses: { "200": { description: "On", schema: recoveryCodesSchema } },
      raises: ["CONFLICT", "CONFIG_INVALID"],
    },
    "post /mfa/totp/disable": {
      tags,
      summary:
        "Turn two-factor sign-in off (a current TOTP or recovery code, and a recent sign-in)",
      auth: "user",
      body: mfaCodeInput,
      responses: { "204": { description: "Off" } },
      raises: ["CONFIG_INVALID", "STEP_UP_REQUIRED"],
    },
    "post /mfa/recovery-codes": {
      tags,
      summary: "Replace the recovery codes (a current TOTP or recovery code)",
      auth: "user",
      body: mfaCodeInput,
      responses: {
        "200": {
          description: "New codes; the old ones no longer work",
          schema: recoveryCodesSchema,
        },
      },
      raises: ["CONFIG_INVALID"],
    },
    "post /mfa/verify": {
      tags,
      summary: "Finish a sign-in that answered mfa_required: the ticket and a code give tokens",
      description:
        "The ticket lives 5 minutes and takes 5 attempts; a TOTP code works once; throttled per account.",
      body: mfaVerifyInput,
      parameters: [cookieParameter],
      responses: {
        "200": { description: "Signed in", schema: signedInAnswer(), headers: setCookieHeader },
      },
      raises: ["CONFIG_INVALID"],
    },
    "post /step-up": {
      tags,
      summary: "Prove the person again: a fresh access token (same session) for sensitive actions",
      description:
        "Answers STEP_UP_REQUIRED routes. An authenticator code for accounts with two-factor sign-in, else the password (VALIDATION_FAILED at /code when the account needs a code). A wrong one is 401; throttled per account.",
      auth: "user",
      body: stepUpInput,
      responses: { "200": { description: "Stepped up", schema: steppedUpSchema } },
      raises: ["CONFIG_INVALID"],
    },
    "post /step-up/passkey/options": {
      tags,
      summary:
        "Request options to step up with one of the account's passkeys (bound to this session)",
      auth: "user",
      responses: {
        "200": {
          description: "Options",
          schema: requestOptionsSchema,
          example: requestOptionsExample,
        },
      },
    },
    "post /step-up/passkey": {
      tags,
      summary: "Step up with a passkey assertion: a fresh access token (same session)",
      auth: "user",
      body: assertionResponseInput,
      responses: { "200": { description: "Stepped up", schema: steppedUpSchema } },
      raises: ["CONFIG_INVALID"],
    },
  }) satisfies RouteDocs;

export const mfaPaths = () => openApiPaths("/api/auth", docs());

/**
 * /api/auth/mfa: TOTP two-factor sign-in and recovery codes (core/accounts/totp.ts);
 * /api/auth/step-up: a fresh `auth_time` for sensitive actions (core/accounts/step-up-flow.ts).
 */
export function mfaRoutes(options: { refreshTokenTtlDays?: number } = {}) {
  const refreshTokenTtlDays = options.refreshTokenTtlDays ?? 30;
  const app = new Hono<AppEnv>();
  app.use("/mfa/*", noStore);
  app.use("/mfa", noStore);
  app.use("/step-up/*", noStore);
  app.use("/step-up", noStore);

  app.get("/methods", async (c) => {
    return c.json(await c.get("services").accounts.authMethods());
  });

  app.get("/mfa", async (c) => {
    return c.json(await c.get("services").accounts.mfaStatus(c.get("principal")));
  });

  app.post("/mfa/totp/enroll", async (c) => {
    return c.json(await c.get("services").accounts.enrollTotp(c.get("principal")));
  });

  app.post("/mfa/totp/confirm", async (c) => {
    const { accounts } = c.get("services");
    return c.json(await accounts.confirmTotp(c.get("principal"), await readJsonObject(c)));
  });

  app.post("/mfa/totp/disable", async (c) => {
    const { accounts } = c.get("services");
    await accounts.disableTotp(c.get("principal"), await readJsonObject(c));
    return c.body(null, 204);
  });

  app.post("/mfa/recovery-codes", async (c) => {
    const { accounts } = c.get("services");
    return c.json(
      await accounts.regenerateRecoveryCodes(c.get("principal"), await readJsonObject(c)),
    );
  });

  app.post("/mfa/verify", async (c) => {
    const { accounts } = c.get("services");
    // Like /login: with ?cookie=1 the refresh token goes into the HttpOnly cookie.
    const signedIn = await accounts.verifyMfa(await readJsonObject(c), callerOf(c));
    return c.json(withRefreshCookie(c, signedIn, refreshTokenTtlDays * 86_400));
  });

  app.post("/step-up", async (c) => {
    const { accounts } = c.get("services");
    return c.json(await accounts.stepUp(c.get("principal"), await readJsonObject(c)));
  });

  app.post("/step-up/passkey/options", async (c) => {
    return c.json(await c.get("services").accounts.stepUpPasskeyOptions(c.get("principal")));
  });

  app.post("/step-up/passkey", async (c) => {
    const { accounts } = c.get("services");
    return c.json(await accounts.stepUpWithPasskey(c.get("principal"), await readJsonObject(c)));
  });

  return app;
}
