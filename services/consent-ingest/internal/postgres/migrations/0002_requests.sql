-- The front half of every privacy request's life (docs/privacy-requests.md): what
-- consent-ingest needs to move a request on when a person follows a verification link or
-- a Customer approves, hours or days after submission. Identifiers stay sealed.
CREATE TABLE ingest.requests (
    request_id          uuid PRIMARY KEY,
    tenant              text NOT NULL,
    subject_key         text NOT NULL,
    type                text NOT NULL,
    reason              text NOT NULL,
    scope               text NOT NULL DEFAULT '',
    jurisdiction        text NOT NULL,
    policy_version      text NOT NULL,
    status              text NOT NULL,
    sealed_scheme       text,
    sealed_nonce        bytea,
    sealed_ciphertext   bytea,
    occurred_at         timestamptz NOT NULL,
    received_at         timestamptz NOT NULL,
    deadline_at         timestamptz,
    extended            boolean NOT NULL DEFAULT false,
    verify_expires_at   timestamptz,
    -- Why the last move happened, as its event's detail says.
    detail              text NOT NULL DEFAULT '',
    -- Set once the submission's events are on Kafka: until then the request was not
    -- accepted (the client got an error and retries with its Idempotency-Key).
    published           boolean NOT NULL DEFAULT false,
    -- The received event is on Kafka: later moves need not send it again.
    announced           boolean NOT NULL DEFAULT false,
    -- A verification link or a forward to the Customer is owed; a worker sends it.
    notification_queued boolean NOT NULL DEFAULT false,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX requests_unpublished ON ingest.requests (updated_at) WHERE NOT published;
CREATE INDEX requests_notify ON ingest.requests (updated_at) WHERE notification_queued AND published;
CREATE INDEX requests_verifying ON ingest.requests (verify_expires_at) WHERE status = 'verifying';
