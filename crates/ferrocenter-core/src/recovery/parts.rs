//! The parts of a backup and which store tables each holds. `common` is everything a restored
//! server needs to be the same server (inventory, identities and groups, settings and moId
//! counters, the hosts' sealed service-account credentials, the claims in flight, the backup
//! schedules); `seat` is the history a server can live without (statistics, events, tasks), as
//! vCenter's optional "Statistics, Events and Tasks" part.
use serde::Serialize;

/// A part of a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum PartId {
    Common,
    Seat,
}

impl PartId {
    pub const ALL: [PartId; 2] = [PartId::Common, PartId::Seat];

    pub fn as_str(self) -> &'static str {
        match self {
            PartId::Common => "common",
            PartId::Seat => "seat",
        }
    }

    pub fn parse(id: &str) -> Option<PartId> {
        PartId::ALL.into_iter().find(|p| p.as_str() == id)
    }

    pub fn info(self) -> &'static PartInfo {
        match self {
            PartId::Common => &COMMON,
            PartId::Seat => &SEAT,
        }
    }
}

/// What `recovery.backup.parts` lists of a part.
#[derive(Debug)]
pub struct PartInfo {
    pub id: PartId,
    pub name: &'static str,
    pub description: &'static str,
    /// A backup always holds `common`; `seat` is chosen.
    pub optional: bool,
    pub selected_by_default: bool,
    /// Its tables, a referenced table before those referring to it: the order rows are written
    /// and restored in (PostgreSQL checks references at each insert).
    pub tables: &'static [&'static str],
}

pub static COMMON: PartInfo = PartInfo {
    id: PartId::Common,
    name: "Inventory and configuration",
    description: "Inventory, identities and groups, settings and moId counters, host \
                  service-account credentials (sealed), claims in flight, backup schedules \
                  (passwords sealed)",
    optional: false,
    selected_by_default: true,
    tables: &[
        "settings",
        "sequences",
        "principals",
        "principal_groups",
        "group_members",
        "password_history",
        "datacenters",
        "clusters",
        "folders",
        "hosts",
        "vms",
        "datastores",
        "networks",
        "host_datastores",
        "host_networks",
        "custom_fields",
        "host_values",
        "resource_tags",
        "claim_intents",
        "backup_schedules",
        "identity_providers",
    ],
};

pub static SEAT: PartInfo = PartInfo {
    id: PartId::Seat,
    name: "Statistics, events and tasks",
    description: "Historical statistics, the event log and the task history",
    optional: true,
    selected_by_default: true,
    tables: &[
        "tasks",
        "events",
        "stat_items",
        "stat_samples",
        "stat_aggregates",
    ],
};

/// The part a table belongs to.
pub fn part_of(table: &str) -> Option<PartId> {
    PartId::ALL
        .into_iter()
        .find(|p| p.info().tables.contains(&table))
}

/// Columns holding secrets sealed with the server's `secret.key`: opened and sealed again under
/// the backup password's key on the way into an archive, and back on the way out.
pub const SEALED_COLUMNS: &[(&str, &str)] = &[
    ("hosts", "agent_secret"),
    ("claim_intents", "agent_secret"),
    ("backup_schedules", "location_password"),
    ("backup_schedules", "backup_password"),
    ("identity_providers", "client_secret"),
    ("identity_providers", "ldap_password"),
];

pub(crate) fn tables_of(parts: &[PartId]) -> Vec<String> {
    PartId::ALL
        .into_iter()
        .filter(|p| parts.contains(p))
        .flat_map(|p| p.info().tables.iter().map(|t| (*t).to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_table_is_in_two_parts() {
        let all = tables_of(&PartId::ALL);
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(all.len(), unique.len());
        assert_eq!(part_of("hosts"), Some(PartId::Common));
        assert_eq!(part_of("events"), Some(PartId::Seat));
        assert_eq!(part_of("schema_migrations"), None);
    }
}
