CREATE TABLE `notes` (
	`id` text PRIMARY KEY NOT NULL,
	`created` text NOT NULL,
	`updated` text NOT NULL,
	`rev` integer DEFAULT 1 NOT NULL,
	`owner` text NOT NULL,
	`title` text(200) NOT NULL,
	`body` text(20000) DEFAULT '' NOT NULL,
	`public` integer DEFAULT false NOT NULL,
	`embedding` F32_BLOB(384),
	`embedding_status` text DEFAULT 'pending' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `notes_owner_idx` ON `notes` (`owner`,`created`);--> statement-breakpoint
CREATE INDEX `notes_public_idx` ON `notes` (`public`,`created`);--> statement-breakpoint
CREATE INDEX `notes_embedding_status_idx` ON `notes` (`embedding_status`);