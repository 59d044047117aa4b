import { z } from "zod";
import { emailSchema, plainTextSchema } from "./identifiers";
import { resetPasswordInput, signedInSchema } from "./schemas";

/**
 * What the strong sign-in operations (one-time codes, passkeys, TOTP, step-up, sign-in methods)
 * accept and answer; published in the OpenAPI document from the same schemas.
 */

const ticket = z.string().min(20).max(200);

// ── mailed one-time codes ──
export const otpRequestInput = z.object({ email: emailSchema }).strict();
export const otpRequestedSchema = z.object({
  otpId: z
    .string()
    .describe("Send it back with the mailed code; given whether or not the address has an account"),
  status: z.string(),
});
export const otpVerifyInput = z
  .object({
    otpId: z.string().min(1).max(64),
    code: z
      .string()
      .regex(/^\d{8}$/, "must be the 8 digits from the mail")
      .describe("The 8 digits from the mail"),
  })
  .strict();

// ── two-factor sign-in ──
export const mfaRequiredSchema = z.object({
  status: z.literal("mfa_required"),
  mfaTicket: z.string().describe("Present with a code at /api/auth/mfa/verify; single use, 5 min"),
  methods: z.array(z.enum(["totp", "recovery_code"])),
  expiresIn: z.number().int(),
});
export type MfaRequired = z.infer<typeof mfaRequiredSchema>;

/** A first factor's answer: tokens, or a ticket for the second factor. */
export const signInResultSchema = z.union([signedInSchema, mfaRequiredSchema]);

const secondFactorCode = z
  .string()
  .min(6)
  .max(32)
  .describe("A 6-digit authenticator code, or one of the recovery codes");
export const mfaVerifyInput = z.object({ mfaTicket: ticket, code: secondFactorCode }).strict();
/** Re-authentication with the second factor (disable, new recovery codes). */
export const mfaCodeInput = z.object({ code: secondFactorCode }).strict();
export const mfaStatusSchema = z.object({
  totp: z.boolean(),
  enabledAt: z.string().nullable(),
  recoveryCodesLeft: z.number().int(),
});

export const totpEnrolledSchema = z.object({
  secret: z.string().describe("Base32 key; shown once"),
  uri: z.string().describe("otpauth:// URI (render as a QR code)"),
});
export const totpCodeInput = z
  .object({ code: z.string().regex(/^\d{6}$/, "must be 6 digits") })
  .strict();
export const recoveryCodesSchema = z.object({
  recoveryCodes: z.array(z.string()).describe("Each works once; shown only in this answer"),
});

// ── step-up ──
export const stepUpInput = z
  .object({
    code: z
      .string()
      .regex(/^\d{6}$/, "must be 6 digits")
      .optional()
      .describe("An authenticator code (accounts with two-factor sign-in)"),
    password: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe("The account's password (accounts without two-factor sign-in)"),
  })
  .strict()
  .superRefine((v, ctx) => {
    if ((v.code === undefined) === (v.password === undefined))
      ctx.addIssue({ code: "custom", path: ["code"], message: "give either code or password" });
  });
/** A new password for the signed-in account (after a recent sign-in). */
export const changePasswordInput = z
  .object({ password: resetPasswordInput.shape.password })
  .strict();
export const steppedUpSchema = z.object({
  accessToken: z.string().describe("Same session, with a fresh auth_time"),
  tokenType: z.literal("Bearer"),
  expiresIn: z.number().int(),
});

// ── passkeys ──
const b64url = z
  .string()
  .max(16_384)
  .regex(/^[\w-]*$/, "must be base64url");
export const passkeyNameInput = z.object({ name: plainTextSchema(64).pipe(z.string().min(1)) });
export const passkeyRegisterOptionsInput = z
  .object({ name: plainTextSchema(64).optional() })
  .strict();
export const passkeySignUpOptionsInput = z
  .object({ email: emailSchema, name: plainTextSchema(100).optional() })
  .strict();
export const passkeySignInOptionsInput = z.object({ email: emailSchema.optional() }).strict();

/** A `PublicKeyCredential` as JSON (`credential.toJSON()` in browsers), registration side. */
export const registrationResponseInput = z
  .object({
    id: b64url,
    rawId: b64url,
    type: z.literal("public-key"),
    response: z
      .object({
        clientDataJSON: b64url,
        attestationObject: b64url,
        transports: z.array(z.string().max(32)).max(8).optional(),
      })
      .passthrough(),
    authenticatorAttachment: z.string().nullable().optional(),
    clientExtensionResults: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough();

/** A `PublicKeyCredential` as JSON, assertion side. */
export const assertionResponseInput = z
  .object({
    id: b64url,
    rawId: b64url,
    type: z.literal("public-key"),
    response: z
      .object({
        clientDataJSON: b64url,
        authenticatorData: b64url,
        signature: b64url,
        userHandle: b64url.nullable().optional(),
      })
      .passthrough(),
    authenticatorAttachment: z.string().nullable().optional(),
    clientExtensionResults: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough();

export const passkeyViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  created: z.string(),
  lastUsed: z.string().nullable(),
  backupEligible: z.boolean().describe("Synced passkey (may live on several devices)"),
  backupState: z.boolean(),
  transports: z.array(z.string()),
});
export type PasskeyView = z.infer<typeof passkeyViewSchema>;

export const creationOptionsSchema = z
  .record(z.string(), z.unknown())
  .describe(
    "PublicKeyCredentialCreationOptionsJSON: pass to PublicKeyCredential.parseCreationOptionsFromJSON",
  );
export const requestOptionsSchema = z
  .record(z.string(), z.unknown())
  .describe(
    "PublicKeyCredentialRequestOptionsJSON: pass to PublicKeyCredential.parseRequestOptionsFromJSON",
  );

// ── sign-in methods ──
export const authMethodsSchema = z.object({
  password: z.boolean(),
  otp: z.boolean().describe("Mailed one-time codes"),
  passkey: z.boolean(),
  mfa: z.array(z.string()).describe("Second factors accounts may enrol"),
  providers: z.array(
    z.object({
      name: z.string(),
      displayName: z.string(),
      startUrl: z.string().describe("GET it to start (optionally with ?redirect=)"),
    }),
  ),
});
export type AuthMethods = z.infer<typeof authMethodsSchema>;
