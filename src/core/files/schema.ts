import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Objects in storage that must go: the storage side of the outbox. Rows are written by triggers
 * on every collection with file fields (src/core/files/triggers.ts) in the same transaction as
 * the delete or update that frees a file — so a committed delete always leaves its row — and,
 * with `reason = 'upload'`, by an upload before its bytes are stored: the insert or update that
 * takes the file deletes that row (same triggers), so an upload whose record never commits is
 * removed once due. The files sweep (src/core/files/sweep.ts) deletes due objects and then their
 * rows; a failed storage delete stays with a later `due_at` and is retried.
 */
export const fileDeletions = sqliteTable(
  "nb_file_deletions",
  {
    /** The storage key: `<collection>/<record>/<field>/<name>`. */
    key: text().primaryKey(),
    /** Epoch ms after which the object is deleted. */
    dueAt: integer().notNull(),
    /**
     * `upload` (not yet claimed by a record), `removed` (its record or field let it go), `thumb`
     * (a thumbnail, `<original key>@<size>`, never due by itself: it goes with its original).
     */
    reason: text({ enum: ["upload", "removed", "thumb"] }).notNull(),
    attempts: integer().notNull().default(0),
    lastError: text(),
  },
  (t) => [index("nb_file_deletions_due_idx").on(t.dueAt)],
);
