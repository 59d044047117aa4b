CREATE TABLE `nb_auth_tickets` (
	`hash` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`user_id` text NOT NULL,
	`method` text NOT NULL,
	`expires_at` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`used_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `nb_users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `nb_auth_tickets_user_idx` ON `nb_auth_tickets` (`user_id`);--> statement-breakpoint
CREATE TABLE `nb_email_otps` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`code_hash` text NOT NULL,
	`expires_at` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`used_at` integer,
	`created` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `nb_users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `nb_email_otps_user_idx` ON `nb_email_otps` (`user_id`);--> statement-breakpoint
CREATE TABLE `nb_passkeys` (
	`id` text PRIMARY KEY NOT NULL,
	`credential_id` text NOT NULL,
	`user_id` text NOT NULL,
	`name` text DEFAULT '' NOT NULL,
	`public_key` text NOT NULL,
	`algorithm` integer NOT NULL,
	`sign_count` integer DEFAULT 0 NOT NULL,
	`backup_eligible` integer DEFAULT false NOT NULL,
	`backup_state` integer DEFAULT false NOT NULL,
	`transports` text NOT NULL,
	`aaguid` text DEFAULT '' NOT NULL,
	`created` text NOT NULL,
	`last_used` text,
	FOREIGN KEY (`user_id`) REFERENCES `nb_users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `nb_passkeys_credential_idx` ON `nb_passkeys` (`credential_id`);--> statement-breakpoint
CREATE INDEX `nb_passkeys_user_idx` ON `nb_passkeys` (`user_id`);--> statement-breakpoint
CREATE TABLE `nb_recovery_codes` (
	`hash` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`used_at` integer,
	`created` text NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `nb_users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `nb_recovery_codes_user_idx` ON `nb_recovery_codes` (`user_id`);--> statement-breakpoint
CREATE TABLE `nb_totp` (
	`user_id` text PRIMARY KEY NOT NULL,
	`secret` text NOT NULL,
	`enabled_at` text,
	`last_step` integer DEFAULT 0 NOT NULL,
	`created` text NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `nb_users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `nb_webauthn_challenges` (
	`hash` text PRIMARY KEY NOT NULL,
	`purpose` text NOT NULL,
	`user_id` text,
	`session_id` text,
	`data` text DEFAULT '{}' NOT NULL,
	`expires_at` integer NOT NULL
);
