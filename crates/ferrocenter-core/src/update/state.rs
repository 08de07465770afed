//! The update service's state, kept as one setting of the store: the last check (each update
//! with the source it came from and its signed manifest as JSON, re-read with
//! [`Manifest::parse`]), the staged update, the last stage task and failure. A login is never
//! kept here: an update found through the policy's repository says so, and its password is
//! taken from the policy when the package is fetched.
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Manifest;
use crate::{Core, CoreError};

const KEY: &str = "appliance.update.state";

/// Where an update was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FoundAt {
    /// `update_local_source`.
    Local { path: PathBuf },
    /// A repository URL; `policy_login`: the policy's user and password apply.
    Url {
        url: String,
        policy_login: bool,
        certificate_check: bool,
    },
}

/// One update a check found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Found {
    pub at: FoundAt,
    /// The signed manifest, as JSON.
    pub manifest: String,
}

impl Found {
    pub fn manifest(&self) -> Result<Manifest, CoreError> {
        Manifest::parse(self.manifest.as_bytes()).map_err(|e| {
            CoreError::internal(format!("the stored manifest of {KEY} is unreadable: {e}"))
        })
    }
}

/// The update staged, or being staged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StagedRecord {
    pub found: Found,
    pub version: String,
    pub dir: PathBuf,
    pub complete: bool,
}

/// An installed update: what `pending.rollback` puts back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstalledRecord {
    pub version: String,
    pub from_version: String,
    /// Set when its install changed the store's schema: no rollback then.
    pub schema_version: Option<u64>,
    /// Whether `<exe>.previous` holds `from_version`: false once rolled back to this one.
    #[serde(default)]
    pub can_roll_back: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateRecord {
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub latest_query_time: Option<OffsetDateTime>,
    #[serde(default)]
    pub last_check: Vec<Found>,
    pub staged: Option<StagedRecord>,
    /// The running or last stage task.
    pub task: Option<String>,
    pub failure: Option<String>,
    /// The last update installed, while it can be rolled back.
    #[serde(default)]
    pub installed: Option<InstalledRecord>,
    /// Why the last install failed (`INSTALL_FAILED`); cleared when another starts.
    #[serde(default)]
    pub install_failure: Option<String>,
    /// The last scheduled check (the schedule's anchor).
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub last_scheduled_check: Option<OffsetDateTime>,
}

/// What the core keeps in memory: the stage running and the lock that serialises writes of
/// the record.
#[derive(Default)]
pub struct UpdateState {
    pub(crate) writes: tokio::sync::Mutex<()>,
    /// The id of the stage task running, if any.
    pub(crate) staging: parking_lot::Mutex<Option<String>>,
    /// The install or rollback running, if any.
    pub(crate) installing: parking_lot::Mutex<Option<super::install::Installing>>,
    /// The process was asked to restart into an update: the install is no longer this
    /// process's to end.
    pub(crate) restarting: std::sync::atomic::AtomicBool,
}

impl Core {
    pub(crate) async fn read_update_record(&self) -> Result<UpdateRecord, CoreError> {
        match self.store.get_setting(KEY).await? {
            None => Ok(UpdateRecord::default()),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                CoreError::internal(format!("the stored setting {KEY} is unreadable: {e}"))
            }),
        }
    }

    /// Reads, changes and writes the record under the writes lock.
    pub(crate) async fn change_update_record<T>(
        &self,
        change: impl FnOnce(&mut UpdateRecord) -> T,
    ) -> Result<T, CoreError> {
        let _l = self.update.writes.lock().await;
        let mut r = self.read_update_record().await?;
        let out = change(&mut r);
        let text = serde_json::to_string(&r)
            .map_err(|e| CoreError::internal(format!("{KEY} could not be written: {e}")))?;
        self.store.put_setting(KEY, &text).await?;
        Ok(out)
    }
}
