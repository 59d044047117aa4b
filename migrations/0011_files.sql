CREATE TABLE `nb_file_deletions` (
	`key` text PRIMARY KEY NOT NULL,
	`due_at` integer NOT NULL,
	`reason` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text
);
--> statement-breakpoint
CREATE INDEX `nb_file_deletions_due_idx` ON `nb_file_deletions` (`due_at`);--> statement-breakpoint
CREATE TABLE `attachments` (
	`id` text PRIMARY KEY NOT NULL,
	`created` text NOT NULL,
	`updated` text NOT NULL,
	`rev` integer DEFAULT 1 NOT NULL,
	`title` text(200) NOT NULL,
	`visibility` text DEFAULT 'private' NOT NULL,
	`owner` text NOT NULL,
	`document` text,
	`images` text DEFAULT '[]' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `attachments_owner_idx` ON `attachments` (`owner`,`created`);