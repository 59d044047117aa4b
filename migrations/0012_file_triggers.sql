-- Storage outbox triggers for file fields (src/core/files/triggers.ts, fileTriggerSql):
-- claim uploads on insert/update, enqueue freed files on update/delete, in the write's transaction.
CREATE TRIGGER nb_files_attachments_document_insert AFTER INSERT ON "attachments"
BEGIN
  DELETE FROM nb_file_deletions WHERE reason = 'upload' AND key IN (SELECT 'attachments/' || NEW."id" || '/document/' || value FROM json_each(CASE WHEN NEW."document" IS NULL THEN '[]' ELSE json_array(NEW."document") END));
END;
--> statement-breakpoint
CREATE TRIGGER nb_files_attachments_document_update AFTER UPDATE OF "document" ON "attachments"
BEGIN
  DELETE FROM nb_file_deletions WHERE reason = 'upload' AND key IN (SELECT 'attachments/' || NEW."id" || '/document/' || value FROM json_each(CASE WHEN NEW."document" IS NULL THEN '[]' ELSE json_array(NEW."document") END));
  INSERT OR IGNORE INTO nb_file_deletions (key, due_at, reason, attempts) SELECT 'attachments/' || OLD."id" || '/document/' || value, unixepoch() * 1000, 'removed', 0 FROM json_each(CASE WHEN OLD."document" IS NULL THEN '[]' ELSE json_array(OLD."document") END) WHERE value NOT IN (SELECT value FROM json_each(CASE WHEN NEW."document" IS NULL THEN '[]' ELSE json_array(NEW."document") END));
END;
--> statement-breakpoint
CREATE TRIGGER nb_files_attachments_document_delete AFTER DELETE ON "attachments"
BEGIN
  INSERT OR IGNORE INTO nb_file_deletions (key, due_at, reason, attempts) SELECT 'attachments/' || OLD."id" || '/document/' || value, unixepoch() * 1000, 'removed', 0 FROM json_each(CASE WHEN OLD."document" IS NULL THEN '[]' ELSE json_array(OLD."document") END);
END;
--> statement-breakpoint
CREATE TRIGGER nb_files_attachments_images_insert AFTER INSERT ON "attachments"
BEGIN
  DELETE FROM nb_file_deletions WHERE reason = 'upload' AND key IN (SELECT 'attachments/' || NEW."id" || '/images/' || value FROM json_each(COALESCE(NEW."images", '[]')));
END;
--> statement-breakpoint
CREATE TRIGGER nb_files_attachments_images_update AFTER UPDATE OF "images" ON "attachments"
BEGIN
  DELETE FROM nb_file_deletions WHERE reason = 'upload' AND key IN (SELECT 'attachments/' || NEW."id" || '/images/' || value FROM json_each(COALESCE(NEW."images", '[]')));
  INSERT OR IGNORE INTO nb_file_deletions (key, due_at, reason, attempts) SELECT 'attachments/' || OLD."id" || '/images/' || value, unixepoch() * 1000, 'removed', 0 FROM json_each(COALESCE(OLD."images", '[]')) WHERE value NOT IN (SELECT value FROM json_each(COALESCE(NEW."images", '[]')));
END;
--> statement-breakpoint
CREATE TRIGGER nb_files_attachments_images_delete AFTER DELETE ON "attachments"
BEGIN
  INSERT OR IGNORE INTO nb_file_deletions (key, due_at, reason, attempts) SELECT 'attachments/' || OLD."id" || '/images/' || value, unixepoch() * 1000, 'removed', 0 FROM json_each(COALESCE(OLD."images", '[]'));
END;
