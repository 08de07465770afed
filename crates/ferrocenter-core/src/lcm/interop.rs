//! Interoperability reports (`lcm.discovery.interop_report.create$task`): every associated
//! product against a target ferrocenter version through the catalog's matrix, as a task whose
//! result is the report and the id of its CSV form (kept by `reports`).
use serde::{Deserialize, Serialize};
use tracing::info;

use super::catalog::{self, catalog, Interop};
use super::products::{product_id, version_form, AssociatedProduct};
use super::reports::csv_line;
use crate::auth::{Caller, Privilege};
use crate::tasks::{Task, TaskContext, TaskKind, TaskResult, TaskSpec};
use crate::{Core, CoreError};

/// A release a product works with (`interop_report.release_info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseInfo {
    pub version: String,
    pub note: Option<String>,
}

/// One product against the target (`interop_report.report_row`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRow {
    pub product: AssociatedProduct,
    pub compatible: bool,
    pub compatible_releases: Vec<ReleaseInfo>,
}

/// A finding while the report was made (`lcm.notification`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issue {
    pub id: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issues {
    pub info: Vec<Issue>,
    pub warnings: Vec<Issue>,
    pub errors: Vec<Issue>,
}

/// `interop_report.report`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InteropReport {
    pub date_created_ms: i64,
    pub target_product: AssociatedProduct,
    pub products: Vec<ReportRow>,
    pub issues: Issues,
    pub compatible_count: u64,
    pub incompatible_count: u64,
}

/// `interop_report.result`: the report and the id of its CSV form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InteropOutcome {
    pub report: InteropReport,
    pub csv_report: Option<String>,
}

/// The CSV's header; one line per associated product follows.
pub const CSV_COLUMNS: [&str; 9] = [
    "product",
    "version",
    "installed_product",
    "auto",
    "deployments",
    "target_product",
    "target_version",
    "compatible",
    "compatible_releases",
];

/// The report of `products` against ferrocenter `target`, made at `now_ms`.
pub fn build(target: &str, products: Vec<AssociatedProduct>, now_ms: i64) -> InteropReport {
    let c = catalog();
    let matrix: Option<&Interop> = c.interop(target);
    let mut issues = Issues::default();
    if matrix.is_none() {
        issues.errors.push(Issue {
            id: "com.ferrocenter.lcm.interop.no_matrix".into(),
            message: format!(
                "The product catalog has no interoperability matrix for ferrocenter {target} (it has one for {}): no product is known to work with it.",
                c.interop
                    .iter()
                    .map(|i| i.ferrocenter.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let server = c.product(catalog::SERVER_PRODUCT);
    let target_product = AssociatedProduct {
        installed_product: product_id(
            server.map_or("io.ferrocenter.server", |p| p.id.as_str()),
            catalog::SERVER_VERSION,
        ),
        name: catalog::SERVER_PRODUCT.into(),
        version: catalog::SERVER_VERSION.into(),
        target_version: Some(target.to_string()),
        deployments: Vec::new(),
        auto: true,
    };
    let mut rows = Vec::new();
    for p in products {
        let lines: &[String] = matrix
            .and_then(|m| m.compatible.get(&p.name))
            .map_or(&[], Vec::as_slice);
        let compatible = lines.iter().any(|l| catalog::in_line(&p.version, l));
        if matrix.is_some() && !compatible {
            issues.warnings.push(Issue {
                id: "com.ferrocenter.lcm.interop.incompatible".into(),
                message: format!(
                    "{} {} ({}) is not known to work with ferrocenter {target}{}.",
                    p.name,
                    p.version,
                    p.installed_product,
                    if lines.is_empty() {
                        String::new()
                    } else {
                        format!("; it works with {}", lines.join(", "))
                    }
                ),
            });
        }
        let note = matrix.and_then(|m| m.notes.get(&p.name)).cloned();
        rows.push(ReportRow {
            compatible_releases: lines
                .iter()
                .map(|l| ReleaseInfo {
                    version: l.clone(),
                    note: note.clone(),
                })
                .collect(),
            product: p,
            compatible,
        });
    }
    if rows.is_empty() {
        issues.info.push(Issue {
            id: "com.ferrocenter.lcm.interop.no_products".into(),
            message: "No product is associated with this server: no host has reported its versions and none was added by hand.".into(),
        });
    }
    let compatible_count = rows.iter().filter(|r| r.compatible).count() as u64;
    InteropReport {
        date_created_ms: now_ms,
        target_product,
        incompatible_count: rows.len() as u64 - compatible_count,
        products: rows,
        issues,
        compatible_count,
    }
}

/// The report as CSV: [`CSV_COLUMNS`], then one line per product; deployments and releases
/// are `;`-separated within their field.
pub fn csv(r: &InteropReport) -> String {
    let mut out = csv_line(&CSV_COLUMNS);
    for row in &r.products {
        let p = &row.product;
        out.push_str(&csv_line(&[
            p.name.clone(),
            p.version.clone(),
            p.installed_product.clone(),
            p.auto.to_string(),
            p.deployments.join(";"),
            r.target_product.name.clone(),
            r.target_product.target_version.clone().unwrap_or_default(),
            row.compatible.to_string(),
            row.compatible_releases
                .iter()
                .map(|c| c.version.as_str())
                .collect::<Vec<_>>()
                .join(";"),
        ]));
    }
    out
}

impl Core {
    /// `interop_report.create$task`: the associated products as they are now against
    /// `target_version` (this server's version when unset).
    pub async fn lcm_interop_report_create(
        &self,
        caller: &Caller,
        target_version: Option<String>,
    ) -> Result<Task, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let target = target_version.unwrap_or_else(|| catalog::SERVER_VERSION.to_string());
        version_form("spec.target_version", &target)?;
        let core = self.self_arc();
        let task = self
            .tasks
            .submit(
                TaskSpec {
                    kind: TaskKind::LcmInteropReport,
                    target: None,
                    initiator: caller.user.clone(),
                    description: format!("Interoperability report against ferrocenter {target}"),
                    cancelable: false,
                    timeout: None,
                },
                move |ctx| async move { core.run_interop_report(&ctx, &target).await },
            )
            .await?;
        Ok(task)
    }

    async fn run_interop_report(
        &self,
        ctx: &TaskContext,
        target: &str,
    ) -> Result<TaskResult, CoreError> {
        ctx.progress(10, "Reading the associated products").await;
        let products = self.lcm_all_products().await?;
        ctx.progress(50, "Comparing with the interoperability matrix")
            .await;
        let report = build(target, products, crate::to_millis(self.clock.now()));
        let id = format!("{}_interop_report.csv", ctx.id().replace(['-', ':'], ""));
        self.lcm_keep_report(&id, csv(&report)).await?;
        ctx.progress(100, "Report ready").await;
        info!(report = %id, target, "interoperability report made");
        Ok(TaskResult::LcmInteropReport {
            interop_report: Box::new(InteropOutcome {
                report,
                csv_report: Some(id),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(name: &str, version: &str, auto: bool) -> AssociatedProduct {
        AssociatedProduct {
            installed_product: format!("x-{version}"),
            name: name.into(),
            version: version.into(),
            target_version: None,
            deployments: vec!["h1".into(), "h2".into()],
            auto,
        }
    }

    #[test]
    fn the_matrix_decides_and_the_csv_says_so() {
        let r = build(
            catalog::SERVER_VERSION,
            vec![
                product("libvirt", "9.0.0", true),
                product("libvirt", "8.0.0", false),
            ],
            0,
        );
        assert_eq!((r.compatible_count, r.incompatible_count), (1, 1));
        assert!(r.products[0].compatible);
        assert!(!r.products[1].compatible);
        assert_eq!(r.issues.warnings.len(), 1);
        let text = csv(&r);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert_eq!(
            lines[1],
            format!(
                "libvirt,9.0.0,x-9.0.0,true,h1;h2,ferrocenter server,{},true,9;10;11",
                catalog::SERVER_VERSION
            )
        );
        assert!(lines[2].contains(",false,"), "{}", lines[2]);
        let unknown = build("6.7.0.2000", vec![product("libvirt", "9.0.0", true)], 0);
        assert_eq!(unknown.incompatible_count, 1);
        assert_eq!(unknown.issues.errors.len(), 1);
    }
}
