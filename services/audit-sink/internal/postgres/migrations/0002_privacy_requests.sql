-- One row per privacy request: where it stands, derived from the log's PrivacyRequest
-- events in the transaction that appends them (see Store.Insert). Listing requests by
-- status or deadline, and counting those at risk every few seconds, then reads a table
-- the size of the requests instead of grouping the whole log. Only a batch that holds
-- request events touches it: copying consents and receipts, audit-sink's hot path, does
-- no extra work. The log stays the evidence; this table can be rebuilt from it.
CREATE TABLE audit.privacy_requests (
    request_id   uuid PRIMARY KEY,
    tenant       text NOT NULL,
    subject_key  text,
    type         text NOT NULL,
    status       text NOT NULL,                 -- the latest step's; a closed request stays closed
    received_at  timestamptz NOT NULL,          -- the `received` event's, else the first event's
    saw_received boolean NOT NULL,
    deadline_at  timestamptz,                   -- the latest (deadlines are only extended)
    -- The deadline as a sort key: a request without one sorts last.
    due          timestamptz GENERATED ALWAYS AS (coalesce(deadline_at, 'infinity'::timestamptz)) STORED,
    closed_at    timestamptz,                   -- the first completed/partially_completed/rejected event's
    last_seq     bigint NOT NULL
);

CREATE INDEX privacy_requests_status ON audit.privacy_requests (status, due, request_id);
CREATE INDEX privacy_requests_tenant_status ON audit.privacy_requests (tenant, status, due, request_id);
CREATE INDEX privacy_requests_open ON audit.privacy_requests (due, request_id)
    WHERE status NOT IN ('completed', 'partially_completed', 'rejected');

-- A log written before this table existed is derived into it when audit-sink opens it
-- (Store.Open), by the same query that keeps it up to date.
