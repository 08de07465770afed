//! Pending updates and pre-update reports (`lcm.update.pending`,
//! `lcm.update.precheck_report.create$task`): the appliance update service's last check as the
//! planning API shows it, and a report joining that service's precheck of one version with the
//! associated products' interoperability with it (`interop::build`), kept as CSV by `reports`.
//! The update service stays the one owner of checks and manifests; this module only reads it.
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tracing::info;

use super::interop::{self, Issue, ReportRow};
use super::reports::csv_line;
use crate::auth::{Caller, Privilege};
use crate::deployment::{notification, Notification, Notifications};
use crate::download_token::RequestOrigin;
use crate::tasks::{Task, TaskContext, TaskKind, TaskResult, TaskSpec};
use crate::update::{Manifest, SourceType};
use crate::{Core, CoreError};

/// Where `execute_URL` points: the appliance update service's resource of the version, on the
/// listener and address the request came in on (both listeners serve it).
pub const EXECUTE_PATH: &str = "/api/appliance/update/pending/";

/// The download rate the time estimate assumes for an update not staged yet.
const ASSUMED_BYTES_PER_SEC: u64 = 10 << 20;

/// `pending.update_type`: how far the release is from the running version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseType {
    Patch,
    Update,
    Upgrade,
}

impl ReleaseType {
    /// A different first number is an upgrade, a different second one an update, anything
    /// else a patch (`0.1.0` → `0.1.1` PATCH, → `0.2.0` UPDATE, → `1.0.0` UPGRADE).
    pub fn between(running: &str, target: &str) -> ReleaseType {
        let part = |v: &str, i: usize| v.split(['.', '-', '+']).nth(i).unwrap_or("0").to_string();
        if part(running, 0) != part(target, 0) {
            ReleaseType::Upgrade
        } else if part(running, 1) != part(target, 1) {
            ReleaseType::Update
        } else {
            ReleaseType::Patch
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseType::Patch => "PATCH",
            ReleaseType::Update => "UPDATE",
            ReleaseType::Upgrade => "UPGRADE",
        }
    }
}

/// One pending update (`pending.summary`, and `pending.info` with the manifest's description).
#[derive(Debug, Clone)]
pub struct PendingUpdate {
    /// The signed manifest: version, build, release date, severity, category
    /// (`update_type`), reboot, description.
    pub manifest: Manifest,
    pub release_type: ReleaseType,
    pub execute_url: String,
    /// The manifest's knowledge-base link, if it has one.
    pub release_notes: Vec<String>,
}

/// `pending.list_result`.
#[derive(Debug, Clone)]
pub struct PendingList {
    pub last_check_time: OffsetDateTime,
    /// PATCH and UPDATE releases.
    pub update_count: u64,
    /// UPGRADE releases.
    pub upgrade_count: u64,
    pub updates: Vec<PendingUpdate>,
    pub issues: Notifications,
}

/// `precheck_report.report`, with the product rows its CSV lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrecheckReport {
    pub date_created_ms: i64,
    pub target_version: String,
    /// Rough minutes to update; none when the report has errors.
    pub estimated_minutes: Option<u64>,
    pub issues: Notifications,
    pub products: Vec<ReportRow>,
    /// Whether the target's interoperability matrix is in the catalog.
    pub matrix_known: bool,
}

/// `precheck_report.result`: the report and the id of its CSV form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrecheckOutcome {
    pub report: PrecheckReport,
    pub csv_report: Option<String>,
}

/// The CSV's header: issue lines first (`section` `issue`), then one line per associated
/// product (`section` `product`).
pub const CSV_COLUMNS: [&str; 11] = [
    "section",
    "severity",
    "id",
    "message",
    "product",
    "version",
    "installed_product",
    "deployments",
    "target_version",
    "compatibility",
    "compatible_releases",
];

/// The report as CSV: [`CSV_COLUMNS`], every issue (errors, warnings, info), then every
/// product with `compatible`, `incompatible` or `unknown` (no matrix for the target).
pub fn csv(r: &PrecheckReport) -> String {
    let mut out = csv_line(&CSV_COLUMNS);
    for (severity, list) in [
        ("error", &r.issues.errors),
        ("warning", &r.issues.warnings),
        ("info", &r.issues.info),
    ] {
        for n in list {
            let mut line = vec![
                "issue".to_string(),
                severity.to_string(),
                n.id.clone(),
                n.message.default_message.clone(),
            ];
            line.resize(CSV_COLUMNS.len(), String::new());
            line[8] = r.target_version.clone();
            out.push_str(&csv_line(&line));
        }
    }
    for row in &r.products {
        let p = &row.product;
        let compatibility = match (r.matrix_known, row.compatible) {
            (false, _) => "unknown",
            (true, true) => "compatible",
            (true, false) => "incompatible",
        };
        out.push_str(&csv_line(&[
            "product".to_string(),
            String::new(),
            String::new(),
            String::new(),
            p.name.clone(),
            p.version.clone(),
            p.installed_product.clone(),
            p.deployments.join(";"),
            r.target_version.clone(),
            compatibility.to_string(),
            row.compatible_releases
                .iter()
                .map(|c| c.version.as_str())
                .collect::<Vec<_>>()
                .join(";"),
        ]));
    }
    out
}

/// Minutes an install takes here, roughly: one for the restart and the store's migrations,
/// and the download at [`ASSUMED_BYTES_PER_SEC`] when the update is not staged yet.
pub fn estimated_minutes(package_size: u64, staged: bool) -> u64 {
    let download_secs = if staged {
        0
    } else {
        package_size.div_ceil(ASSUMED_BYTES_PER_SEC)
    };
    1 + download_secs.div_ceil(60)
}

fn shown(m: Manifest, base: &str, running: &str) -> PendingUpdate {
    PendingUpdate {
        release_type: ReleaseType::between(running, &m.version),
        execute_url: format!("{base}{EXECUTE_PATH}{}", m.version),
        release_notes: m.knowledge_base.iter().cloned().collect(),
        manifest: m,
    }
}

fn converted(list: &[Issue], now: OffsetDateTime) -> impl Iterator<Item = Notification> + '_ {
    list.iter()
        .map(move |i| notification(&i.id, i.message.clone(), now))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

impl Core {
    /// `lcm.update.pending.list`: the updates of the appliance update service's last check.
    /// Before any check, the configured sources are checked once (vCenter asks its online
    /// depot on this call); a failed last check is an error of `issues`.
    pub async fn lcm_pending_list(
        &self,
        caller: &Caller,
        origin: &RequestOrigin,
    ) -> Result<PendingList, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let base = origin.base()?;
        let now = self.clock.now();
        let mut issues = Notifications::default();
        let mut record = self.read_update_record().await?;
        let mut checked_now = None;
        if record.latest_query_time.is_none() {
            let has_source = self.config.update.local_source.is_some()
                || self.online_source(None).await?.is_some();
            if has_source {
                checked_now = self
                    .update_pending_list(caller, SourceType::LocalAndOnline, None)
                    .await
                    .err();
                record = self.read_update_record().await?;
            } else {
                issues.add_info(
                    "com.ferrocenter.lcm.update.no_source",
                    "No update source is configured (update_local_source, the update policy's \
                     custom_URL, update_default_url): no update can be found.",
                    now,
                );
            }
        }
        let last_check_time = record.latest_query_time.unwrap_or(now);
        if let Some(failure) = &record.failure {
            issues.errors.push(notification(
                "com.ferrocenter.lcm.update.check_failed",
                format!(
                    "The update check of {} failed: {failure}",
                    rfc3339(last_check_time)
                ),
                now,
            ));
        } else if let Some(e) = checked_now {
            issues.errors.push(notification(
                "com.ferrocenter.lcm.update.check_failed",
                format!("The update check failed: {e}"),
                now,
            ));
        }
        let running = self.running_release().await?;
        let mut updates = Vec::new();
        for f in &record.last_check {
            updates.push(shown(f.manifest()?, &base, &running));
        }
        let upgrade_count = updates
            .iter()
            .filter(|u| u.release_type == ReleaseType::Upgrade)
            .count() as u64;
        Ok(PendingList {
            last_check_time,
            update_count: updates.len() as u64 - upgrade_count,
            upgrade_count,
            updates,
            issues,
        })
    }

    /// `lcm.update.pending.get`: an update of the last check; `not_found` naming the version
    /// otherwise.
    pub async fn lcm_pending_get(
        &self,
        caller: &Caller,
        version: &str,
        origin: &RequestOrigin,
    ) -> Result<PendingUpdate, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let base = origin.base()?;
        let info = self.update_pending_get(caller, version, None).await?;
        Ok(shown(info.manifest, &base, &self.running_release().await?))
    }

    /// `lcm.update.precheck_report.create$task`: a pre-update report of a pending `version`.
    /// The version is looked up before the task starts, so an unknown one is `not_found`.
    pub async fn lcm_precheck_report_create(
        &self,
        caller: &Caller,
        version: &str,
    ) -> Result<Task, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        self.pending_update(version).await?;
        let core = self.self_arc();
        let who = caller.clone();
        let target = version.to_string();
        self.tasks
            .submit(
                TaskSpec {
                    kind: TaskKind::LcmPrecheckReport,
                    target: None,
                    initiator: caller.user.clone(),
                    description: format!("Pre-update report for ferrocenter {version}"),
                    cancelable: false,
                    timeout: None,
                },
                move |ctx| async move { core.run_precheck_report(&ctx, &who, &target).await },
            )
            .await
    }

    async fn run_precheck_report(
        &self,
        ctx: &TaskContext,
        caller: &Caller,
        version: &str,
    ) -> Result<TaskResult, CoreError> {
        ctx.progress(10, "Checking the update against this server")
            .await;
        let info = self.update_pending_get(caller, version, None).await?;
        let pre = self.update_pending_precheck(caller, version, None).await?;
        ctx.progress(
            50,
            "Comparing the associated products with the target version",
        )
        .await;
        let products = self.lcm_all_products().await?;
        let now = self.clock.now();
        let interop = interop::build(version, products, crate::to_millis(now));
        let matrix_known = interop.issues.errors.is_empty();
        let m = &info.manifest;
        let mut issues = pre.issues;
        // A target the catalog has no matrix for is unknown, not incompatible: the catalog is
        // this build's, older than the update; it does not stop the update.
        issues
            .warnings
            .extend(converted(&interop.issues.errors, now));
        issues
            .warnings
            .extend(converted(&interop.issues.warnings, now));
        issues.info.extend(converted(&interop.issues.info, now));
        if m.restart_required {
            issues.add_info(
                "com.ferrocenter.lcm.precheck.restart",
                format!(
                    "Installing {version} restarts the server: the API is unavailable until it \
                     is back, and the hosts reconnect to it."
                ),
                now,
            );
        }
        if !info.staged {
            issues.add_info(
                "com.ferrocenter.lcm.precheck.not_staged",
                format!(
                    "{version} is not staged: staging downloads {} bytes.",
                    m.package.size
                ),
                now,
            );
        }
        let report = PrecheckReport {
            date_created_ms: crate::to_millis(now),
            target_version: version.to_string(),
            estimated_minutes: issues
                .errors
                .is_empty()
                .then(|| estimated_minutes(m.package.size, info.staged)),
            issues,
            products: interop.products,
            matrix_known,
        };
        let id = format!("{}_precheck_report.csv", ctx.id().replace(['-', ':'], ""));
        self.lcm_keep_report(&id, csv(&report)).await?;
        ctx.progress(100, "Report ready").await;
        info!(report = %id, version, "pre-update report made");
        Ok(TaskResult::LcmPrecheckReport {
            precheck_report: Box::new(PrecheckOutcome {
                report,
                csv_report: Some(id),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lcm::interop::ReleaseInfo;
    use crate::lcm::AssociatedProduct;

    #[test]
    fn release_types_follow_the_version_numbers() {
        assert_eq!(ReleaseType::between("0.1.0", "0.1.1"), ReleaseType::Patch);
        assert_eq!(ReleaseType::between("0.1.0", "0.2.0"), ReleaseType::Update);
        assert_eq!(ReleaseType::between("0.1.0", "1.0.0"), ReleaseType::Upgrade);
        assert_eq!(
            ReleaseType::between("1.2.3", "1.2.4-rc1"),
            ReleaseType::Patch
        );
    }

    #[test]
    fn the_estimate_counts_the_download_when_not_staged() {
        assert_eq!(estimated_minutes(0, false), 1);
        assert_eq!(estimated_minutes(600 << 20, true), 1);
        assert_eq!(estimated_minutes(600 << 20, false), 2);
        assert_eq!(estimated_minutes((600 << 20) + 1, false), 3);
    }

    #[test]
    fn the_csv_lists_issues_then_products() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut issues = Notifications::default();
        issues.add_warning("w.1", "take a backup, first", now);
        issues.errors.push(notification("e.1", "no space", now));
        let row = |compatible| ReportRow {
            product: AssociatedProduct {
                installed_product: "org.libvirt-9.0.0".into(),
                name: "libvirt".into(),
                version: "9.0.0".into(),
                target_version: None,
                deployments: vec!["h1".into(), "h2".into()],
                auto: true,
            },
            compatible,
            compatible_releases: vec![ReleaseInfo {
                version: "9".into(),
                note: None,
            }],
        };
        let mut r = PrecheckReport {
            date_created_ms: 0,
            target_version: "0.2.0".into(),
            estimated_minutes: None,
            issues,
            products: vec![row(true)],
            matrix_known: true,
        };
        let text = csv(&r);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert_eq!(lines[1], "issue,error,e.1,no space,,,,,0.2.0,,");
        assert_eq!(
            lines[2],
            "issue,warning,w.1,\"take a backup, first\",,,,,0.2.0,,"
        );
        assert_eq!(
            lines[3],
            "product,,,,libvirt,9.0.0,org.libvirt-9.0.0,h1;h2,0.2.0,compatible,9"
        );
        r.matrix_known = false;
        assert!(csv(&r).contains(",0.2.0,unknown,9\r\n"));
    }
}
