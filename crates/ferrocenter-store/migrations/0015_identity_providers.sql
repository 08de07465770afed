-- External identity providers (vcenter.identity.providers). `config` is the core's JSON of the
-- provider's non-secret settings (OIDC or OAuth2 endpoints, claims, the LDAP connection); the
-- OIDC client secret and the LDAP bind password are sealed by the core under the data dir's key
-- and kept apart, so no plain secret is stored. At most one row has is_default set (the core
-- clears the others in the same change). Times are milliseconds since the epoch, UTC.
CREATE TABLE identity_providers (
    id            TEXT PRIMARY KEY,
    name          TEXT,
    is_default    BOOLEAN NOT NULL,
    config        TEXT NOT NULL,
    client_secret TEXT,
    ldap_password TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
