ALTER TABLE `ingress_rules` ADD `aws_account_id` text;--> statement-breakpoint
ALTER TABLE `ingress_rules` ADD `aws_region` text;--> statement-breakpoint
ALTER TABLE `ingress_rules` ADD `aws_role_arn` text;--> statement-breakpoint
ALTER TABLE `ingress_rules` ADD `aws_location_known` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `requests` ADD `aws_account_id` text;--> statement-breakpoint
ALTER TABLE `requests` ADD `aws_region` text;--> statement-breakpoint
ALTER TABLE `requests` ADD `aws_role_arn` text;--> statement-breakpoint
ALTER TABLE `requests` ADD `aws_location_known` integer DEFAULT false NOT NULL;--> statement-breakpoint
-- Rows made before this migration recorded the account and region in `facts`, not the role: they keep
-- aws_location_known = false, so a "not found" at a guessed location is never taken as "gone".
UPDATE `requests` SET `aws_account_id` = json_extract(`facts`, '$.accountId'), `aws_region` = json_extract(`facts`, '$.region') WHERE `facts` IS NOT NULL;--> statement-breakpoint
UPDATE `ingress_rules` SET
  `aws_account_id` = (SELECT `aws_account_id` FROM `requests` WHERE `requests`.`rule_record_id` = `ingress_rules`.`id` ORDER BY `requests`.`id` LIMIT 1),
  `aws_region` = (SELECT `aws_region` FROM `requests` WHERE `requests`.`rule_record_id` = `ingress_rules`.`id` ORDER BY `requests`.`id` LIMIT 1);
