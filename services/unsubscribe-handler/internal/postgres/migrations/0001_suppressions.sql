CREATE SCHEMA IF NOT EXISTS unsubscribe;

-- The current suppression state per tenant and address hash; the compacted topic is its
-- public projection. It decides what to publish: a tombstone lifts a suppression only if
-- the address was not erased and no other tenant still suppresses it.
CREATE TABLE unsubscribe.suppressions (
    tenant          text NOT NULL,
    email_sha256    text NOT NULL,
    subject_key     text,
    suppressed      boolean NOT NULL,
    reason          text NOT NULL,
    scope           text NOT NULL DEFAULT 'all',
    source          text NOT NULL,
    source_event_id uuid,
    -- An erased address stays suppressed for good: no re-subscription lifts it.
    erased          boolean NOT NULL DEFAULT false,
    changed_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant, email_sha256)
);
CREATE INDEX suppressions_subject ON unsubscribe.suppressions (tenant, subject_key);
CREATE INDEX suppressions_hash ON unsubscribe.suppressions (email_sha256) WHERE suppressed;
