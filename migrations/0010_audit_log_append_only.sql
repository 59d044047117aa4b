-- The audit log is append-only: no statement may change an entry (deletes are left to the
-- retention job, which removes entries older than AUDIT_RETENTION_DAYS).
CREATE TRIGGER nb_audit_log_no_update BEFORE UPDATE ON nb_audit_log
BEGIN
  SELECT RAISE(ABORT, 'nb_audit_log is append-only');
END;
