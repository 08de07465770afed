//! Update planning (`com.vmware.vcenter.lcm`, seeds/003 chapter 8): the product catalog
//! (`catalog`, compiled in), the products associated with this server (`products`: discovered
//! from the hosts' facts on every read, or added by hand), interoperability reports
//! (`interop`, a task), the pending updates of the appliance update service's last check and
//! pre-update reports (`pending`, the report a task) and the CSV reports' expiring download
//! URLs (`reports`).
//!
//! Reads need `System.Read`; adding, changing and removing products `Appliance.Administer`.
pub mod catalog;
pub mod interop;
pub mod pending;
pub mod products;
pub mod reports;

use std::time::Duration;

pub use interop::{InteropOutcome, InteropReport};
pub use pending::{PendingList, PendingUpdate, PrecheckOutcome, PrecheckReport, ReleaseType};
pub use products::{AssociatedProduct, CreateSpec, UpdateSpec};
pub use reports::{ReportFile, ReportLocation};

/// Tunables, from the server configuration.
#[derive(Debug, Clone)]
pub struct LcmConfig {
    /// How long a report's download URL works (`lcm_report_url_lifetime_secs`).
    pub report_url_lifetime: Duration,
}

impl Default for LcmConfig {
    fn default() -> Self {
        LcmConfig {
            report_url_lifetime: Duration::from_secs(3600),
        }
    }
}

/// Serialises changes to each settings document.
#[derive(Default)]
pub(crate) struct LcmState {
    pub(crate) products: tokio::sync::Mutex<()>,
    pub(crate) reports: tokio::sync::Mutex<()>,
}
