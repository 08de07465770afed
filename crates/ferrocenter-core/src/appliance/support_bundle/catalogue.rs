//! The components a support bundle can hold (`support_bundle.components.get`): one group,
//! `ferrocenter`, whose manifests are the parts of the bundle, each a directory in it.
use std::collections::BTreeMap;

use crate::CoreError;

use super::ContentType;

/// The one group: ferrocenter is a single process, so its parts are manifests of one group.
pub const GROUP: &str = "ferrocenter";

/// A manifest: what it collects into its directory of the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Manifest {
    /// `logs/`: the server's JSON log files (DATA/logs), each line redacted by key.
    Logs,
    /// `configuration/`: the configuration as given (command line, environment, file), every
    /// secret redacted.
    Configuration,
    /// `tasks-events/`: the tasks and events the store holds, as JSON.
    TasksEvents,
    /// `store/`: the store's engine, schema version and database health.
    Store,
    /// `health/`: every health item's level and messages.
    Health,
    /// `statistics/`: the monitored items and their last hour of five-minute maxima.
    Statistics,
    /// `fleet/`: each host's agent version, hypervisor and connection state.
    Fleet,
}

impl Manifest {
    pub const ALL: [Manifest; 7] = [
        Manifest::Logs,
        Manifest::Configuration,
        Manifest::TasksEvents,
        Manifest::Store,
        Manifest::Health,
        Manifest::Statistics,
        Manifest::Fleet,
    ];

    /// Its name in the catalogue, which is also its directory in the bundle.
    pub fn as_str(self) -> &'static str {
        match self {
            Manifest::Logs => "logs",
            Manifest::Configuration => "configuration",
            Manifest::TasksEvents => "tasks-events",
            Manifest::Store => "store",
            Manifest::Health => "health",
            Manifest::Statistics => "statistics",
            Manifest::Fleet => "fleet",
        }
    }

    pub fn parse(s: &str) -> Option<Manifest> {
        Manifest::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// The catalogue as `components.get` answers it: group → manifests.
pub fn catalogue() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([(
        GROUP.to_string(),
        Manifest::ALL
            .iter()
            .map(|m| m.as_str().to_string())
            .collect(),
    )])
}

/// The manifests a request selects. No selection: every manifest. A group with an empty list:
/// every manifest of the group. `CORES` selects none (ferrocenter writes no core dumps; the
/// bundle then says so); a selection with `CORES` is refused as contradictory.
pub fn select(
    components: Option<&BTreeMap<String, Vec<String>>>,
    content: ContentType,
) -> Result<Vec<Manifest>, CoreError> {
    if content == ContentType::Cores {
        if components.is_some_and(|c| !c.is_empty()) {
            return Err(CoreError::invalid(
                "spec.components",
                "a CORES bundle holds core dumps only: leave the components unset",
            ));
        }
        return Ok(Vec::new());
    }
    let Some(components) = components else {
        return Ok(Manifest::ALL.to_vec());
    };
    if components.is_empty() {
        return Ok(Manifest::ALL.to_vec());
    }
    let mut out = Vec::new();
    for (group, names) in components {
        if group != GROUP {
            return Err(CoreError::invalid(
                "spec.components",
                format!("unknown component group '{group}' (the only group is '{GROUP}')"),
            ));
        }
        if names.is_empty() {
            out.extend(Manifest::ALL);
        }
        for n in names {
            let m = Manifest::parse(n).ok_or_else(|| {
                CoreError::invalid(
                    format!("spec.components.{GROUP}"),
                    format!(
                        "unknown manifest '{n}' (known: {})",
                        Manifest::ALL.map(Manifest::as_str).join(", ")
                    ),
                )
            })?;
            out.push(m);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_by_group_and_manifest() {
        assert_eq!(select(None, ContentType::Logs).unwrap().len(), 7);
        let only = BTreeMap::from([(GROUP.to_string(), vec!["store".to_string()])]);
        assert_eq!(
            select(Some(&only), ContentType::All).unwrap(),
            vec![Manifest::Store]
        );
        let whole = BTreeMap::from([(GROUP.to_string(), vec![])]);
        assert_eq!(select(Some(&whole), ContentType::Logs).unwrap().len(), 7);
        let bad = BTreeMap::from([("vpxd".to_string(), vec![])]);
        assert!(select(Some(&bad), ContentType::Logs).is_err());
        let bad = BTreeMap::from([(GROUP.to_string(), vec!["nope".to_string()])]);
        let e = select(Some(&bad), ContentType::Logs).unwrap_err();
        assert!(e.to_string().contains("spec.components.ferrocenter"), "{e}");
        assert!(select(None, ContentType::Cores).unwrap().is_empty());
    }
}
