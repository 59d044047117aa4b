import { Hono } from "hono";
import {
  otpRequestedSchema,
  otpRequestInput,
  otpVerifyInput,
  signInResultSchema,
} from "../../core/accounts/strong-schemas";
import { readJsonObject } from "../body";
import { callerOf, deferOf } from "../caller";
import type { AppEnv } from "../context";
import { noStore } from "../middleware/no-store";
import { openApiPaths, type RouteDocs } from "../route-docs";

const tags = ["auth"];

/** What each route below does, for /openapi.json (mounted at /api/auth). */
const docs = () =>
  ({
    "post /otp/request": {
      tags,
      summary: "Mail a one-time sign-in code and link (8 digits, 10 minutes, 5 attempts)",
      description:
        "Answers 202 with an `otpId` whether or not the address has an account (the mail goes after the answer). Throttled per account (FORGOT_LIMIT_PER_ACCOUNT).",
      body: otpRequestInput,
      responses: { "202": { description: "Accepted", schema: otpRequestedSchema } },
      raises: ["CONFIG_INVALID"],
    },
    "post /otp/verify": {
      tags,
      summary: "Sign in with a mailed code",
      description:
        "Tokens, or `mfa_required` with a ticket when the account has two-factor sign-in. Spending a code verifies the address.",
      body: otpVerifyInput,
      responses: {
        "200": { description: "Signed in, or a second factor is due", schema: signInResultSchema },
      },
      raises: ["CONFIG_INVALID"],
    },
  }) satisfies RouteDocs;

export const otpPaths = () => openApiPaths("/api/auth", docs());

/** /api/auth/otp: sign-in by mailed one-time codes (src/core/accounts/email-otp.ts). */
export function otpRoutes() {
  const app = new Hono<AppEnv>();
  app.use("/otp/*", noStore);

  app.post("/otp/request", async (c) => {
    const { otpId } = await c
      .get("services")
      .accounts.requestOtp(await readJsonObject(c), deferOf(c));
    return c.json(
      { otpId, status: "If an account exists for this address, we sent it a sign-in code." },
      202,
    );
  });

  app.post("/otp/verify", async (c) => {
    const { accounts } = c.get("services");
    return c.json(await accounts.verifyOtp(await readJsonObject(c), callerOf(c)));
  });

  return app;
}
