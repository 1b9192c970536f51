-- The address a privacy request's confirmation link may go to (docs/privacy-requests.md):
-- per subject, the identifiers of a consent that carried an email, sealed under the
-- subject's data key like every other copy, so that an erasure's shredding leaves nothing
-- here that opens. A request never writes here: the link must go to an address Consentry
-- held before the request, not to one the request brings.
CREATE TABLE ingest.contacts (
    tenant            text NOT NULL,
    subject_key       text NOT NULL,
    sealed_scheme     text NOT NULL,
    sealed_nonce      bytea NOT NULL,
    sealed_ciphertext bytea NOT NULL,
    recorded_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant, subject_key)
);
