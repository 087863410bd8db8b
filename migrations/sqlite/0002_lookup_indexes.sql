CREATE INDEX `ingress_rules_spec_idx` ON `ingress_rules` (`security_group_id`,`source`,`port`);--> statement-breakpoint
CREATE INDEX `ingress_rules_aws_rule_id_idx` ON `ingress_rules` (`aws_rule_id`);--> statement-breakpoint
CREATE INDEX `ingress_rules_state_idx` ON `ingress_rules` (`state`);--> statement-breakpoint
CREATE INDEX `requests_rule_record_id_idx` ON `requests` (`rule_record_id`);