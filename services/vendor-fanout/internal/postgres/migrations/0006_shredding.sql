-- An erasure's data key is destroyed once Consentry's own part is done: at its
-- completion, partial or not, and at the latest at its legal deadline, whatever its
-- vendors did (docs/privacy-requests.md). shredded_at says that has happened; the
-- deadline sweeper looks only at erasures not shredded yet, through the index below,
-- so its cost follows the erasures in flight, not the history.
ALTER TABLE fanout.decisions ADD COLUMN shredded_at timestamptz;

-- Erasures announced completed destroyed the key with that announcement.
UPDATE fanout.decisions SET shredded_at = completed_at
WHERE kind = 'request' AND request_type = 'erasure' AND completion = 'completed';

CREATE INDEX decisions_erasures_unshredded ON fanout.decisions (deadline_at)
    WHERE kind = 'request' AND request_type = 'erasure' AND shredded_at IS NULL;
