import * as z from "zod/mini";

/*
 * The shapes the privacy routes answer with (OpenAPI documents them from these schemas).
 */

const row = z.record(z.string(), z.unknown());

const credentialTable = z.object({
  purpose: z.string(),
  legalBasis: z.string(),
  retention: z.string(),
  withheld: z
    .array(z.string())
    .check(z.describe("Columns never exported (secrets and their hashes)")),
  rows: z.array(row),
});

/** The export document (`format: nearbase.export/v1`). */
export const exportDocumentSchema = z.object({
  format: z.literal("nearbase.export/v1"),
  generatedAt: z.string(),
  subject: z.string().check(z.describe("The account's id")),
  account: z.object({
    id: z.string(),
    email: z.string(),
    emailVerifiedAt: z.nullable(z.string()),
    name: z.string(),
    role: z.string(),
    hasPassword: z.boolean(),
    created: z.string(),
    updated: z.string(),
    purpose: z.string(),
    legalBasis: z.string(),
  }),
  credentials: z
    .record(z.string(), credentialTable)
    .check(
      z.describe(
        "Sessions, refresh tokens, API keys, one-time tokens, OAuth identities and other credential tables: metadata only, never secrets",
      ),
    ),
  collections: z.record(
    z.string(),
    z.object({
      legalBasis: z.string(),
      erasure: z.string().check(z.describe("What erasing the account does to these records")),
      retention: z.string(),
      personalFields: z.array(z.string()),
      encryptedFields: z.array(z.string()),
      records: z
        .array(row)
        .check(z.describe("Every record the account owns (encrypted fields decrypted)")),
    }),
  ),
  audit: z.object({
    purpose: z.string(),
    legalBasis: z.string(),
    entries: z.array(row),
  }),
});

export const auditEntrySchema = z.object({
  id: z.string(),
  at: z.string().check(z.describe("ISO time")),
  action: z.string(),
  outcome: z.enum(["ok", "failed"]),
  actor: z.string(),
  subject: z.nullable(z.string()),
  target: z.nullable(z.string()),
  details: z.record(z.string(), z.unknown()),
});

export const auditPageSchema = z.object({
  items: z.array(auditEntrySchema),
  nextCursor: z.nullable(z.string()),
});

export const erasureResultSchema = z.object({
  erased: z.literal(true),
  userId: z.string(),
  collections: z.record(
    z.string(),
    z.object({ policy: z.enum(["delete", "anonymize", "keep"]), records: z.number() }),
  ),
});

export const retentionReportSchema = z.object({
  dryRun: z.literal(true),
  collections: z.array(
    z.object({
      collection: z.string(),
      action: z.enum(["delete", "anonymize"]),
      days: z.number(),
      field: z.string(),
      expired: z.number(),
      cutoff: z.string(),
    }),
  ),
  audit: z.object({ expired: z.number(), cutoff: z.string() }),
});

export const retentionRunSchema = z.object({
  removed: z.record(z.string(), z.number()),
});
