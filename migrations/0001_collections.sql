CREATE TABLE `nb_versions` (
	`scope` text PRIMARY KEY NOT NULL,
	`version` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `bookmarks` (
	`id` text PRIMARY KEY NOT NULL,
	`created` text NOT NULL,
	`updated` text NOT NULL,
	`rev` integer DEFAULT 1 NOT NULL,
	`user` text NOT NULL,
	`post` text NOT NULL,
	`note` text(500) DEFAULT '' NOT NULL,
	FOREIGN KEY (`post`) REFERENCES `posts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `bookmarks_user_idx` ON `bookmarks` (`user`,`created`);--> statement-breakpoint
CREATE TABLE `comments` (
	`id` text PRIMARY KEY NOT NULL,
	`created` text NOT NULL,
	`updated` text NOT NULL,
	`rev` integer DEFAULT 1 NOT NULL,
	`post` text NOT NULL,
	`author` text NOT NULL,
	`body` text(2000) NOT NULL,
	FOREIGN KEY (`post`) REFERENCES `posts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `comments_post_idx` ON `comments` (`post`,`created`);--> statement-breakpoint
CREATE TABLE `posts` (
	`id` text PRIMARY KEY NOT NULL,
	`created` text NOT NULL,
	`updated` text NOT NULL,
	`rev` integer DEFAULT 1 NOT NULL,
	`title` text(200) NOT NULL,
	`body` text(20000) DEFAULT '' NOT NULL,
	`status` text DEFAULT 'draft' NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`author` text NOT NULL,
	`moderation_note` text
);
--> statement-breakpoint
CREATE INDEX `posts_status_created_idx` ON `posts` (`status`,`created`);--> statement-breakpoint
CREATE INDEX `posts_author_idx` ON `posts` (`author`);--> statement-breakpoint
CREATE TABLE `profiles` (
	`id` text PRIMARY KEY NOT NULL,
	`created` text NOT NULL,
	`updated` text NOT NULL,
	`rev` integer DEFAULT 1 NOT NULL,
	`user` text NOT NULL,
	`display_name` text(80) NOT NULL,
	`bio` text(1000) DEFAULT '' NOT NULL,
	`email` text(254)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `profiles_user_idx` ON `profiles` (`user`);