//! Appliance health (management guide, chapter 6, "Health Monitoring"): a level per component
//! — load, memory, swap, storage, the database's storage, the database, software packages and
//! the appliance management (ferrocenter's own components) — computed from the machine's
//! readings (`ports::SystemProbe`) and the store's own measure of the database, the composite
//! `system` level by the guide's rule, and messages saying why a level is not green.
//!
//! One evaluation serves every call for [`MAX_AGE`]: a client that reads the composite and then
//! each component's messages sees one consistent picture, and pollers cost one reading of the
//! machine per interval. `lastcheck` is when that evaluation ran.
mod rules;
mod settings;

pub use rules::{Bands, LOAD_PER_CPU, MEM_USED_PERCENT, STORAGE_USED_PERCENT, SWAP_USED_PERCENT};
pub use settings::{HealthCheckSettings, HealthCheckSettingsUpdate};

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::auth::{Caller, Privilege};
use crate::ports::{DatabaseSize, FilesystemReading, MachineError, SystemReadings};
use crate::{Core, CoreError};
use rules::Finding;

/// How long one evaluation answers every health call.
pub const MAX_AGE: Duration = Duration::from_secs(10);

/// How long a reading of the machine or the database may take before its components are
/// reported gray (a hung network filesystem must not hang every health call).
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The guide's health levels. Ordered by how strong a trouble indication each is — gray above
/// green (unknown is worse than known good) but below yellow (a definite problem outranks an
/// unknown) — so the composite is simply the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HealthLevel {
    Green,
    Gray,
    Yellow,
    Orange,
    Red,
}

impl HealthLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthLevel::Green => "green",
            HealthLevel::Gray => "gray",
            HealthLevel::Yellow => "yellow",
            HealthLevel::Orange => "orange",
            HealthLevel::Red => "red",
        }
    }
}

/// The components the guide reports on, and `System`, their composite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    System,
    Load,
    Mem,
    Swap,
    Storage,
    DatabaseStorage,
    Database,
    SoftwarePackages,
    Applmgmt,
}

impl Component {
    /// Every component, the composite first.
    pub const ALL: [Component; 9] = [
        Component::System,
        Component::Load,
        Component::Mem,
        Component::Swap,
        Component::Storage,
        Component::DatabaseStorage,
        Component::Database,
        Component::SoftwarePackages,
        Component::Applmgmt,
    ];

    /// The components the composite is made of. Software packages are left out: they say
    /// whether updates are available, not whether something runs well, and until ferrocenter
    /// has an update service they are gray, which would turn every healthy system gray.
    pub const OF_SYSTEM: [Component; 7] = [
        Component::Load,
        Component::Mem,
        Component::Swap,
        Component::Storage,
        Component::DatabaseStorage,
        Component::Database,
        Component::Applmgmt,
    ];

    /// Its health item id, as its service is named (`com.vmware.appliance.health.<id>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Component::System => "system",
            Component::Load => "load",
            Component::Mem => "mem",
            Component::Swap => "swap",
            Component::Storage => "storage",
            Component::DatabaseStorage => "databasestorage",
            Component::Database => "database",
            Component::SoftwarePackages => "softwarepackages",
            Component::Applmgmt => "applmgmt",
        }
    }

    /// A health item id: the service's name, or its REST path segment (`database-storage`,
    /// `software-packages`).
    pub fn from_item(item: &str) -> Option<Component> {
        let item = match item {
            "database-storage" => "databasestorage",
            "software-packages" => "softwarepackages",
            other => other,
        };
        Component::ALL.into_iter().find(|c| c.as_str() == item)
    }
}

/// A localizable text: a stable id, the English text with its arguments filled in, and the
/// arguments.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Text {
    pub id: String,
    pub default_message: String,
    pub args: Vec<String>,
}

/// Why a component is not green (the guide's notification).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthMessage {
    /// Stable per condition (and per filesystem, `storage.used:/var`).
    pub id: String,
    /// When it was found: the evaluation's time.
    pub time: OffsetDateTime,
    pub message: Text,
    pub resolution: Option<Text>,
}

/// The database's status, as `health.database` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseStatus {
    Healthy,
    Degraded,
    Unhealthy,
}

impl DatabaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseStatus::Healthy => "HEALTHY",
            DatabaseStatus::Degraded => "DEGRADED",
            DatabaseStatus::Unhealthy => "UNHEALTHY",
        }
    }

    /// Its place in the composite.
    fn level(self) -> HealthLevel {
        match self {
            DatabaseStatus::Healthy => HealthLevel::Green,
            DatabaseStatus::Degraded => HealthLevel::Orange,
            DatabaseStatus::Unhealthy => HealthLevel::Red,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseMessage {
    pub severity: Severity,
    pub message: Text,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseHealth {
    pub status: DatabaseStatus,
    pub messages: Vec<DatabaseMessage>,
}

/// One evaluation of every component.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport {
    pub checked_at: OffsetDateTime,
    /// In [`Component::ALL`]'s order.
    pub levels: Vec<(Component, HealthLevel, Vec<HealthMessage>)>,
    pub database: DatabaseHealth,
}

impl HealthReport {
    pub fn level(&self, c: Component) -> HealthLevel {
        self.levels
            .iter()
            .find(|(x, _, _)| *x == c)
            .map_or(HealthLevel::Gray, |(_, l, _)| *l)
    }

    pub fn messages(&self, c: Component) -> &[HealthMessage] {
        self.levels
            .iter()
            .find(|(x, _, _)| *x == c)
            .map_or(&[], |(_, _, m)| m.as_slice())
    }
}

/// The last evaluation, and the lock that makes concurrent callers share one, with the lock
/// that serialises changes of the check settings.
#[derive(Default)]
pub(crate) struct HealthState {
    last: tokio::sync::Mutex<Option<Arc<HealthReport>>>,
    settings: tokio::sync::Mutex<()>,
}

/// A text of this module, its id under `com.ferrocenter.appliance.health.`.
fn text(key: &str, default_message: impl Into<String>, args: Vec<String>) -> Text {
    Text {
        id: format!("com.ferrocenter.appliance.health.{key}"),
        default_message: default_message.into(),
        args,
    }
}

/// Every machine-backed component is gray, saying why there is no data.
fn no_machine_data(component: &str, why: &str) -> Finding {
    Finding::gray(
        &format!("{component}.no_data"),
        text(
            &format!("{component}.no_data"),
            format!("No health data: the machine could not be read ({why})."),
            vec![why.to_string()],
        ),
    )
}

/// Waits at most [`READ_TIMEOUT`] for a reading.
async fn bounded<T>(
    what: &str,
    f: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    match tokio::time::timeout(READ_TIMEOUT, f).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "{what} did not answer within {} s",
            READ_TIMEOUT.as_secs()
        )),
    }
}

impl Core {
    /// The current evaluation: the last one while younger than [`MAX_AGE`], else a new one.
    async fn health_report(&self) -> Arc<HealthReport> {
        let mut last = self.health.last.lock().await;
        let now = self.clock.now();
        if let Some(r) = last.as_ref() {
            if now >= r.checked_at && now - r.checked_at < MAX_AGE {
                return r.clone();
            }
        }
        let report = Arc::new(self.evaluate_health(now).await);
        *last = Some(report.clone());
        report
    }

    async fn evaluate_health(&self, now: OffsetDateTime) -> HealthReport {
        let probe = &self.machine.probe;
        let readings: Result<SystemReadings, String> = bounded("the system probe", async {
            probe.read().await.map_err(|e: MachineError| e.to_string())
        })
        .await;
        let db: Result<DatabaseSize, String> = bounded("the database", async {
            self.store.database_size().await.map_err(|e| e.to_string())
        })
        .await;
        let db_fs: Option<Result<FilesystemReading, String>> = match &db {
            Ok(DatabaseSize {
                location: Some(place),
                ..
            }) => Some(
                bounded("the system probe", async {
                    probe.space_at(place).await.map_err(|e| e.to_string())
                })
                .await,
            ),
            _ => None,
        };

        let machine = |component: &str, rule: fn(&SystemReadings) -> Finding| match &readings {
            Ok(r) => rule(r),
            Err(why) => no_machine_data(component, why),
        };
        let load = machine("load", rules::load);
        let mem = machine("mem", rules::mem);
        let swap = machine("swap", rules::swap);
        let storage = machine("storage", rules::storage);
        let database_storage = match (&db, &db_fs) {
            (Ok(size), Some(Ok(fs))) => rules::database_storage(size, fs),
            (Ok(_), Some(Err(why))) => no_machine_data("databasestorage", why),
            (Ok(size), None) => Finding::gray(
                "databasestorage.place_unknown",
                text(
                    "databasestorage.place_unknown",
                    format!(
                        "No health data: the database ({:.1} MiB) is not on a filesystem of \
                         this machine that ferrocenter can see (a PostgreSQL server elsewhere, \
                         or one that does not let this user read its data directory), so its \
                         free space is unknown.",
                        size.bytes as f64 / f64::from(1u32 << 20)
                    ),
                    Vec::new(),
                ),
            ),
            (Err(why), _) => Finding::gray(
                "databasestorage.no_data",
                text(
                    "databasestorage.no_data",
                    format!("No health data: the database's size could not be read ({why})."),
                    vec![why.clone()],
                ),
            ),
        };
        let database = database_health(&db, &database_storage);
        let software = Finding::gray(
            "softwarepackages.no_update_check",
            text(
                "softwarepackages.no_update_check",
                "No health data: ferrocenter has no update service yet, so no check for \
                 software updates has run.",
                Vec::new(),
            ),
        );
        let applmgmt = if self.tasks.is_accepting() {
            Finding {
                level: HealthLevel::Green,
                reasons: Vec::new(),
            }
        } else {
            Finding {
                level: HealthLevel::Red,
                reasons: vec![(
                    "applmgmt.stopping".into(),
                    text(
                        "applmgmt.stopping",
                        "The task engine accepts no tasks: it is stopped (appliance service \
                         task-engine) or the server is shutting down.",
                        Vec::new(),
                    ),
                    None,
                )],
            }
        };

        let notes = |f: Finding| -> (HealthLevel, Vec<HealthMessage>) {
            let messages = f
                .reasons
                .into_iter()
                .map(|(id, message, resolution)| HealthMessage {
                    id,
                    time: now,
                    message,
                    resolution,
                })
                .collect();
            (f.level, messages)
        };
        let database_messages = database
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| HealthMessage {
                id: format!("database.{i}"),
                time: now,
                message: m.message.clone(),
                resolution: None,
            })
            .collect();
        let mut levels = vec![
            (Component::Load, notes(load)),
            (Component::Mem, notes(mem)),
            (Component::Swap, notes(swap)),
            (Component::Storage, notes(storage)),
            (Component::DatabaseStorage, notes(database_storage)),
            (
                Component::Database,
                (database.status.level(), database_messages),
            ),
            (Component::SoftwarePackages, notes(software)),
            (Component::Applmgmt, notes(applmgmt)),
        ];
        let system = composite(
            levels
                .iter()
                .filter(|(c, _)| Component::OF_SYSTEM.contains(c))
                .map(|(c, (l, _))| (*c, *l)),
            now,
        );
        levels.insert(0, (Component::System, system));
        HealthReport {
            checked_at: now,
            levels: levels.into_iter().map(|(c, (l, m))| (c, l, m)).collect(),
            database,
        }
    }

    /// A component's level, or the composite's (`Component::System`).
    pub async fn health_level(
        &self,
        caller: &Caller,
        component: Component,
    ) -> Result<HealthLevel, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(self.health_report().await.level(component))
    }

    /// When the health was last evaluated (now, if it never was or that is too old).
    pub async fn health_lastcheck(&self, caller: &Caller) -> Result<OffsetDateTime, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(self.health_report().await.checked_at)
    }

    /// The database's status and messages.
    pub async fn health_database(&self, caller: &Caller) -> Result<DatabaseHealth, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(self.health_report().await.database.clone())
    }

    /// Why a health item is at its level; an unknown item is not found, named.
    pub async fn health_messages(
        &self,
        caller: &Caller,
        item: &str,
    ) -> Result<Vec<HealthMessage>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let component =
            Component::from_item(item).ok_or_else(|| CoreError::not_found("health item", item))?;
        Ok(self.health_report().await.messages(component).to_vec())
    }
}

/// The database's status: it must answer a real query (its size), and its storage decides the
/// rest — orange storage degrades it, red makes it unhealthy, yellow is a warning only.
fn database_health(db: &Result<DatabaseSize, String>, storage: &Finding) -> DatabaseHealth {
    let why = |f: &Finding| {
        f.reasons
            .iter()
            .map(|(_, t, _)| t.clone())
            .collect::<Vec<Text>>()
    };
    match db {
        Err(e) => DatabaseHealth {
            status: DatabaseStatus::Unhealthy,
            messages: vec![DatabaseMessage {
                severity: Severity::Error,
                message: text(
                    "database.unreachable",
                    format!("The database did not answer a query: {e}."),
                    vec![e.clone()],
                ),
            }],
        },
        Ok(_) => {
            let (status, severity) = match storage.level {
                HealthLevel::Red => (DatabaseStatus::Unhealthy, Some(Severity::Error)),
                HealthLevel::Orange => (DatabaseStatus::Degraded, Some(Severity::Warning)),
                HealthLevel::Yellow => (DatabaseStatus::Healthy, Some(Severity::Warning)),
                HealthLevel::Green | HealthLevel::Gray => (DatabaseStatus::Healthy, None),
            };
            DatabaseHealth {
                status,
                messages: severity
                    .map(|severity| {
                        why(storage)
                            .into_iter()
                            .map(|message| DatabaseMessage { severity, message })
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        }
    }
}

/// The guide's composite: the strongest trouble indication among the components — any red is
/// red, else any orange, else any yellow; gray only when every other component is green. One
/// message per component that is not green says which and how.
fn composite(
    parts: impl Iterator<Item = (Component, HealthLevel)>,
    now: OffsetDateTime,
) -> (HealthLevel, Vec<HealthMessage>) {
    let mut level = HealthLevel::Green;
    let mut messages = Vec::new();
    for (c, l) in parts {
        level = level.max(l);
        if l != HealthLevel::Green {
            messages.push(HealthMessage {
                id: format!("system.{}", c.as_str()),
                time: now,
                message: text(
                    "system.component",
                    format!("{} is {}.", c.as_str(), l.as_str()),
                    vec![c.as_str().to_string(), l.as_str().to_string()],
                ),
                resolution: Some(text(
                    "system.component.resolution",
                    format!("Read the messages of the health item {}.", c.as_str()),
                    vec![c.as_str().to_string()],
                )),
            });
        }
    }
    (level, messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use HealthLevel::*;

    fn of(levels: &[HealthLevel]) -> HealthLevel {
        composite(
            levels.iter().map(|l| (Component::Load, *l)),
            OffsetDateTime::UNIX_EPOCH,
        )
        .0
    }

    #[test]
    fn the_composite_is_the_strongest_trouble_and_gray_only_beside_green() {
        assert_eq!(of(&[Green, Green]), Green);
        assert_eq!(of(&[Green, Gray]), Gray);
        assert_eq!(of(&[Gray, Yellow]), Yellow);
        assert_eq!(of(&[Gray, Orange, Yellow]), Orange);
        assert_eq!(of(&[Red, Gray, Orange]), Red);
        assert_eq!(of(&[Yellow, Green]), Yellow);
        assert_eq!(of(&[]), Green);
    }

    #[test]
    fn items_are_named_by_service_or_by_rest_path() {
        assert_eq!(
            Component::from_item("database-storage"),
            Some(Component::DatabaseStorage)
        );
        assert_eq!(
            Component::from_item("softwarepackages"),
            Some(Component::SoftwarePackages)
        );
        assert_eq!(Component::from_item("system"), Some(Component::System));
        assert_eq!(Component::from_item("disk"), None);
        for c in Component::ALL {
            assert_eq!(Component::from_item(c.as_str()), Some(c));
        }
    }
}
