-- The preference center shows a person's current choice per purpose. The token names the
-- subject by its key only, so the choices are kept here, from the consent events this
-- service consumes anyway, last writer wins by occurred_at (ties by event_id), as
-- docs/architecture.md ("Ordering and current consent") orders consent.
CREATE TABLE unsubscribe.choices (
    tenant      text NOT NULL,
    subject_key text NOT NULL,
    purpose     text NOT NULL,
    decision    text NOT NULL CHECK (decision IN ('granted', 'denied')),
    occurred_at timestamptz NOT NULL,
    event_id    uuid NOT NULL,
    PRIMARY KEY (tenant, subject_key, purpose)
);

-- Per-topic opt-outs (a newsletter, product updates): scope "topic" on the suppression
-- topic, under the record key "<email_sha256>:<topic>" so compaction keeps them apart
-- from the address's scope "all" record.
CREATE TABLE unsubscribe.topic_suppressions (
    tenant          text NOT NULL,
    email_sha256    text NOT NULL,
    topic           text NOT NULL,
    subject_key     text,
    suppressed      boolean NOT NULL,
    source          text NOT NULL,
    source_event_id uuid,
    changed_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant, email_sha256, topic)
);

-- Paging a tenant's suppressions by record key.
CREATE INDEX suppressions_tenant_page ON unsubscribe.suppressions (tenant, email_sha256 COLLATE "C") WHERE suppressed;
