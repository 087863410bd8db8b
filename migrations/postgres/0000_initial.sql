CREATE TABLE "approvals" (
	"id" serial PRIMARY KEY NOT NULL,
	"request_id" integer NOT NULL,
	"user_id" text NOT NULL,
	"at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "approvals_request_user_unique" UNIQUE("request_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" serial PRIMARY KEY NOT NULL,
	"request_id" integer NOT NULL,
	"at" timestamp (3) with time zone NOT NULL,
	"actor" text NOT NULL,
	"type" text NOT NULL,
	"detail" jsonb
);
--> statement-breakpoint
CREATE TABLE "ingress_rules" (
	"id" serial PRIMARY KEY NOT NULL,
	"security_group_id" text NOT NULL,
	"protocol" text NOT NULL,
	"port" integer NOT NULL,
	"source_kind" text NOT NULL,
	"source" text NOT NULL,
	"source_peering" jsonb,
	"aws_rule_id" text,
	"aws_account_id" text,
	"aws_region" text,
	"aws_role_arn" text,
	"aws_location_known" boolean DEFAULT false NOT NULL,
	"origin" text NOT NULL,
	"state" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"removed_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "requests" (
	"id" serial PRIMARY KEY NOT NULL,
	"dedupe_key" text,
	"status" text NOT NULL,
	"requester_id" text NOT NULL,
	"requester_name" text NOT NULL,
	"cluster_id" text NOT NULL,
	"engine" text NOT NULL,
	"endpoint" text NOT NULL,
	"port" integer NOT NULL,
	"vpc_id" text NOT NULL,
	"target_group_id" text NOT NULL,
	"source_kind" text NOT NULL,
	"source" text NOT NULL,
	"source_peering" jsonb,
	"facts" jsonb,
	"aws_account_id" text,
	"aws_region" text,
	"aws_role_arn" text,
	"aws_location_known" boolean DEFAULT false NOT NULL,
	"duration_seconds" integer NOT NULL,
	"reason" text NOT NULL,
	"policy_match" text NOT NULL,
	"approvals_required" integer NOT NULL,
	"denied_by" text,
	"denied_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone NOT NULL,
	"approved_at" timestamp (3) with time zone,
	"activated_at" timestamp (3) with time zone,
	"expires_at" timestamp (3) with time zone,
	"ended_at" timestamp (3) with time zone,
	"ended_by" text,
	"failure_code" text,
	"failure_message" text,
	"rule_record_id" integer,
	"version" integer NOT NULL,
	CONSTRAINT "requests_dedupe_key_unique" UNIQUE("dedupe_key")
);
--> statement-breakpoint
CREATE TABLE "slack_messages" (
	"id" serial PRIMARY KEY NOT NULL,
	"request_id" integer NOT NULL,
	"kind" text NOT NULL,
	"channel" text NOT NULL,
	"ts" text NOT NULL,
	CONSTRAINT "slack_messages_channel_ts_unique" UNIQUE("channel","ts")
);
--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "requests" ADD CONSTRAINT "requests_rule_record_id_ingress_rules_id_fk" FOREIGN KEY ("rule_record_id") REFERENCES "public"."ingress_rules"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "slack_messages" ADD CONSTRAINT "slack_messages_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "events_request_id_idx" ON "events" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "ingress_rules_spec_idx" ON "ingress_rules" USING btree ("security_group_id","source","port");--> statement-breakpoint
CREATE INDEX "ingress_rules_aws_rule_id_idx" ON "ingress_rules" USING btree ("aws_rule_id");--> statement-breakpoint
CREATE INDEX "ingress_rules_state_idx" ON "ingress_rules" USING btree ("state");--> statement-breakpoint
CREATE INDEX "requests_status_idx" ON "requests" USING btree ("status");--> statement-breakpoint
CREATE INDEX "requests_status_expires_at_idx" ON "requests" USING btree ("status","expires_at");--> statement-breakpoint
CREATE INDEX "requests_rule_record_id_idx" ON "requests" USING btree ("rule_record_id");--> statement-breakpoint
CREATE INDEX "slack_messages_request_id_idx" ON "slack_messages" USING btree ("request_id");