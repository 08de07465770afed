-- ZStack zones are datacenters with an admin state and a default flag; its clusters carry a
-- type and the CPU architecture of their hosts.
ALTER TABLE datacenters ADD COLUMN state TEXT NOT NULL DEFAULT 'Enabled';
ALTER TABLE datacenters ADD COLUMN is_default BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clusters ADD COLUMN kind TEXT NOT NULL DEFAULT 'zstack';
ALTER TABLE clusters ADD COLUMN architecture TEXT;

-- System and user tags of any resource (ZStack `systemTags` / `userTags`), one row per tag so
-- tag conditions are indexed lookups. A resource's tags go when the resource goes (the store
-- deletes them with it; resources live in several tables, so there is no foreign key).
CREATE TABLE resource_tags (
    resource_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    tag         TEXT NOT NULL,
    PRIMARY KEY (resource_id, kind, tag)
);
CREATE INDEX resource_tags_tag ON resource_tags (kind, tag);
