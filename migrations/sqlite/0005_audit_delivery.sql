ALTER TABLE `events` ADD `audit_delivered_at` integer;--> statement-breakpoint
CREATE INDEX `events_audit_undelivered_idx` ON `events` (`request_id`,`id`) WHERE "events"."audit_delivered_at" is null;