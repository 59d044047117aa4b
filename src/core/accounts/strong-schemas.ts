import * as z from "zod/mini";
import { emailSchema, plainTextSchema } from "./identifiers";
import { resetPasswordInput, signedInSchema } from "./schemas";

/**
 * What the strong sign-in operations (one-time codes, passkeys, TOTP, step-up, sign-in methods)
 * accept and answer; published in the OpenAPI document from the same schemas.
 */

const ticket = z.string().check(z.minLength(20), z.maxLength(200));

// ── mailed one-time codes ──
export const otpRequestInput = z.strictObject({ email: emailSchema });
export const otpRequestedSchema = z.object({
  otpId: z
    .string()
    .check(
      z.describe(
        "Send it back with the mailed code; given whether or not the address has an account",
      ),
    ),
  status: z.string(),
});
export const otpVerifyInput = z.strictObject({
  otpId: z.string().check(z.minLength(1), z.maxLength(64)),
  code: z
    .string()
    .check(
      z.regex(/^\d{8}$/, "must be the 8 digits from the mail"),
      z.describe("The 8 digits from the mail"),
    ),
});

// ── two-factor sign-in ──
export const mfaRequiredSchema = z.object({
  status: z.literal("mfa_required"),
  mfaTicket: z
    .string()
    .check(z.describe("Present with a code at /api/auth/mfa/verify; single use, 5 min")),
  methods: z.array(z.enum(["totp", "recovery_code"])),
  expiresIn: z.int(),
});
export type MfaRequired = z.infer<typeof mfaRequiredSchema>;

/** A first factor's answer: tokens, or a ticket for the second factor. */
export const signInResultSchema = z.union([signedInSchema, mfaRequiredSchema]);

const secondFactorCode = z
  .string()
  .check(
    z.minLength(6),
    z.maxLength(32),
    z.describe("A 6-digit authenticator code, or one of the recovery codes"),
  );
export const mfaVerifyInput = z.strictObject({ mfaTicket: ticket, code: secondFactorCode });
/** Re-authentication with the second factor (disable, new recovery codes). */
export const mfaCodeInput = z.strictObject({ code: secondFactorCode });
export const mfaStatusSchema = z.object({
  totp: z.boolean(),
  enabledAt: z.nullable(z.string()),
  recoveryCodesLeft: z.int(),
});

export const totpEnrolledSchema = z.object({
  secret: z.string().check(z.describe("Base32 key; shown once")),
  uri: z.string().check(z.describe("otpauth:// URI (render as a QR code)")),
});
export const totpCodeInput = z.strictObject({
  code: z.string().check(z.regex(/^\d{6}$/, "must be 6 digits")),
});
export const recoveryCodesSchema = z.object({
  recoveryCodes: z
    .array(z.string())
    .check(z.describe("Each works once; shown only in this answer")),
});

// ── step-up ──
export const stepUpInput = z
  .strictObject({
    code: z
      .optional(z.string().check(z.regex(/^\d{6}$/, "must be 6 digits")))
      .check(z.describe("An authenticator code (accounts with two-factor sign-in)")),
    password: z
      .optional(z.string().check(z.minLength(1), z.maxLength(1024)))
      .check(z.describe("The account's password (accounts without two-factor sign-in)")),
  })
  .check(
    z.superRefine((v, ctx) => {
      if ((v.code === undefined) === (v.password === undefined))
        ctx.addIssue({ code: "custom", path: ["code"], message: "give either code or password" });
    }),
  );
/** A new password for the signed-in account (after a recent sign-in). */
export const changePasswordInput = z.strictObject({
  password: resetPasswordInput.shape.password,
});
export const steppedUpSchema = z.object({
  accessToken: z.string().check(z.describe("Same session, with a fresh auth_time")),
  tokenType: z.literal("Bearer"),
  expiresIn: z.int(),
});

// ── passkeys ──
const b64url = z.string().check(z.maxLength(16_384), z.regex(/^[\w-]*$/, "must be base64url"));
export const passkeyNameInput = z.object({
  name: z.pipe(plainTextSchema(64), z.string().check(z.minLength(1))),
});
export const passkeyRegisterOptionsInput = z.strictObject({
  name: z.optional(plainTextSchema(64)),
});
export const passkeySignUpOptionsInput = z.strictObject({
  email: emailSchema,
  name: z.optional(plainTextSchema(100)),
});
export const passkeySignInOptionsInput = z.strictObject({ email: z.optional(emailSchema) });

/** A `PublicKeyCredential` as JSON (`credential.toJSON()` in browsers), registration side. */
export const registrationResponseInput = z.looseObject({
  id: b64url,
  rawId: b64url,
  type: z.literal("public-key"),
  response: z.looseObject({
    clientDataJSON: b64url,
    attestationObject: b64url,
    transports: z.optional(z.array(z.string().check(z.maxLength(32))).check(z.maxLength(8))),
  }),
  authenticatorAttachment: z.optional(z.nullable(z.string())),
  clientExtensionResults: z.optional(z.record(z.string(), z.unknown())),
});

/** A `PublicKeyCredential` as JSON, assertion side. */
export const assertionResponseInput = z.looseObject({
  id: b64url,
  rawId: b64url,
  type: z.literal("public-key"),
  response: z.looseObject({
    clientDataJSON: b64url,
    authenticatorData: b64url,
    signature: b64url,
    userHandle: z.optional(z.nullable(b64url)),
  }),
  authenticatorAttachment: z.optional(z.nullable(z.string())),
  clientExtensionResults: z.optional(z.record(z.string(), z.unknown())),
});

export const passkeyViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  created: z.string(),
  lastUsed: z.nullable(z.string()),
  backupEligible: z.boolean().check(z.describe("Synced passkey (may live on several devices)")),
  backupState: z.boolean(),
  transports: z.array(z.string()),
});
export type PasskeyView = z.infer<typeof passkeyViewSchema>;

export const creationOptionsSchema = z
  .record(z.string(), z.unknown())
  .check(
    z.describe(
      "PublicKeyCredentialCreationOptionsJSON: pass to PublicKeyCredential.parseCreationOptionsFromJSON",
    ),
  );
export const requestOptionsSchema = z
  .record(z.string(), z.unknown())
  .check(
    z.describe(
      "PublicKeyCredentialRequestOptionsJSON: pass to PublicKeyCredential.parseRequestOptionsFromJSON",
    ),
  );

// ── sign-in methods ──
export const authMethodsSchema = z.object({
  password: z.boolean(),
  otp: z.boolean().check(z.describe("Mailed one-time codes")),
  passkey: z.boolean(),
  mfa: z.array(z.string()).check(z.describe("Second factors accounts may enrol")),
  providers: z.array(
    z.object({
      name: z.string(),
      displayName: z.string(),
      startUrl: z.string().check(z.describe("GET it to start (optionally with ?redirect=)")),
    }),
  ),
});
export type AuthMethods = z.infer<typeof authMethodsSchema>;
