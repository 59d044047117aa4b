import { Hono } from "hono";
import {
  confirmEmailInput,
  forgotPasswordInput,
  resetPasswordInput,
  statusSchema,
} from "../../core/accounts/schemas";
import { changePasswordInput } from "../../core/accounts/strong-schemas";
import { readJsonObject } from "../body";
import { deferOf } from "../caller";
import type { AppEnv } from "../context";
import { noStore } from "../middleware/no-store";
import { openApiPaths, type RouteDocs } from "../route-docs";

const tags = ["auth"];

/** What each route below does, for /openapi.json (mounted at /api/auth). */
const docs = () =>
  ({
    "post /password/forgot": {
      tags,
      summary: "Mail a password-reset link (valid 30 minutes)",
      description: "Answers 202 whether or not an account exists for the address.",
      body: forgotPasswordInput,
      responses: { "202": { description: "Accepted", schema: statusSchema } },
      raises: ["CONFIG_INVALID"],
    },
    "post /password/reset": {
      tags,
      summary: "Set a new password with a mailed reset link",
      description:
        "Revokes every session, API key and pending sign-in code of the account, and proves its mailbox.",
      body: resetPasswordInput,
      responses: { "204": { description: "Password changed" } },
      raises: ["BAD_REQUEST", "CONFIG_INVALID"],
    },
    "post /password/change": {
      tags,
      summary: "Set a new password for the signed-in account (or a first one)",
      description:
        "Needs a recent sign-in (STEP_UP_REQUIRED otherwise: step up at /api/auth/step-up). Ends the account's other sessions.",
      auth: "user",
      body: changePasswordInput,
      responses: { "204": { description: "Password changed" } },
      raises: ["STEP_UP_REQUIRED", "CONFIG_INVALID"],
    },
    "post /email/verify/request": {
      tags,
      summary: "Mail the signed-in account a link to confirm its address (valid 24 hours)",
      auth: "user",
      responses: {
        "200": {
          description: "Already verified",
          schema: statusSchema,
          example: { status: "already verified" },
        },
        "202": { description: "Sent", schema: statusSchema },
      },
      raises: ["CONFIG_INVALID"],
    },
    "post /email/verify/confirm": {
      tags,
      summary: "Confirm an address with a mailed link",
      body: confirmEmailInput,
      responses: { "204": { description: "Address verified" } },
      raises: ["BAD_REQUEST"],
    },
  }) satisfies RouteDocs;

export const recoveryPaths = () => openApiPaths("/api/auth", docs());

/** Password reset and email verification by mailed single-use links (the account service's). */
export function recoveryRoutes() {
  const app = new Hono<AppEnv>();
  app.use(noStore);

  app.post("/password/forgot", async (c) => {
    await c.get("services").accounts.forgotPassword(await readJsonObject(c), deferOf(c));
    return c.json(
      { status: "If an account exists for this address, we sent it a reset link." },
      202,
    );
  });

  app.post("/password/reset", async (c) => {
    await c.get("services").accounts.resetPassword(await readJsonObject(c));
    return c.body(null, 204);
  });

  app.post("/password/change", async (c) => {
    const { accounts } = c.get("services");
    await accounts.changePassword(c.get("principal"), await readJsonObject(c));
    return c.body(null, 204);
  });

  app.post("/email/verify/request", async (c) => {
    const status = await c
      .get("services")
      .accounts.requestEmailVerification(c.get("principal"), deferOf(c));
    return status === "sent" ? c.json({ status }, 202) : c.json({ status });
  });

  app.post("/email/verify/confirm", async (c) => {
    await c.get("services").accounts.confirmEmail(await readJsonObject(c));
    return c.body(null, 204);
  });

  return app;
}
