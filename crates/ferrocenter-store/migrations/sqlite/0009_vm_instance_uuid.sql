-- VMs are told apart by their instance uuid: two hosts may report VMs with one BIOS uuid (a
-- cloned VM), which were one row while the BIOS uuid was unique. A VM recorded before this step
-- takes its BIOS uuid as its instance uuid (the agent does the same for the VMs it kept).
-- SQLite cannot drop a column's UNIQUE constraint in place: the table is rebuilt.
CREATE TABLE vms_next (
    id            TEXT PRIMARY KEY,
    moid          TEXT NOT NULL UNIQUE,
    host_id       TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    uuid          TEXT NOT NULL,
    instance_uuid TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    power_state   TEXT NOT NULL,
    vcpus         BIGINT NOT NULL,
    memory_bytes  BIGINT NOT NULL,
    guest_os_id   TEXT NOT NULL,
    data          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_op_at    BIGINT NOT NULL
);
INSERT INTO vms_next (id, moid, host_id, uuid, instance_uuid, name, power_state, vcpus,
                      memory_bytes, guest_os_id, data, created_at, last_op_at)
SELECT id, moid, host_id, uuid, uuid, name, power_state, vcpus, memory_bytes, guest_os_id,
       data, created_at, last_op_at
FROM vms;
DROP TABLE vms;
ALTER TABLE vms_next RENAME TO vms;
CREATE INDEX vms_host ON vms (host_id);
CREATE INDEX vms_host_usage ON vms (host_id, power_state, vcpus, memory_bytes);
CREATE INDEX vms_host_uuid ON vms (host_id, uuid);
