CREATE TABLE `approvals` (
	`id` integer PRIMARY KEY NOT NULL,
	`request_id` integer NOT NULL,
	`user_id` text NOT NULL,
	`at` integer NOT NULL,
	FOREIGN KEY (`request_id`) REFERENCES `requests`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `approvals_request_user_unique` ON `approvals` (`request_id`,`user_id`);--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY NOT NULL,
	`request_id` integer NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`type` text NOT NULL,
	`detail` text,
	FOREIGN KEY (`request_id`) REFERENCES `requests`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `events_request_id_idx` ON `events` (`request_id`);--> statement-breakpoint
CREATE TABLE `ingress_rules` (
	`id` integer PRIMARY KEY NOT NULL,
	`security_group_id` text NOT NULL,
	`protocol` text NOT NULL,
	`port` integer NOT NULL,
	`source_kind` text NOT NULL,
	`source` text NOT NULL,
	`aws_rule_id` text,
	`origin` text NOT NULL,
	`state` text NOT NULL,
	`created_at` integer NOT NULL,
	`removed_at` integer
);
--> statement-breakpoint
CREATE TABLE `requests` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`dedupe_key` text,
	`status` text NOT NULL,
	`requester_id` text NOT NULL,
	`requester_name` text NOT NULL,
	`cluster_id` text NOT NULL,
	`engine` text NOT NULL,
	`endpoint` text NOT NULL,
	`port` integer NOT NULL,
	`vpc_id` text NOT NULL,
	`target_group_id` text NOT NULL,
	`source_kind` text NOT NULL,
	`source` text NOT NULL,
	`duration_seconds` integer NOT NULL,
	`reason` text NOT NULL,
	`policy_match` text NOT NULL,
	`approvals_required` integer NOT NULL,
	`denied_by` text,
	`denied_at` integer,
	`created_at` integer NOT NULL,
	`approved_at` integer,
	`activated_at` integer,
	`expires_at` integer,
	`ended_at` integer,
	`ended_by` text,
	`failure_code` text,
	`failure_message` text,
	`rule_record_id` integer,
	`version` integer NOT NULL,
	FOREIGN KEY (`rule_record_id`) REFERENCES `ingress_rules`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `requests_dedupe_key_unique` ON `requests` (`dedupe_key`);--> statement-breakpoint
CREATE INDEX `requests_status_idx` ON `requests` (`status`);--> statement-breakpoint
CREATE INDEX `requests_status_expires_at_idx` ON `requests` (`status`,`expires_at`);--> statement-breakpoint
CREATE TABLE `slack_messages` (
	`id` integer PRIMARY KEY NOT NULL,
	`request_id` integer NOT NULL,
	`kind` text NOT NULL,
	`channel` text NOT NULL,
	`ts` text NOT NULL,
	FOREIGN KEY (`request_id`) REFERENCES `requests`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `slack_messages_request_id_idx` ON `slack_messages` (`request_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `slack_messages_channel_ts_unique` ON `slack_messages` (`channel`,`ts`);