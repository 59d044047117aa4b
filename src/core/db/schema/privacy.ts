import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * The audit log (src/core/privacy/audit.ts): one row per security- or privacy-relevant action —
 * sign-ins, refresh-token reuse, password changes, API keys, roles, admin actions, exports,
 * erasures, webhook changes. Append-only: nothing in the API updates or deletes a row, a trigger
 * (migration) refuses UPDATE in the database itself, and only the retention job deletes rows
 * older than AUDIT_RETENTION_DAYS. Entries name accounts by id and never hold personal values
 * (no email, name, address or secret). Ids sort by time.
 */
export const auditLog = sqliteTable(
  "nb_audit_log",
  {
    id: text().primaryKey(),
    /** Epoch ms. */
    at: integer().notNull(),
    /** What happened, e.g. `auth.sign_in`, `privacy.erased`. */
    action: text().notNull(),
    /** `ok` or `failed`. */
    outcome: text({ enum: ["ok", "failed"] })
      .notNull()
      .default("ok"),
    /** Who did it: `user:<id>`, `apiKey:<id>`, `system` or `anonymous`. */
    actor: text().notNull(),
    /** The account the entry is about (null when none is known, e.g. a failed sign-in). */
    subject: text(),
    /** What was acted on besides the account (an API key, session or webhook id). */
    target: text(),
    /** Non-personal detail as a JSON object (reason, counts, changed field names). */
    details: text().notNull().default("{}"),
  },
  (t) => [
    index("nb_audit_log_subject_idx").on(t.subject, t.id),
    index("nb_audit_log_at_idx").on(t.at),
  ],
);
