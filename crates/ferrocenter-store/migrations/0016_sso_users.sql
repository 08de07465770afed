-- SSO users and groups managed through com.ferrocenter.sso: a description per user, and the
-- hashes of each user's earlier passwords (the password policy's history), newest kept.
ALTER TABLE principals ADD COLUMN description TEXT;
CREATE TABLE password_history (
    principal_id  TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    replaced_at   BIGINT NOT NULL
);
CREATE INDEX password_history_principal ON password_history (principal_id, replaced_at);
