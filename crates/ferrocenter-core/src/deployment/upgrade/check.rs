//! `upgrade.check`: reads the spec, reaches the source with its certificate pinned, logs in as
//! its SSO administrator, and checks that it can be taken over by this build. Changes nothing,
//! here or on the source.
use std::cmp::Ordering;

use serde_json::Value;

use crate::auth::{Caller, Privilege};
use crate::deployment::spec_problems::{field_error, Problem};
use crate::deployment::{notification, ApplianceState, Notifications};
use crate::ports::{SourceAbout, SourceAddress, SourceData, SourceSession, UpgradeSourceError};
use crate::recovery::manifest;
use crate::version::compare_versions;
use crate::{Core, CoreError};

use super::spec::UpgradeSpec;

/// `deployment.source_info`, as ferrocenter fills it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    pub hostname: String,
    pub version: String,
    /// `appliance_size` by the hosts it manages (vCenter's sizes: tiny up to 10 hosts, small
    /// 100, medium 400, large 1,000, xlarge beyond).
    pub deployment_size: &'static str,
    pub sso_domain_name: String,
    /// `data_migration_info`: `None` for a source that does not report its sizes.
    pub migration: Option<DataMigration>,
    pub about: SourceAbout,
}

/// `deployment.data_migration_estimate`: seconds to export (and download) and to import a
/// data set, and the bytes its export may take on the source (the archive before
/// compression: an upper bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationEstimate {
    pub export_seconds: u64,
    pub import_seconds: u64,
    pub source_bytes: u64,
}

/// `deployment.data_migration_info`, per history choice; `…_with_deferred` count only what
/// comes before the server serves (the history is imported afterwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataMigration {
    pub core: MigrationEstimate,
    pub core_events_tasks: MigrationEstimate,
    pub all: MigrationEstimate,
    pub core_events_tasks_with_deferred: MigrationEstimate,
    pub all_with_deferred: MigrationEstimate,
}

/// Archive bytes (before compression) per second that a source exports and a target
/// downloads, and that a target imports: the upgrade benchmark's 10,000-host move on two
/// cores (docs/performance.md), rounded down.
const EXPORT_BYTES_PER_SECOND: u64 = 16 << 20;
const IMPORT_BYTES_PER_SECOND: u64 = 12 << 20;

fn seconds(bytes: u64, per_second: u64) -> u64 {
    bytes.div_ceil(per_second).max(1)
}

/// The estimates for a source's data; `None` when it reports none (an older source).
pub(crate) fn migration_for(d: &SourceData) -> Option<DataMigration> {
    if d.core_bytes == 0 {
        return None;
    }
    let estimate = |exported: u64, imported_first: u64| MigrationEstimate {
        export_seconds: seconds(exported, EXPORT_BYTES_PER_SECOND),
        import_seconds: seconds(imported_first, IMPORT_BYTES_PER_SECOND),
        source_bytes: exported,
    };
    let events_tasks = d.core_bytes + d.events_tasks_bytes;
    let all = events_tasks + d.statistics_bytes;
    Some(DataMigration {
        core: estimate(d.core_bytes, d.core_bytes),
        core_events_tasks: estimate(events_tasks, events_tasks),
        all: estimate(all, all),
        core_events_tasks_with_deferred: estimate(events_tasks, d.core_bytes),
        all_with_deferred: estimate(all, d.core_bytes),
    })
}

/// `deployment.check_info` of an upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeCheck {
    pub ok: bool,
    pub result: Notifications,
    /// Set once the source was reached and read.
    pub source: Option<SourceInfo>,
}

pub(crate) fn size_for(hosts: u64) -> &'static str {
    match hosts {
        0..=10 => "TINY",
        11..=100 => "SMALL",
        101..=400 => "MEDIUM",
        401..=1000 => "LARGE",
        _ => "XLARGE",
    }
}

/// A source that could not be used, as the problem of the spec field it is about.
pub(crate) fn source_problem(spec: &UpgradeSpec, e: &UpgradeSourceError) -> Problem {
    let (field, reason) = match e {
        UpgradeSourceError::Unreachable(why) => (
            "source_appliance.hostname",
            format!(
                "the source {}:{} cannot be reached: {why}",
                spec.hostname, spec.https_port
            ),
        ),
        UpgradeSourceError::Thumbprint { seen } => (
            "source_appliance.ssl_thumbprint",
            format!(
                "the source {}:{} presented a certificate whose SHA-256 thumbprint is {}, not \
                 {}: check that it is the server meant, then give its thumbprint",
                spec.hostname,
                spec.https_port,
                seen.as_deref().unwrap_or("(unread)"),
                spec.ssl_thumbprint
            ),
        ),
        UpgradeSourceError::Login(why) => (
            "source_appliance.sso_admin_password",
            format!(
                "the source refused the login of {}: {why}",
                spec.sso_admin_username
            ),
        ),
        UpgradeSourceError::Refused(why) => (
            "source_appliance",
            format!("the source refused the upgrade's call: {why}"),
        ),
    };
    Problem {
        field: field.to_string(),
        reason,
    }
}

/// Whether this build can take over a source that says `about` of itself.
pub(crate) fn about_problems(about: &SourceAbout, here_schema: i64) -> Vec<Problem> {
    let mut out = vec![];
    let here = manifest::this_version();
    if about.state != ApplianceState::Configured.as_str() {
        out.push(Problem {
            field: "source_appliance".into(),
            reason: format!(
                "the source's deployment is {}: only a CONFIGURED server can be upgraded",
                about.state
            ),
        });
    }
    if compare_versions(&about.version, here) == Ordering::Greater {
        out.push(Problem {
            field: "source_appliance".into(),
            reason: format!(
                "the source runs ferrocenter {}, newer than this ferrocenter {here}: upgrade \
                 to a build at least as new",
                about.version
            ),
        });
    } else if about.schema_version != here_schema {
        out.push(Problem {
            field: "source_appliance".into(),
            reason: format!(
                "the source's store is at schema version {}, this ferrocenter's at {here_schema}: \
                 moving a store between schema versions is not supported yet; upgrade the \
                 source in place to {here} first",
                about.schema_version
            ),
        });
    }
    out
}

impl Core {
    /// Connects to and logs in on the spec's source.
    pub(crate) async fn open_source(
        &self,
        spec: &UpgradeSpec,
    ) -> Result<Box<dyn SourceSession>, UpgradeSourceError> {
        self.upgrade_sources()
            .open(
                &SourceAddress {
                    hostname: spec.hostname.clone(),
                    port: spec.https_port,
                    thumbprint: spec.ssl_thumbprint.clone(),
                },
                &spec.sso_admin_username,
                &spec.sso_admin_password,
            )
            .await
    }

    /// `upgrade.check`: every problem of the spec and of the source as an error naming its
    /// field, and what the source is. Changes nothing.
    pub async fn upgrade_check(
        &self,
        caller: &Caller,
        spec: &Value,
    ) -> Result<UpgradeCheck, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        self.require_awaiting_setup()?;
        let now = self.clock.now();
        let mut result = Notifications::default();
        let fail = |problems: Vec<Problem>, mut result: Notifications| {
            result
                .errors
                .extend(problems.iter().map(|p| field_error("upgrade", p, now)));
            UpgradeCheck {
                ok: false,
                result,
                source: None,
            }
        };
        let spec = match UpgradeSpec::parse(spec) {
            Ok(s) => s,
            Err(problems) => return Ok(fail(problems, result)),
        };
        let session = match self.open_source(&spec).await {
            Ok(s) => s,
            Err(e) => return Ok(fail(vec![source_problem(&spec, &e)], result)),
        };
        let about = match session.about().await {
            Ok(a) => a,
            Err(e) => return Ok(fail(vec![source_problem(&spec, &e)], result)),
        };
        let problems = about_problems(&about, self.store.schema_version().await?);
        result.info.push(notification(
            "com.ferrocenter.deployment.upgrade.source",
            format!(
                "The source {} (server {}) runs ferrocenter {} with the SSO domain {}; it \
                 manages {} hosts and {} VMs, which the upgrade moves to this server.",
                spec.hostname,
                about.server_uuid,
                about.version,
                about.sso_domain_name,
                about.hosts,
                about.vms
            ),
            now,
        ));
        if spec.history.is_none() {
            result.add_warning(
                "com.ferrocenter.deployment.upgrade.no_history",
                "The spec names no history: the source's tasks, events and statistics stay \
                 behind.",
                now,
            );
        }
        let source = SourceInfo {
            hostname: spec.hostname.clone(),
            version: about.version.clone(),
            deployment_size: size_for(about.hosts),
            sso_domain_name: about.sso_domain_name.clone(),
            migration: migration_for(&about.data),
            about,
        };
        let mut check = fail(problems, result);
        check.ok = check.result.errors.is_empty();
        check.source = Some(source);
        Ok(check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_count_what_each_choice_moves_and_when() {
        assert_eq!(migration_for(&SourceData::default()), None);
        let m = migration_for(&SourceData {
            core_bytes: 120 << 20,
            events_tasks_bytes: 48 << 20,
            statistics_bytes: 24 << 20,
        })
        .unwrap();
        assert_eq!(m.core.source_bytes, 120 << 20);
        assert_eq!(m.all.source_bytes, 192 << 20);
        assert_eq!((m.core.export_seconds, m.core.import_seconds), (8, 10));
        assert_eq!((m.all.export_seconds, m.all.import_seconds), (12, 16));
        assert_eq!(m.core_events_tasks.import_seconds, 14);
        // Deferred: everything is exported, only the core is imported before serving.
        assert_eq!(m.all_with_deferred.export_seconds, 12);
        assert_eq!(m.all_with_deferred.import_seconds, 10);
        assert_eq!(m.core_events_tasks_with_deferred.source_bytes, 168 << 20);
    }

    #[test]
    fn sizes_follow_host_counts() {
        assert_eq!(size_for(0), "TINY");
        assert_eq!(size_for(101), "MEDIUM");
        assert_eq!(size_for(10_000), "XLARGE");
    }
}
