import { sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { defineCollection, recordColumns } from "../core/records/define";

export const profiles = sqliteTable(
  "profiles",
  {
    ...recordColumns(),
    user: text().notNull(),
    displayName: text({ length: 80 }).notNull(),
    bio: text({ length: 1000 }).notNull().default(""),
    /** Contact address: personal data, never served through the API, encrypted at rest. */
    email: text({ length: 254 }),
  },
  (t) => [uniqueIndex("profiles_user_idx").on(t.user)],
);

/**
 * One public profile per user; the contact email is personal, hidden and encrypted at rest
 * (sealed with DATA_ENCRYPTION_KEYS, bound to the record). Erasing the account deletes it.
 */
export const profilesCollection = defineCollection(profiles, {
  idPrefix: "prf",
  owner: "user",
  hidden: ["email"],
  personal: ["displayName", "bio", "email"],
  encrypted: ["email"],
  erasure: "delete",
  legalBasis: "contract (Art. 6(1)(b) GDPR): the public profile the user publishes",
  rules: {
    list: "",
    view: "",
    create: "@request.auth.id != ''",
    update: "user = @request.auth.id",
    delete: "user = @request.auth.id",
  },
});
