-- vendor-fanout acts on a privacy request once it is in_progress, under event_id =
-- request_id, and announces its completion (docs/privacy-requests.md). The decision row
-- keeps what the completion event must repeat of the request, and says whether the
-- completion was written: it is also the row that completions of one request lock, so
-- that two results recorded at once cannot both see the other as still open, nor both
-- announce.
ALTER TABLE fanout.decisions
    ADD COLUMN reason       text,
    ADD COLUMN jurisdiction text,
    ADD COLUMN scope        text,
    ADD COLUMN deadline_at  timestamptz,
    -- completed or partially_completed, set in the transaction that wrote the
    -- announcement to the outbox.
    ADD COLUMN completion   text CHECK (completion IN ('completed', 'partially_completed')),
    ADD COLUMN completed_at timestamptz;

-- The completion check asks whether a request still has an open task.
CREATE INDEX manual_tasks_event_open ON fanout.manual_tasks (event_id) WHERE status = 'open';
