-- Inventory: datacenters, clusters, hosts, VMs, datastores, networks and the links between
-- hosts and datastores/networks. Shared by both engines. The event log needs an
-- auto-increasing key, which the engines spell differently: it lives in
-- sqlite/0002_inventory.sql and postgres/0002_inventory.sql, appended to this file as the
-- same version 2.
--
-- Unsigned values (ports, sizes, counts) are stored as BIGINT. Lists and agent documents are
-- JSON text. Times are milliseconds since the Unix epoch.

-- A datacenter cannot be deleted while clusters or hosts reference it (no cascade: the
-- foreign key violation is the refusal); its datastores and networks go with it.
CREATE TABLE datacenters (
    id          TEXT PRIMARY KEY,
    moid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    last_op_at  BIGINT NOT NULL
);

-- A cluster cannot be deleted while hosts reference it (no cascade).
CREATE TABLE clusters (
    id               TEXT PRIMARY KEY,
    moid             TEXT NOT NULL UNIQUE,
    datacenter_id    TEXT NOT NULL REFERENCES datacenters (id),
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    automation_level TEXT NOT NULL,
    hypervisor_type  TEXT NOT NULL,
    state            TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    last_op_at       BIGINT NOT NULL,
    UNIQUE (datacenter_id, name)
);

-- moid_num is the number after the last '-' of the moId ("host-12" -> 12), so listings can
-- follow moId order numerically.
CREATE TABLE hosts (
    id               TEXT PRIMARY KEY,
    moid             TEXT NOT NULL UNIQUE,
    moid_num         BIGINT NOT NULL,
    datacenter_id    TEXT NOT NULL REFERENCES datacenters (id),
    cluster_id       TEXT REFERENCES clusters (id),
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    address          TEXT NOT NULL,
    port             BIGINT NOT NULL,
    thumbprint       TEXT NOT NULL,
    agent_user       TEXT NOT NULL,
    agent_secret     TEXT NOT NULL,
    connection_state TEXT NOT NULL,
    state            TEXT NOT NULL,
    previous_state   TEXT,
    power_state      TEXT NOT NULL,
    facts            TEXT,
    runtime          TEXT,
    management_ip    TEXT,
    ssh_port         BIGINT,
    tags             TEXT NOT NULL DEFAULT '[]',
    system_tags      TEXT NOT NULL DEFAULT '[]',
    event_cursor     BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    last_op_at       BIGINT NOT NULL,
    UNIQUE (address, port)
);
CREATE INDEX hosts_cluster ON hosts (cluster_id);
CREATE INDEX hosts_datacenter ON hosts (datacenter_id);
CREATE INDEX hosts_moid_num ON hosts (moid_num);

CREATE TABLE vms (
    id           TEXT PRIMARY KEY,
    moid         TEXT NOT NULL UNIQUE,
    host_id      TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    uuid         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    power_state  TEXT NOT NULL,
    vcpus        BIGINT NOT NULL,
    memory_bytes BIGINT NOT NULL,
    guest_os_id  TEXT NOT NULL,
    data         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_op_at   BIGINT NOT NULL
);
CREATE INDEX vms_host ON vms (host_id);

CREATE TABLE datastores (
    id             TEXT PRIMARY KEY,
    moid           TEXT NOT NULL UNIQUE,
    datacenter_id  TEXT NOT NULL REFERENCES datacenters (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    url            TEXT NOT NULL,
    kind           TEXT NOT NULL,
    capacity_bytes BIGINT NOT NULL,
    free_bytes     BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_op_at     BIGINT NOT NULL,
    UNIQUE (datacenter_id, name)
);

CREATE TABLE networks (
    id            TEXT PRIMARY KEY,
    moid          TEXT NOT NULL UNIQUE,
    datacenter_id TEXT NOT NULL REFERENCES datacenters (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    vlan          BIGINT,
    created_at    BIGINT NOT NULL,
    last_op_at    BIGINT NOT NULL,
    UNIQUE (datacenter_id, name)
);

CREATE TABLE host_datastores (
    host_id      TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    datastore_id TEXT NOT NULL REFERENCES datastores (id) ON DELETE CASCADE,
    PRIMARY KEY (host_id, datastore_id)
);
CREATE INDEX host_datastores_datastore ON host_datastores (datastore_id);

CREATE TABLE host_networks (
    host_id    TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    network_id TEXT NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
    PRIMARY KEY (host_id, network_id)
);
CREATE INDEX host_networks_network ON host_networks (network_id);
