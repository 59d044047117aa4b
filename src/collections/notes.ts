import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { defineCollection, recordColumns } from "../core/records/define";
import { embeddingColumns } from "../core/search/column";

export const notes = sqliteTable(
  "notes",
  {
    ...recordColumns(),
    owner: text().notNull(),
    title: text({ length: 200 }).notNull(),
    body: text({ length: 20_000 }).notNull().default(""),
    public: integer({ mode: "boolean" }).notNull().default(false),
    ...embeddingColumns(384),
  },
  (t) => [
    index("notes_owner_idx").on(t.owner, t.created),
    index("notes_public_idx").on(t.public, t.created),
    // The embedding job finds pending rows without a scan.
    index("notes_embedding_status_idx").on(t.embeddingStatus),
  ],
);

/**
 * Notes with full-text and semantic search (README "Search"): public ones for everyone, the
 * rest for their owner only — in lists and in search results alike.
 */
export const notesCollection = defineCollection(notes, {
  idPrefix: "nte",
  owner: "owner",
  erasure: "delete",
  legalBasis: "contract (Art. 6(1)(b) GDPR): the user's notes",
  search: ["title", "body"],
  vector: { dimensions: 384, source: ["title", "body"] },
  rules: {
    list: "public = true || owner = @request.auth.id",
    view: "public = true || owner = @request.auth.id",
    create: "@request.auth.id != ''",
    update: "owner = @request.auth.id",
    delete: "owner = @request.auth.id",
  },
});
