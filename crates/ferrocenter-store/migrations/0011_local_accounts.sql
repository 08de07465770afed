-- The appliance's local accounts (management API `local_accounts`): an e-mail address and
-- password aging as `chage` keeps it. Existing principals (the SSO users and the first start's
-- root) keep passwords that never expire; day counts are NULL for "no restriction".
ALTER TABLE principals ADD COLUMN email TEXT;
ALTER TABLE principals ADD COLUMN password_expires BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE principals ADD COLUMN password_expires_at BIGINT;
ALTER TABLE principals ADD COLUMN inactive_after_expiry BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE principals ADD COLUMN inactive_days BIGINT;
ALTER TABLE principals ADD COLUMN min_days BIGINT;
ALTER TABLE principals ADD COLUMN max_days BIGINT;
ALTER TABLE principals ADD COLUMN warn_days BIGINT;
