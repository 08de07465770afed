-- Foundation: settings, counters, identities, tasks. Shared by both engines: SQLite reads
-- BIGINT and BOOLEAN with integer affinity.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sequences (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE principals (
    id                  TEXT PRIMARY KEY,
    domain              TEXT NOT NULL,
    name                TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    role                TEXT NOT NULL,
    full_name           TEXT,
    disabled            BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL,
    UNIQUE (domain, name)
);

CREATE TABLE principal_groups (
    id          TEXT PRIMARY KEY,
    domain      TEXT NOT NULL,
    name        TEXT NOT NULL,
    role        TEXT,
    description TEXT NOT NULL DEFAULT '',
    UNIQUE (domain, name)
);

CREATE TABLE group_members (
    group_id     TEXT NOT NULL REFERENCES principal_groups (id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, principal_id)
);
CREATE INDEX group_members_principal ON group_members (principal_id);

CREATE TABLE tasks (
    id               TEXT PRIMARY KEY,
    moid             TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL,
    target_kind      TEXT,
    target_id        TEXT,
    initiator        TEXT NOT NULL,
    description      TEXT NOT NULL,
    state            TEXT NOT NULL,
    progress         BIGINT NOT NULL,
    progress_message TEXT,
    result           TEXT,
    error            TEXT,
    cancelable       BOOLEAN NOT NULL,
    cancelled        BOOLEAN NOT NULL,
    queued_at        BIGINT NOT NULL,
    started_at       BIGINT,
    completed_at     BIGINT
);
CREATE INDEX tasks_state ON tasks (state);
CREATE INDEX tasks_queued_at ON tasks (queued_at);
CREATE INDEX tasks_target ON tasks (target_id);
