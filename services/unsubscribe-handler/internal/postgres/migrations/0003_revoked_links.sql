-- Revoked unsubscribe and preference links (docs/adr/0006). A link names itself by a
-- random id; every use looks the id up here. A row is needed only while the link it
-- stops could still verify (CONSENTRY_LINK_TTL after it was issued).
CREATE TABLE unsubscribe.revoked_links (
    tenant     text NOT NULL,
    link_id    text NOT NULL,
    revoked_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, link_id)
);
