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
    status       text NOT NULL,                 -- the status of the latest event (by seq)
    received_at  timestamptz NOT NULL,          -- the `received` event's, else the first event's
    saw_received boolean NOT NULL,
    deadline_at  timestamptz,                   -- the latest event's
    -- The deadline as a sort key: a request without one sorts last.
    due          timestamptz GENERATED ALWAYS AS (coalesce(deadline_at, 'infinity'::timestamptz)) STORED,
    closed_at    timestamptz,                   -- the first completed/partially_completed/rejected event's
    last_seq     bigint NOT NULL
);

CREATE INDEX privacy_requests_status ON audit.privacy_requests (status, due, request_id);
CREATE INDEX privacy_requests_tenant_status ON audit.privacy_requests (tenant, status, due, request_id);
CREATE INDEX privacy_requests_open ON audit.privacy_requests (due, request_id)
    WHERE status NOT IN ('completed', 'partially_completed', 'rejected');

-- The requests already in the log.
INSERT INTO audit.privacy_requests (request_id, tenant, subject_key, type, status, received_at, saw_received, deadline_at,
        closed_at, last_seq)
WITH b AS (
    SELECT request_id, coalesce(tenant, '') AS tenant, subject_key, details, seq,
        coalesce(recorded_at, audited_at) AS at, coalesce(details->>'status', '') AS status
    FROM audit.events WHERE event_type = 'PrivacyRequest' AND request_id IS NOT NULL
), agg AS (
    SELECT request_id, min(at) FILTER (WHERE status = 'received') AS received_at, min(at) AS first_at,
        min(at) FILTER (WHERE status IN ('completed', 'partially_completed', 'rejected')) AS closed_at
    FROM b GROUP BY request_id
), latest AS (
    SELECT DISTINCT ON (request_id) * FROM b ORDER BY request_id, seq DESC
)
SELECT l.request_id, l.tenant, l.subject_key, coalesce(l.details->>'type', ''), l.status,
    coalesce(a.received_at, a.first_at), a.received_at IS NOT NULL, (l.details->>'deadline_at')::timestamptz,
    a.closed_at, l.seq
FROM latest l JOIN agg a USING (request_id);
