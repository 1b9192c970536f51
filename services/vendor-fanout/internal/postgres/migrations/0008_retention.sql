-- Done deliveries are pruned once older than the retention (CONSENTRY_DELIVERY_RETENTION):
-- their receipts are in the audit log. The pruner reads the oldest done rows first
-- through this index, so its cost follows what it deletes, not the table.
CREATE INDEX deliveries_done ON fanout.deliveries (updated_at) WHERE state = 'done';
