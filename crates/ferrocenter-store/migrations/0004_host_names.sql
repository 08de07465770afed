-- Host names are unique within a datacenter (vim DuplicateName); the index also makes the
-- check a lookup instead of a scan.
CREATE UNIQUE INDEX hosts_datacenter_name ON hosts (datacenter_id, name);
