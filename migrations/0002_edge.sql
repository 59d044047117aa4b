CREATE TABLE `nb_rate_limits` (
	`key` text PRIMARY KEY NOT NULL,
	`tat` integer NOT NULL,
	`allowed` integer NOT NULL
);
