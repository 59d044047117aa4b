CREATE TABLE `nb_embedding_failures` (
	`collection` text NOT NULL,
	`record_id` text NOT NULL,
	`attempts` integer NOT NULL,
	`next_at` integer NOT NULL,
	`last_error` text NOT NULL,
	PRIMARY KEY(`collection`, `record_id`)
);
