-- Inventory, SQLite part: the event log, whose auto-increasing key is engine-specific.
-- Appended to ../0002_inventory.sql as the same version 2. Events outlive their entities:
-- no foreign keys.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    time        BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    entity_name TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    message     TEXT NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX events_entity ON events (entity_id);
CREATE INDEX events_kind ON events (kind);
