-- Custom fields (vim CustomFieldDef): one server-wide integer key per field name.
CREATE TABLE custom_fields (
    field_key BIGINT PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,
    mo_type   TEXT NOT NULL
);

-- Named values a host carries beyond its own columns: custom field values ("field:<key>"),
-- host flags ("flag:backgroundSnapshotsEnabled") and "alarmActionsEnabled". They go with the host.
CREATE TABLE host_values (
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (host_id, name)
);
