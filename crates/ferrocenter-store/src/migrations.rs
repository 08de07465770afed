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
