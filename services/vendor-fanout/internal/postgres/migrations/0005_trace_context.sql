-- A delivery keeps the W3C traceparent of the event that planned it, so that its vendor
-- calls (made later, perhaps after a restart) join the trace that began at ingest, and
-- the receipt it writes to the outbox carries it on to Kafka. recorded_at is when
-- Consentry accepted the event: the propagation latency is measured from it. Both are
-- NULL on rows planned before this migration and on back-filled rows, whose latency is
-- not the pipeline's. Adding nullable columns without a default rewrites nothing.
ALTER TABLE fanout.deliveries
    ADD COLUMN traceparent text,
    ADD COLUMN recorded_at timestamptz;

ALTER TABLE fanout.outbox
    ADD COLUMN traceparent text;
