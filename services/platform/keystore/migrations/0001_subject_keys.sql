CREATE SCHEMA IF NOT EXISTS keystore;

-- One data key per subject, wrapped under a master key. Destroying a key (crypto-shredding)
-- clears `wrapped` and sets `destroyed_at`; the row stays as evidence that it happened.
CREATE TABLE keystore.subject_keys (
    subject_key   text PRIMARY KEY,
    tenant        text NOT NULL,
    master_key_id text NOT NULL,
    wrapped       bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    destroyed_at  timestamptz,
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);
