import * as z from "zod/mini";
import { emailSchema, plainTextSchema } from "./identifiers";

/**
 * What the account operations accept and answer, as zod schemas: the service validates its input
 * with them, and the HTTP layer publishes the same schemas in the OpenAPI document, so the two
 * cannot drift apart.
 */

const password = z.string().check(z.minLength(1), z.maxLength(1024));
const secret = z.string().check(z.minLength(20), z.maxLength(200));

const newPasswordRule =
  "At least 10 characters; not a common password, nor containing the email's name";

export const signupInput = z.strictObject({
  email: emailSchema,
  password: password.check(z.describe(newPasswordRule)),
  name: z.optional(plainTextSchema(100)),
});
export const loginInput = z.strictObject({ email: emailSchema, password });
export const refreshInput = z.strictObject({ refreshToken: secret });
export const forgotPasswordInput = z.strictObject({ email: emailSchema });
export const resetPasswordInput = z.strictObject({
  token: secret,
  password: z.string().check(z.maxLength(1024), z.describe(newPasswordRule)),
});
export const confirmEmailInput = z.strictObject({ token: secret });
export const oauthExchangeInput = z.strictObject({ code: secret });
export const createApiKeyInput = z.strictObject({
  name: z.pipe(plainTextSchema(100), z.string().check(z.minLength(1))),
  scopes: z.array(z.enum(["read", "write"])).check(z.minLength(1), z.maxLength(2)),
  expiresInDays: z.optional(z.int().check(z.gte(1), z.lte(3650))),
});

export const publicUserSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.enum(["user", "admin"]),
  emailVerified: z.boolean(),
  created: z.string(),
});
export type PublicUser = z.infer<typeof publicUserSchema>;

export const tokenPairSchema = z.object({
  accessToken: z.string().check(z.describe("EdDSA-signed JWT; send as `Authorization: Bearer …`")),
  tokenType: z.literal("Bearer"),
  expiresIn: z.int().check(z.describe("Seconds until the access token expires")),
  refreshToken: z.string().check(z.describe("Opaque, single use: rotate it at /api/auth/refresh")),
  sessionId: z.string(),
});
export type TokenPair = z.infer<typeof tokenPairSchema>;

/** A sign-in's answer: who signed in, and their first token pair. */
export const signedInSchema = z.extend(tokenPairSchema, { user: publicUserSchema });
export type SignedIn = z.infer<typeof signedInSchema>;

export const sessionViewSchema = z.object({
  id: z.string(),
  created: z.string(),
  lastUsed: z.string(),
  userAgent: z.string(),
  expiresAt: z.string(),
  current: z.boolean().check(z.describe("The session of the token making this request")),
});
export type SessionView = z.infer<typeof sessionViewSchema>;

export const apiKeyViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string().check(z.describe("The key's first characters, to tell keys apart")),
  scopes: z.array(z.string()),
  created: z.string(),
  expiresAt: z.nullable(z.string()),
  lastUsed: z.nullable(z.string()),
});
export type ApiKeyView = z.infer<typeof apiKeyViewSchema>;

/** A new key: its view and, this once, the secret itself. */
export const createdApiKeySchema = z.extend(apiKeyViewSchema, {
  key: z.string().check(z.describe("The secret (`nb_live_…`); shown only in this answer")),
});

export const statusSchema = z.object({ status: z.string() });
