ALTER TABLE `requests` ADD `break_glass` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `requests` ADD `reviewed_by` text;--> statement-breakpoint
ALTER TABLE `requests` ADD `reviewed_at` integer;--> statement-breakpoint
CREATE INDEX `requests_break_glass_idx` ON `requests` (`break_glass`,`requester_id`,`created_at`);