-- VMs are told apart by their instance uuid: two hosts may report VMs with one BIOS uuid (a
-- cloned VM), which were one row while the BIOS uuid was unique. A VM recorded before this step
-- takes its BIOS uuid as its instance uuid (the agent does the same for the VMs it kept).
ALTER TABLE vms ADD COLUMN instance_uuid TEXT;
UPDATE vms SET instance_uuid = uuid;
ALTER TABLE vms ALTER COLUMN instance_uuid SET NOT NULL;
ALTER TABLE vms DROP CONSTRAINT vms_uuid_key;
CREATE UNIQUE INDEX vms_instance_uuid ON vms (instance_uuid);
CREATE INDEX vms_host_uuid ON vms (host_id, uuid);
