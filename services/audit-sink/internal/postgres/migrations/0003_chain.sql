-- The tamper-evident log (issue 6). Each row is a link of the hash chain of its Kafka
-- partition: chain "topic/partition", its position chain_seq (1, 2, … without gaps),
-- prev_hash (the previous link's hash, 32 zero bytes for the first) and hash =
-- SHA-256(prev_hash ‖ canonical row) as defined by internal/chain. The columns are
-- nullable only for rows written before this migration, which Store.Open chains in Go;
-- a row left without a chain fails verification.
ALTER TABLE audit.events
    ADD COLUMN chain     text,
    ADD COLUMN chain_seq bigint,
    ADD COLUMN prev_hash bytea,
    ADD COLUMN hash      bytea;

-- One row per position. The verifier walks the log in this order, and finds the rows
-- still to chain at Open (chain IS NULL) through it too.
CREATE UNIQUE INDEX events_chain ON audit.events (chain, chain_seq);

-- Where each chain ends. The insert transaction locks the heads of its batch's chains
-- (FOR UPDATE), so a chain has one writer at a time even while two consumers briefly own
-- a partition during a rebalance; records at or below last_offset are redeliveries.
-- Exported by GET /v1/audit/heads so that they can be anchored outside the database.
CREATE TABLE audit.chain_heads (
    chain       text PRIMARY KEY,
    seq         bigint NOT NULL,
    hash        bytea NOT NULL,
    last_offset bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Insert-only at the database level: no UPDATE, DELETE or TRUNCATE of the log, whoever
-- asks. The one change allowed is sealing a row written before the chain existed: its
-- four chain columns go from NULL to values, every other column unchanged. A superuser
-- can still disable the trigger; the exported heads are what catch that.
CREATE FUNCTION audit.events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sealed audit.events;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.chain IS NULL AND OLD.chain_seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
            AND NEW.chain IS NOT NULL AND NEW.chain_seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL THEN
            sealed := NEW;
            sealed.chain := NULL;
            sealed.chain_seq := NULL;
            sealed.prev_hash := NULL;
            sealed.hash := NULL;
            IF sealed IS NOT DISTINCT FROM OLD THEN
                RETURN NEW;
            END IF;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit.events is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON audit.events
    FOR EACH ROW EXECUTE FUNCTION audit.events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON audit.events
    FOR EACH STATEMENT EXECUTE FUNCTION audit.events_append_only();

-- The role audit-sink writes as (SET LOCAL ROLE in Store.Insert): it can append to the
-- log and read it, never change or remove a row. Roles are cluster-wide and several
-- databases (tests, or services sharing a cluster) may migrate at once, hence the guards.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'consentry_audit_writer') THEN
        CREATE ROLE consentry_audit_writer NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- another database's migration created it meanwhile
END;
$$;

DO $$
BEGIN
    EXECUTE format('GRANT consentry_audit_writer TO %I', current_user);
EXCEPTION WHEN insufficient_privilege OR unique_violation OR invalid_grant_operation THEN
    -- A login role that may not grant it writes as itself (Store.Open checks membership);
    -- the trigger still keeps the log insert-only.
    RAISE NOTICE 'consentry_audit_writer not granted to %', current_user;
END;
$$;

GRANT USAGE ON SCHEMA audit TO consentry_audit_writer;
GRANT SELECT, INSERT ON audit.events TO consentry_audit_writer;
GRANT USAGE ON SEQUENCE audit.events_seq_seq TO consentry_audit_writer;
GRANT SELECT, INSERT, UPDATE ON audit.chain_heads TO consentry_audit_writer;
GRANT SELECT, INSERT, UPDATE ON audit.privacy_requests TO consentry_audit_writer;
