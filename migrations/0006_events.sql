CREATE TABLE `nb_events` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`collection` text NOT NULL,
	`record_id` text NOT NULL,
	`actor` text NOT NULL,
	`occurred_at` integer NOT NULL,
	`data` text NOT NULL,
	`changed` text,
	`dispatched_at` integer
);
--> statement-breakpoint
CREATE INDEX `nb_events_pending_idx` ON `nb_events` (`dispatched_at`,`id`);--> statement-breakpoint
CREATE TABLE `nb_jobs` (
	`name` text PRIMARY KEY NOT NULL,
	`lease_until` integer NOT NULL,
	`holder` text NOT NULL,
	`last_run_at` integer,
	`last_result` text
);
--> statement-breakpoint
CREATE TABLE `nb_webhook_attempts` (
	`id` text PRIMARY KEY NOT NULL,
	`delivery_id` text NOT NULL,
	`endpoint_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`started_at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`outcome` text NOT NULL,
	`status_code` integer,
	`response` text,
	`error` text,
	FOREIGN KEY (`delivery_id`) REFERENCES `nb_webhook_deliveries`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `nb_webhook_attempts_delivery_idx` ON `nb_webhook_attempts` (`delivery_id`,`attempt`);--> statement-breakpoint
CREATE INDEX `nb_webhook_attempts_started_idx` ON `nb_webhook_attempts` (`started_at`);--> statement-breakpoint
CREATE TABLE `nb_webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`endpoint_id` text NOT NULL,
	`event_id` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`due_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`completed_at` integer,
	`last_status_code` integer,
	`last_error` text,
	FOREIGN KEY (`endpoint_id`) REFERENCES `nb_webhook_endpoints`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `nb_webhook_deliveries_endpoint_event_idx` ON `nb_webhook_deliveries` (`endpoint_id`,`event_id`);--> statement-breakpoint
CREATE INDEX `nb_webhook_deliveries_due_idx` ON `nb_webhook_deliveries` (`status`,`due_at`);--> statement-breakpoint
CREATE TABLE `nb_webhook_endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`patterns` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`disabled_reason` text,
	`secret` text NOT NULL,
	`previous_secret` text,
	`previous_secret_until` integer,
	`allow_private` integer DEFAULT false NOT NULL,
	`max_concurrency` integer NOT NULL,
	`timeout_ms` integer NOT NULL,
	`failure_streak` integer DEFAULT 0 NOT NULL,
	`created` text NOT NULL,
	`updated` text NOT NULL
);
