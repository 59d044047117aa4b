CREATE TABLE `nb_audit_log` (
	`id` text PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`action` text NOT NULL,
	`outcome` text DEFAULT 'ok' NOT NULL,
	`actor` text NOT NULL,
	`subject` text,
	`target` text,
	`details` text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `nb_audit_log_subject_idx` ON `nb_audit_log` (`subject`,`id`);--> statement-breakpoint
CREATE INDEX `nb_audit_log_at_idx` ON `nb_audit_log` (`at`);