-- ZStack clients log in with the SHA-512 hex digest of the password, never the password. The
-- server keeps an argon2id hash of that digest beside the password's own hash, so it can check
-- such logins without storing anything a stolen database would let one replay.
ALTER TABLE principals ADD COLUMN digest_verifier TEXT;
