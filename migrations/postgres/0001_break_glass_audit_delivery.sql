ALTER TABLE "events" ADD COLUMN "audit_delivered_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "break_glass" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "reviewed_by" text;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "reviewed_at" timestamp (3) with time zone;--> statement-breakpoint
CREATE INDEX "events_audit_undelivered_idx" ON "events" USING btree ("request_id","id") WHERE "events"."audit_delivered_at" is null;--> statement-breakpoint
CREATE INDEX "requests_break_glass_idx" ON "requests" USING btree ("break_glass","requester_id","created_at");