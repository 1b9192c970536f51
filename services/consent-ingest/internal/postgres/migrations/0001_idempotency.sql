CREATE SCHEMA IF NOT EXISTS ingest;

-- Client retries with the same Idempotency-Key get the same event ids, so a retry after a
-- timeout can never create a second, different event. Rows expire after a day.
CREATE TABLE ingest.idempotency_keys (
    api_key_name    text NOT NULL,
    idempotency_key text NOT NULL,
    request_sha256  bytea NOT NULL,
    event_ids       text[] NOT NULL,
    recorded_at     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_name, idempotency_key)
);
CREATE INDEX idempotency_keys_created_at ON ingest.idempotency_keys (created_at);
