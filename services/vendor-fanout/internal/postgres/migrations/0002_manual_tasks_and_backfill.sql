-- Vendors without an API get a task a person completes. The delivery stays open
-- ('polling') until its task is completed; a task is never dropped, only completed.
CREATE TABLE fanout.manual_tasks (
    id              bigserial PRIMARY KEY,
    -- The delivery's idempotency key: creating the task for a delivery twice is a no-op.
    delivery_key    text NOT NULL UNIQUE,
    instance        text NOT NULL,
    action          text NOT NULL,
    tenant          text NOT NULL,
    subject_key     text NOT NULL,
    event_id        uuid NOT NULL,
    request_id      uuid,
    owner           text NOT NULL,
    instructions    text NOT NULL,
    due_at          timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed')),
    completed_at    timestamptz,
    completed_by    text,
    note            text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX manual_tasks_open ON fanout.manual_tasks (instance, due_at) WHERE status = 'open';

-- Every consent change and privacy request fan-out has seen, so that a vendor enabled
-- later can be back-filled with the opt-outs and erasures that came before it.
CREATE TABLE fanout.decisions (
    event_id          uuid PRIMARY KEY,
    tenant            text NOT NULL,
    subject_key       text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('consent', 'request')),
    purposes          jsonb,
    request_type      text,
    request_id        uuid,
    occurred_at       timestamptz NOT NULL,
    recorded_at       timestamptz NOT NULL,
    policy_version    text NOT NULL,
    sealed_scheme     text,
    sealed_nonce      bytea,
    sealed_ciphertext bytea
);
CREATE INDEX decisions_tenant ON fanout.decisions (tenant, subject_key, occurred_at);

-- Which vendor instances have been back-filled, so enabling one back-fills it once.
CREATE TABLE fanout.backfills (
    instance     text NOT NULL,
    tenants      text NOT NULL, -- the instance's tenant list when it was back-filled
    planned      int NOT NULL,
    completed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance, tenants)
);
