//! Versioned schema migrations, one ordered list per engine, applied at open. A step both
//! engines read alike is one file in both lists; a step that needs engine-specific SQL gets a
//! file per engine under the same version (`migrations/sqlite/`, `migrations/postgres/`),
//! appended to the shared part of that version if it has one.

/// One schema step. Versions only grow; a shipped migration is never edited.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../migrations/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "inventory",
        sql: concat!(
            include_str!("../migrations/0002_inventory.sql"),
            include_str!("../migrations/sqlite/0002_inventory.sql"),
        ),
    },
    Migration {
        version: 3,
        name: "folders",
        sql: include_str!("../migrations/0003_folders.sql"),
    },
    Migration {
        version: 4,
        name: "host_names",
        sql: include_str!("../migrations/0004_host_names.sql"),
    },
    Migration {
        version: 5,
        name: "host_values",
        sql: include_str!("../migrations/0005_host_values.sql"),
    },
    Migration {
        version: 6,
        name: "digest_logins",
        sql: include_str!("../migrations/0006_digest_logins.sql"),
    },
    Migration {
        version: 7,
        name: "zones_clusters_tags",
        sql: include_str!("../migrations/0007_zones_clusters_tags.sql"),
    },
    Migration {
        version: 8,
        name: "vm_usage_index",
        sql: include_str!("../migrations/0008_vm_usage_index.sql"),
    },
    Migration {
        version: 9,
        name: "vm_instance_uuid",
        sql: include_str!("../migrations/sqlite/0009_vm_instance_uuid.sql"),
    },
    Migration {
        version: 10,
        name: "claim_intents",
        sql: include_str!("../migrations/0010_claim_intents.sql"),
    },
    Migration {
        version: 11,
        name: "local_accounts",
        sql: include_str!("../migrations/0011_local_accounts.sql"),
    },
    Migration {
        version: 12,
        name: "statistics",
        sql: concat!(
            include_str!("../migrations/0012_statistics.sql"),
            include_str!("../migrations/sqlite/0012_statistics.sql"),
        ),
    },
    Migration {
        version: 13,
        name: "host_ssh_keys",
        sql: include_str!("../migrations/0013_host_ssh_keys.sql"),
    },
    Migration {
        version: 14,
        name: "backup_schedules",
        sql: include_str!("../migrations/0014_backup_schedules.sql"),
    },
    Migration {
        version: 15,
        name: "identity_providers",
        sql: include_str!("../migrations/0015_identity_providers.sql"),
    },
    Migration {
        version: 16,
        name: "sso_users",
        sql: include_str!("../migrations/0016_sso_users.sql"),
    },
];

pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../migrations/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "inventory",
        sql: concat!(
            include_str!("../migrations/0002_inventory.sql"),
            include_str!("../migrations/postgres/0002_inventory.sql"),
        ),
    },
    Migration {
        version: 3,
        name: "folders",
        sql: include_str!("../migrations/0003_folders.sql"),
    },
    Migration {
        version: 4,
        name: "host_names",
        sql: include_str!("../migrations/0004_host_names.sql"),
    },
    Migration {
        version: 5,
        name: "host_values",
        sql: include_str!("../migrations/0005_host_values.sql"),
    },
    Migration {
        version: 6,
        name: "digest_logins",
        sql: include_str!("../migrations/0006_digest_logins.sql"),
    },
    Migration {
        version: 7,
        name: "zones_clusters_tags",
        sql: include_str!("../migrations/0007_zones_clusters_tags.sql"),
    },
    Migration {
        version: 8,
        name: "vm_usage_index",
        sql: include_str!("../migrations/0008_vm_usage_index.sql"),
    },
    Migration {
        version: 9,
        name: "vm_instance_uuid",
        sql: include_str!("../migrations/postgres/0009_vm_instance_uuid.sql"),
    },
    Migration {
        version: 10,
        name: "claim_intents",
        sql: include_str!("../migrations/0010_claim_intents.sql"),
    },
    Migration {
        version: 11,
        name: "local_accounts",
        sql: include_str!("../migrations/0011_local_accounts.sql"),
    },
    Migration {
        version: 12,
        name: "statistics",
        sql: concat!(
            include_str!("../migrations/0012_statistics.sql"),
            include_str!("../migrations/postgres/0012_statistics.sql"),
        ),
    },
    Migration {
        version: 13,
        name: "host_ssh_keys",
        sql: include_str!("../migrations/0013_host_ssh_keys.sql"),
    },
    Migration {
        version: 14,
        name: "backup_schedules",
        sql: include_str!("../migrations/0014_backup_schedules.sql"),
    },
    Migration {
        version: 15,
        name: "identity_providers",
        sql: include_str!("../migrations/0015_identity_providers.sql"),
    },
    Migration {
        version: 16,
        name: "sso_users",
        sql: include_str!("../migrations/0016_sso_users.sql"),
    },
];

pub const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_strictly_increasing_and_engines_agree() {
        for list in [SQLITE, POSTGRES] {
            assert!(list.windows(2).all(|w| w[0].version < w[1].version));
        }
        let names = |l: &[Migration]| l.iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
        assert_eq!(names(SQLITE), names(POSTGRES));
    }
}

#[cfg(test)]
mod upgrade_tests {
    #![allow(clippy::unwrap_used)]
    use std::str::FromStr;

    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::ConnectOptions;

    use super::{CREATE_LEDGER, SQLITE};

    /// A database at version 8 holding a VM: after version 9 the VM's instance uuid is its
    /// BIOS uuid (what the agent also takes for a VM saved before), and the VM reads back.
    #[tokio::test]
    async fn vms_recorded_before_instance_uuids_take_their_bios_uuid() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("fc.db").display());
        let mut c = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        sqlx::query(CREATE_LEDGER).execute(&mut c).await.unwrap();
        for m in SQLITE.iter().filter(|m| m.version <= 8) {
            sqlx::raw_sql(m.sql).execute(&mut c).await.unwrap();
            sqlx::query("INSERT INTO schema_migrations VALUES ($1, $2, 0)")
                .bind(m.version)
                .bind(m.name)
                .execute(&mut c)
                .await
                .unwrap();
        }
        sqlx::raw_sql(
            "INSERT INTO datacenters (id, moid, name, created_at, last_op_at) \
             VALUES ('dc', 'datacenter-1', 'DC', 0, 0);
             INSERT INTO hosts (id, moid, moid_num, datacenter_id, name, address, port, \
             thumbprint, agent_user, agent_secret, connection_state, state, power_state, \
             created_at, last_op_at) VALUES ('h', 'host-2', 2, 'dc', 'h', 'h.example', 443, \
             '', '', '', 'connected', 'Enabled', 'poweredOn', 0, 0);
             INSERT INTO vms (id, moid, host_id, uuid, name, power_state, vcpus, memory_bytes, \
             guest_os_id, data, created_at, last_op_at) VALUES ('v', 'vm-3', 'h', \
             '4c4c4544-0001', 'old', 'poweredOff', 1, 1073741824, 'otherLinux64Guest', \
             '{\"uuid\":\"4c4c4544-0001\",\"name\":\"old\"}', 0, 0);",
        )
        .execute(&mut c)
        .await
        .unwrap();
        drop(c);
        let store = crate::open(&url).await.unwrap();
        let vm = store
            .find_vm_by_instance_uuid("4c4c4544-0001")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((vm.id.as_str(), vm.uuid.as_str()), ("v", "4c4c4544-0001"));
        assert_eq!(vm.info.identity(), "4c4c4544-0001");
        assert_eq!(store.list_vms(Some("h")).await.unwrap().len(), 1);
    }
}
