-- Claims an add is making on agents, from before the claim until the host record holds what
-- they hold: a process killed in between leaves the row, and the next start releases the
-- claim with it. agent_secret is sealed by the core (AES-256-GCM under the data dir's key);
-- no plain password is stored. No reference to tasks: old tasks may be purged, and a missing
-- task reads as one that ended.
CREATE TABLE claim_intents (
    id           TEXT PRIMARY KEY,
    task_id      TEXT,
    address      TEXT NOT NULL,
    port         BIGINT NOT NULL,
    thumbprint   TEXT NOT NULL,
    agent_user   TEXT NOT NULL,
    agent_secret TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX claim_intents_agent ON claim_intents (address, port);
