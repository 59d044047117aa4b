import { z } from "zod";
import { emailSchema, plainTextSchema } from "./identifiers";

/**
 * What the account operations accept and answer, as zod schemas: the service validates its input
 * with them, and the HTTP layer publishes the same schemas in the OpenAPI document, so the two
 * cannot drift apart.
 */

const password = z.string().min(1).max(1024);
const secret = z.string().min(20).max(200);

const newPasswordRule =
  "At least 10 characters; not a common password, nor containing the email's name";

export const signupInput = z
  .object({
    email: emailSchema,
    password: password.describe(newPasswordRule),
    name: plainTextSchema(100).optional(),
  })
  .strict();
export const loginInput = z.object({ email: emailSchema, password }).strict();
export const refreshInput = z.object({ refreshToken: secret }).strict();
export const forgotPasswordInput = z.object({ email: emailSchema }).strict();
export const resetPasswordInput = z
  .object({ token: secret, password: z.string().max(1024).describe(newPasswordRule) })
  .strict();
export const confirmEmailInput = z.object({ token: secret }).strict();
export const oauthExchangeInput = z.object({ code: secret }).strict();
export const createApiKeyInput = z
  .object({
    name: plainTextSchema(100).pipe(z.string().min(1)),
    scopes: z
      .array(z.enum(["read", "write"]))
      .min(1)
      .max(2),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict();

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
  accessToken: z.string().describe("EdDSA-signed JWT; send as `Authorization: Bearer …`"),
  tokenType: z.literal("Bearer"),
  expiresIn: z.number().int().describe("Seconds until the access token expires"),
  refreshToken: z.string().describe("Opaque, single use: rotate it at /api/auth/refresh"),
  sessionId: z.string(),
});
export type TokenPair = z.infer<typeof tokenPairSchema>;

/** A sign-in's answer: who signed in, and their first token pair. */
export const signedInSchema = tokenPairSchema.extend({ user: publicUserSchema });
export type SignedIn = z.infer<typeof signedInSchema>;

export const sessionViewSchema = z.object({
  id: z.string(),
  created: z.string(),
  lastUsed: z.string(),
  userAgent: z.string(),
  expiresAt: z.string(),
  current: z.boolean().describe("The session of the token making this request"),
});
export type SessionView = z.infer<typeof sessionViewSchema>;

export const apiKeyViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string().describe("The key's first characters, to tell keys apart"),
  scopes: z.array(z.string()),
  created: z.string(),
  expiresAt: z.string().nullable(),
  lastUsed: z.string().nullable(),
});
export type ApiKeyView = z.infer<typeof apiKeyViewSchema>;

/** A new key: its view and, this once, the secret itself. */
export const createdApiKeySchema = apiKeyViewSchema.extend({
  key: z.string().describe("The secret (`nb_live_…`); shown only in this answer"),
});

export const statusSchema = z.object({ status: z.string() });
