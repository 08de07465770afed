//! Global FIPS compliance (`com.vmware.appliance.system.security.global_fips`): whether the
//! server's TLS runs on a FIPS-validated cryptographic module.
//!
//! The setting persists in the store; the server reads it with [`stored`] before it builds any
//! TLS configuration, and the process-wide provider follows it (`ferrocenter-tls`). A provider
//! cannot change under live listeners, so a change is applied the way the seed's appliance
//! applies it, by a reboot: here the ferrocenter process restarts itself once the answer is
//! sent (`ports::Lifecycle`). Setting the value already stored changes nothing and restarts
//! nothing.
use tracing::{error, info, warn};

use crate::auth::{Caller, Privilege};
use crate::ports::{ProcessAction, Store};
use crate::{Core, CoreError};

/// The store setting that holds `true` or `false`.
pub const KEY: &str = "appliance.global_fips.enabled";

/// The event a change records.
pub const CHANGED_EVENT: &str = "com.ferrocenter.appliance.global_fips.changed";

/// What `get` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalFips {
    pub enabled: bool,
}

/// The stored setting (off when never set); what the server reads at start, before the core
/// exists, to choose its TLS provider.
pub async fn stored(store: &dyn Store) -> Result<bool, CoreError> {
    match store.get_setting(KEY).await?.as_deref() {
        None => Ok(false),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(CoreError::internal(format!(
            "the stored setting {KEY} is not true or false: {other:?}"
        ))),
    }
}

impl Core {
    /// Whether global FIPS is enabled (the stored setting, which the running process follows
    /// from its start).
    pub async fn global_fips_get(&self, caller: &Caller) -> Result<GlobalFips, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(GlobalFips {
            enabled: stored(self.store.as_ref()).await?,
        })
    }

    /// Enables or disables global FIPS; `None` leaves it. A new value is stored, recorded as an
    /// event, and applied by restarting the server process after this call returns.
    pub async fn global_fips_update(
        &self,
        caller: &Caller,
        enabled: Option<bool>,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let Some(enabled) = enabled else {
            return Ok(());
        };
        if stored(self.store.as_ref()).await? == enabled {
            return Ok(());
        }
        self.store.put_setting(KEY, &enabled.to_string()).await?;
        let state = if enabled { "enabled" } else { "disabled" };
        self.record_event(
            CHANGED_EVENT,
            "appliance",
            "global_fips",
            "global FIPS",
            &caller.user,
            format!("Global FIPS compliance {state}; the server restarts to apply it"),
            serde_json::json!({ "enabled": enabled }),
        )
        .await;
        warn!(
            enabled,
            by = %caller.user,
            "global FIPS {state}: the ferrocenter process restarts to apply it"
        );
        let core = self.self_arc();
        // Spawned so the caller's answer goes out first; the process stop drains it.
        tokio::spawn(async move {
            match core.machine.lifecycle.process(ProcessAction::Restart).await {
                Ok(()) => info!("restart for global FIPS requested"),
                Err(e) => error!(
                    error = %e,
                    "global FIPS: the server could not restart itself; restart it to apply the change"
                ),
            }
        });
        Ok(())
    }
}
