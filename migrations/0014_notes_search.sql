-- Full-text and vector search for collections declaring search/vector (src/core/search/sql.ts,
-- searchMigrationSql): FTS5 external-content table + triggers, libsql_vector_idx + stale trigger.
CREATE VIRTUAL TABLE "notes_fts" USING fts5("title", "body", content="notes", content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
--> statement-breakpoint
CREATE TRIGGER "notes_fts_insert" AFTER INSERT ON "notes"
BEGIN
  INSERT INTO "notes_fts" (rowid, "title", "body") VALUES (NEW.rowid, NEW."title", NEW."body");
END;
--> statement-breakpoint
CREATE TRIGGER "notes_fts_update" AFTER UPDATE OF "title", "body" ON "notes" WHEN OLD."title" IS NOT NEW."title" OR OLD."body" IS NOT NEW."body"
BEGIN
  INSERT INTO "notes_fts" ("notes_fts", rowid, "title", "body") VALUES ('delete', OLD.rowid, OLD."title", OLD."body");
  INSERT INTO "notes_fts" (rowid, "title", "body") VALUES (NEW.rowid, NEW."title", NEW."body");
END;
--> statement-breakpoint
CREATE TRIGGER "notes_fts_delete" AFTER DELETE ON "notes"
BEGIN
  INSERT INTO "notes_fts" ("notes_fts", rowid, "title", "body") VALUES ('delete', OLD.rowid, OLD."title", OLD."body");
END;
--> statement-breakpoint
INSERT INTO "notes_fts" ("notes_fts") VALUES ('rebuild');
--> statement-breakpoint
CREATE INDEX "notes_embedding_idx" ON "notes" (libsql_vector_idx("embedding", 'metric=cosine'));
--> statement-breakpoint
CREATE TRIGGER "notes_embedding_idx_stale" AFTER UPDATE OF "title", "body" ON "notes" WHEN OLD."title" IS NOT NEW."title" OR OLD."body" IS NOT NEW."body"
BEGIN
  UPDATE "notes" SET "embedding" = NULL, "embedding_status" = 'pending' WHERE rowid = NEW.rowid;
END;
