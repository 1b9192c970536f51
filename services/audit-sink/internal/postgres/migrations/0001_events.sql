CREATE SCHEMA IF NOT EXISTS audit;

-- Every event from every canonical topic, once (UNIQUE event_id). The exact bytes of the
-- Kafka value are kept in `payload` as evidence; personal identifiers in it stay sealed
-- under the subject's data key. `details` holds the event's non-identifying fields for
-- queries. Where each row came from in Kafka (topic, partition, offset) is kept so that
-- the log can be checked against the topics.
CREATE TABLE audit.events (
    seq             bigserial PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE,
    event_type      text NOT NULL,
    tenant          text,
    subject_key     text,
    request_id      uuid,
    source_event_id uuid,
    occurred_at     timestamptz,
    recorded_at     timestamptz,
    audited_at      timestamptz NOT NULL DEFAULT now(),
    source          text,
    policy_version  text,
    topic           text NOT NULL,
    kafka_partition int NOT NULL,
    kafka_offset    bigint NOT NULL,
    schema_id       int,
    payload         bytea,
    details         jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX events_subject ON audit.events (tenant, subject_key, recorded_at, seq);
CREATE INDEX events_request ON audit.events (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX events_source_event ON audit.events (source_event_id) WHERE source_event_id IS NOT NULL;
