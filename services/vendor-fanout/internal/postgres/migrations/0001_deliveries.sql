CREATE SCHEMA IF NOT EXISTS fanout;

-- One row per vendor action an event requires. This table is the per-vendor lane: the
-- Kafka consumer only inserts rows and commits, so a vendor that is down grows its own
-- backlog here while Kafka lag stays flat; each vendor's dispatcher claims its own rows.
CREATE TABLE fanout.deliveries (
    id               bigserial PRIMARY KEY,
    event_id         uuid NOT NULL,
    instance         text NOT NULL,
    action           text NOT NULL,
    tenant           text NOT NULL,
    subject_key      text NOT NULL,
    request_id       uuid,
    occurred_at      timestamptz NOT NULL,
    policy_version   text NOT NULL,
    -- The event's identifiers, still sealed under the subject's data key: they are opened
    -- only in memory, at call time, so shredding the key also empties this backlog.
    sealed_scheme     text,
    sealed_nonce      bytea,
    sealed_ciphertext bytea,
    purposes         jsonb,
    -- pending: to deliver; polling: an async vendor job to verify; done; dead: parked
    -- for a person (see /v1/dead-letters), never silently dropped.
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'polling', 'done', 'dead')),
    attempts         int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    deadline_at      timestamptz NOT NULL,
    outcome          text,
    http_status      int,
    reference        text,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, instance, action)
);

CREATE INDEX deliveries_due ON fanout.deliveries (instance, next_attempt_at) WHERE state IN ('pending', 'polling');
-- Serves the per-subject ordering check of the claim query.
CREATE INDEX deliveries_subject_pending ON fanout.deliveries (instance, subject_key, id) WHERE state = 'pending';
CREATE INDEX deliveries_dead ON fanout.deliveries (instance, updated_at) WHERE state = 'dead';

-- Receipts are written here in the same transaction as the delivery's outcome and
-- published by a relay, so an outcome is never recorded without its receipt (nor the
-- other way round) even if Kafka is down when the vendor answers.
CREATE TABLE fanout.outbox (
    id         bigserial PRIMARY KEY,
    topic      text NOT NULL,
    key        bytea NOT NULL,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
