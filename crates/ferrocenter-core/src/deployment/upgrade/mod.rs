//! Upgrade stage 2 (`deployment.upgrade`, seeds/003 chapter 5): a new server started awaiting
//! its setup takes over a running one — the source — on another machine or version. The
//! source is reached over HTTPS with its certificate pinned (`ports::UpgradeSources`), as its
//! SSO administrator. docs/deployment-upgrade.md describes the whole move and what is done.
//!
//! - `spec`: the upgrade spec, every problem named by its field;
//! - `check`: `upgrade.check`, which changes nothing: the spec, the source reached and
//!   logged in to, its state and version against this build's;
//! - `source`: what a server says of itself when it is the source of an upgrade
//!   (`com.ferrocenter.deployment.export.source`);
//! - `export`: the export a source writes for its target, as a job the target polls
//!   (`com.ferrocenter.deployment.export`).
pub mod check;
pub mod export;
mod record;
pub mod source;
pub mod spec;
pub mod start;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use crate::auth::Caller;
use crate::deployment::Operation;
use crate::ports::{NoUpgradeSources, UpgradeSources};
use crate::{Core, CoreError};

pub use check::{DataMigration, MigrationEstimate, SourceInfo, UpgradeCheck};
pub use export::{
    ExportConfig, ExportCreated, ExportDownload, ExportReader, ExportState, UpgradeExport,
};
pub use spec::{DataSet, History, UpgradeSpec};

/// What the upgrade needs beyond the deployment's record.
#[derive(Default)]
pub(crate) struct UpgradeState {
    sources: OnceLock<Arc<dyn UpgradeSources>>,
    /// Exports made while this server is a source, by id.
    exports: Mutex<HashMap<String, export::ExportEntry>>,
    /// Exports wait before writing while this is set (tests only: a RUNNING export to act on).
    #[cfg(feature = "test-support")]
    hold_exports: std::sync::atomic::AtomicBool,
}

impl Core {
    /// Plugs in the HTTPS client that reaches upgrade sources.
    pub fn set_upgrade_sources(&self, sources: Arc<dyn UpgradeSources>) {
        let _ = self.deployment.upgrade.sources.set(sources);
    }

    pub(crate) fn upgrade_sources(&self) -> Arc<dyn UpgradeSources> {
        self.deployment
            .upgrade
            .sources
            .get()
            .cloned()
            .unwrap_or_else(|| Arc::new(NoUpgradeSources))
    }

    /// `upgrade.get`: the spec of the upgrade that ran or runs, its passwords withheld.
    pub async fn upgrade_get(&self, caller: &Caller) -> Result<UpgradeSpec, CoreError> {
        let d = self.deployment_get(caller).await?;
        let spec = match d.operation {
            Some(Operation::Upgrade) => record::load_spec(self).await?,
            _ => None,
        };
        spec.ok_or_else(|| {
            CoreError::invalid_state(format!(
                "no upgrade has run: the deployment is {}",
                d.state.as_str()
            ))
        })
    }
}
