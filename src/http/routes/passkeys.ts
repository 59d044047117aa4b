import { Hono } from "hono";
import * as z from "zod/mini";
import { signedInSchema } from "../../core/accounts/schemas";
import {
  assertionResponseInput,
  creationOptionsSchema,
  passkeyNameInput,
  passkeyRegisterOptionsInput,
  passkeySignInOptionsInput,
  passkeySignUpOptionsInput,
  passkeyViewSchema,
  registrationResponseInput,
  requestOptionsSchema,
  signInResultSchema,
} from "../../core/accounts/strong-schemas";
import { readJsonObject } from "../body";
import { callerOf } from "../caller";
import type { AppEnv } from "../context";
import { noStore } from "../middleware/no-store";
import { openApiPaths, type RouteDocs } from "../route-docs";

const tags = ["auth"];
const optional = { description: "Options (may be `{}`)" };
const credential =
  "The `PublicKeyCredential` as JSON (`credential.toJSON()`), made with the options just fetched";

/** Options as the ceremony answers them (COSE EdDSA, ES256, RS256; 5-minute challenge). */
const challenge = { challenge: "q8Vd2LmX7tR4nK9sW1pZ6yB3xJ0cF5hA", timeout: 300000 };
const creationExample = {
  ...challenge,
  rp: { id: "app.example.com", name: "Nearbase" },
  user: { id: "dXNyXzdrMnE5bTR4cDF2dDh6Yw", name: "ada@example.com", displayName: "Ada Lovelace" },
  pubKeyCredParams: [-8, -7, -257].map((alg) => ({ type: "public-key", alg })),
  attestation: "none",
  excludeCredentials: [],
  authenticatorSelection: {
    residentKey: "required",
    requireResidentKey: true,
    userVerification: "required",
  },
  hints: [],
  extensions: { credProps: true },
};
export const requestOptionsExample = {
  ...challenge,
  rpId: "app.example.com",
  userVerification: "required",
  allowCredentials: [],
  hints: [],
};

/** What each route below does, for /openapi.json (mounted at /api/auth). */
const docs = () =>
  ({
    "post /passkeys/register/options": {
      tags,
      summary:
        "Start registering a passkey for the signed-in account (options for navigator.credentials.create)",
      description: `${optional.description}: \`name\` labels the new passkey. The challenge is single use, lives 5 minutes and is bound to this session. Needs a recent sign-in (STEP_UP_REQUIRED otherwise): a passkey is a new way in.`,
      auth: "user",
      body: passkeyRegisterOptionsInput,
      responses: {
        "200": {
          description: "Creation options",
          schema: creationOptionsSchema,
          example: creationExample,
        },
      },
      raises: ["CONFLICT", "STEP_UP_REQUIRED"],
    },
    "post /passkeys/register": {
      tags,
      summary: "Finish registering a passkey",
      description: credential,
      auth: "user",
      body: registrationResponseInput,
      responses: { "201": { description: "Registered", schema: passkeyViewSchema } },
      raises: ["CONFLICT"],
    },
    "post /passkeys/sign-up/options": {
      tags,
      summary: "Start a passwordless sign-up with a passkey",
      description: "409 for a registered email, as password sign-up.",
      body: passkeySignUpOptionsInput,
      responses: {
        "200": {
          description: "Creation options",
          schema: creationOptionsSchema,
          example: creationExample,
        },
      },
      raises: ["CONFLICT"],
    },
    "post /passkeys/sign-up": {
      tags,
      summary: "Finish a passwordless sign-up: the account, its passkey, and tokens",
      description: credential,
      body: registrationResponseInput,
      responses: { "201": { description: "Signed up and in", schema: signedInSchema } },
      raises: ["CONFLICT", "CONFIG_INVALID"],
    },
    "post /passkeys/sign-in/options": {
      tags,
      summary: "Start signing in with a passkey (options for navigator.credentials.get)",
      description:
        "Without `email`: any discoverable passkey (conditional UI). With it: that account's passkeys (this tells whether the address has passkeys; per-address limits apply).",
      body: passkeySignInOptionsInput,
      responses: {
        "200": {
          description: "Request options",
          schema: requestOptionsSchema,
          example: requestOptionsExample,
        },
      },
    },
    "post /passkeys/sign-in": {
      tags,
      summary: "Finish signing in with a passkey",
      description: `${credential}. A user-verified passkey is two factors: no TOTP step follows.`,
      body: assertionResponseInput,
      responses: {
        "200": {
          description:
            "Signed in; or, with PASSKEY_SATISFIES_MFA=false and two-factor sign-in on, `mfa_required` with a ticket for /api/auth/mfa/verify",
          schema: signInResultSchema,
        },
      },
      raises: ["CONFIG_INVALID"],
    },
    "get /passkeys": {
      tags,
      summary: "The signed-in account's passkeys",
      auth: "user",
      responses: {
        "200": { description: "Passkeys", schema: z.object({ items: z.array(passkeyViewSchema) }) },
      },
    },
    "patch /passkeys/:id": {
      tags,
      summary: "Rename a passkey",
      auth: "user",
      body: passkeyNameInput,
      responses: { "200": { description: "Renamed", schema: passkeyViewSchema } },
      raises: ["NOT_FOUND"],
    },
    "delete /passkeys/:id": {
      tags,
      summary: "Remove a passkey (not the account's last way to sign in)",
      description: "Needs a recent sign-in (STEP_UP_REQUIRED otherwise).",
      auth: "user",
      responses: { "204": { description: "Removed" } },
      raises: ["NOT_FOUND", "CONFLICT", "STEP_UP_REQUIRED"],
    },
  }) satisfies RouteDocs;

export const passkeyPaths = () => openApiPaths("/api/auth", docs());

/** /api/auth/passkeys: WebAuthn ceremonies and the account's passkeys (core/accounts/passkeys.ts). */
export function passkeyRoutes() {
  const app = new Hono<AppEnv>();
  app.use("/passkeys/*", noStore);
  app.use("/passkeys", noStore);

  app.post("/passkeys/register/options", async (c) => {
    const { accounts } = c.get("services");
    return c.json(
      await accounts.passkeyRegisterOptions(c.get("principal"), await readJsonObject(c)),
    );
  });

  app.post("/passkeys/register", async (c) => {
    const { accounts } = c.get("services");
    return c.json(await accounts.passkeyRegister(c.get("principal"), await readJsonObject(c)), 201);
  });

  app.post("/passkeys/sign-up/options", async (c) => {
    return c.json(await c.get("services").accounts.passkeySignUpOptions(await readJsonObject(c)));
  });

  app.post("/passkeys/sign-up", async (c) => {
    const { accounts } = c.get("services");
    return c.json(await accounts.passkeySignUp(await readJsonObject(c), callerOf(c)), 201);
  });

  app.post("/passkeys/sign-in/options", async (c) => {
    return c.json(await c.get("services").accounts.passkeySignInOptions(await readJsonObject(c)));
  });

  app.post("/passkeys/sign-in", async (c) => {
    const { accounts } = c.get("services");
    return c.json(await accounts.passkeySignIn(await readJsonObject(c), callerOf(c)));
  });

  app.get("/passkeys", async (c) => {
    return c.json({ items: await c.get("services").accounts.listPasskeys(c.get("principal")) });
  });

  app.patch("/passkeys/:id", async (c) => {
    const { accounts } = c.get("services");
    return c.json(
      await accounts.renamePasskey(c.get("principal"), c.req.param("id"), await readJsonObject(c)),
    );
  });

  app.delete("/passkeys/:id", async (c) => {
    await c.get("services").accounts.removePasskey(c.get("principal"), c.req.param("id"));
    return c.body(null, 204);
  });

  return app;
}
