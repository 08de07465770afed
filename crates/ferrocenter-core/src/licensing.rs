//! Licensing: a capacity in CPU packages; without a license key the server runs in evaluation
//! mode, unlimited for a number of days from the first start.
use std::time::Duration;

use time::OffsetDateTime;

use crate::inventory::HostFacts;
use crate::{from_millis, to_millis, Core, CoreError};

#[derive(Debug, Clone)]
pub struct LicenseConfig {
    /// Licensed CPU packages; None means evaluation mode.
    pub cpu_capacity: Option<u32>,
    pub evaluation: Duration,
}

impl Default for LicenseConfig {
    fn default() -> Self {
        LicenseConfig {
            cpu_capacity: None,
            evaluation: Duration::from_secs(60 * 24 * 3600),
        }
    }
}

const EVALUATION_START: &str = "license.evaluation_start";

/// A host whose facts were never read counts as one package.
/// The CPU packages a host holds licenses for (one until its facts are known).
pub(crate) fn cpu_packages(facts: Option<&HostFacts>) -> u32 {
    facts.map_or(1, |f| f.hardware.cpu_packages)
}

impl Core {
    /// When evaluation mode began: the first check stores it, later ones read it from memory
    /// (it never changes, and every host add asks).
    async fn evaluation_start(&self, now: OffsetDateTime) -> Result<OffsetDateTime, CoreError> {
        self.evaluation_start
            .get_or_try_init(|| async {
                self.store
                    .put_setting_if_absent(EVALUATION_START, &to_millis(now).to_string())
                    .await?;
                Ok::<_, CoreError>(
                    self.store
                        .get_setting(EVALUATION_START)
                        .await?
                        .and_then(|s| s.parse::<i64>().ok())
                        .map(from_millis)
                        .unwrap_or(now),
                )
            })
            .await
            .copied()
    }

    /// Checks that a host with `packages` CPU packages fits, besides the connected hosts other
    /// than `except_host`.
    pub async fn check_licenses(
        &self,
        packages: u32,
        except_host: Option<&str>,
    ) -> Result<(), CoreError> {
        let now = self.clock.now();
        match self.config.licensing.cpu_capacity {
            None => {
                let start = self.evaluation_start(now).await?;
                if now - start > self.config.licensing.evaluation {
                    return Err(CoreError::NotEnoughLicenses {
                        message: "the evaluation period has ended and no license is installed"
                            .into(),
                    });
                }
                Ok(())
            }
            Some(capacity) => {
                // Kept summed by the read model as hosts connect, change and go: an add does
                // not look at every other host.
                let used = self.read_model.connected_cpu_packages(except_host).await?;
                if used + packages > capacity {
                    return Err(CoreError::NotEnoughLicenses {
                        message: format!(
                            "{packages} CPU packages requested, {} of {capacity} licensed packages free",
                            capacity.saturating_sub(used)
                        ),
                    });
                }
                Ok(())
            }
        }
    }
}
