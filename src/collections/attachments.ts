import { sql } from "drizzle-orm";
import { index, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { defineCollection, recordColumns } from "../core/records/define";

export const attachments = sqliteTable(
  "attachments",
  {
    ...recordColumns(),
    title: text({ length: 200 }).notNull(),
    visibility: text({ enum: ["public", "private"] })
      .notNull()
      .default("private"),
    owner: text().notNull(),
    /** One document (protected: served with a file token or to someone signed in). */
    document: text(),
    /** Up to four images, public to whoever may view the record. */
    images: text({ mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  },
  (t) => [index("attachments_owner_idx").on(t.owner, t.created)],
);

/** Files on records (README "Files"): a protected document and public images per record. */
export const attachmentsCollection = defineCollection(attachments, {
  idPrefix: "att",
  owner: "owner",
  erasure: "delete",
  legalBasis: "contract (Art. 6(1)(b) GDPR): files the user uploads",
  rules: {
    list: "visibility = 'public' || owner = @request.auth.id",
    view: "visibility = 'public' || owner = @request.auth.id",
    create: "@request.auth.id != ''",
    update: "owner = @request.auth.id",
    delete: "owner = @request.auth.id",
  },
  files: {
    document: {
      maxSize: 20 * 1024 * 1024,
      mimeTypes: [
        "application/pdf",
        "text/plain",
        "image/png",
        "image/jpeg",
        "application/octet-stream",
      ],
      protected: true,
    },
    images: {
      maxSize: 5 * 1024 * 1024,
      maxFiles: 4,
      mimeTypes: ["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"],
      // ?thumb=<size>: made on first request, stored beside the image (README "Files").
      thumbs: ["256x256", "100x100", "100x100t", "100x100b", "50x50f", "0x100", "80x0"],
    },
  },
  // Anonymous reads of public records and their public images are edge-cached (default policy),
  // invalidated by the collection's version like every cached record.
});
