import { Hono } from "hono";
import { signedInSchema } from "../../core/accounts/schemas";
import {
  mfaCodeInput,
  mfaStatusSchema,
  mfaVerifyInput,
  recoveryCodesSchema,
  totpCodeInput,
  totpEnrolledSchema,
} from "../../core/accounts/strong-schemas";
import { readJsonObject } from "../body";
import { callerOf } from "../caller";
import type { AppEnv } from "../context";
import { noStore } from "../middleware/no-store";
import { openApiPaths, type RouteDocs } from "../route-docs";

const tags = ["auth"];

/** What each route below does, for /openapi.json (mounted at /api/auth). */
const docs = {
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
    summary: "Turn two-factor sign-in off (a current TOTP or recovery code, and a recent sign-in)",
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
      "200": { description: "New codes; the old ones no longer work", schema: recoveryCodesSchema },
    },
    raises: ["CONFIG_INVALID"],
  },
  "post /mfa/verify": {
    tags,
    summary: "Finish a sign-in that answered mfa_required: the ticket and a code give tokens",
    description:
      "The ticket lives 5 minutes and takes 5 attempts; a TOTP code works once; throttled per account.",
    body: mfaVerifyInput,
    responses: { "200": { description: "Signed in", schema: signedInSchema } },
    raises: ["CONFIG_INVALID"],
  },
} satisfies RouteDocs;

export const mfaPaths = () => openApiPaths("/api/auth", docs);

/** /api/auth/mfa: TOTP two-factor sign-in and recovery codes (core/accounts/totp.ts). */
export function mfaRoutes() {
  const app = new Hono<AppEnv>();
  app.use("/mfa/*", noStore);
  app.use("/mfa", noStore);

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
    return c.json(await accounts.verifyMfa(await readJsonObject(c), callerOf(c)));
  });

  return app;
}
