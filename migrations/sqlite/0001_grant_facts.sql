ALTER TABLE `ingress_rules` ADD `source_peering` text;--> statement-breakpoint
ALTER TABLE `requests` ADD `source_peering` text;--> statement-breakpoint
ALTER TABLE `requests` ADD `facts` text;