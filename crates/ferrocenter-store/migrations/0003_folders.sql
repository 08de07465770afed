-- Folders: the root folder, and the host/vm/network/datastore folders of each datacenter.
CREATE TABLE folders (
    id            TEXT PRIMARY KEY,
    moid          TEXT NOT NULL UNIQUE,
    parent_id     TEXT REFERENCES folders (id),
    datacenter_id TEXT REFERENCES datacenters (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_op_at    BIGINT NOT NULL,
    UNIQUE (parent_id, name)
);
CREATE INDEX folders_parent ON folders (parent_id);
CREATE INDEX folders_datacenter ON folders (datacenter_id);
