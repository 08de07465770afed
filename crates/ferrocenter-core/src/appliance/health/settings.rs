//! The health check settings (`appliance.health_check_settings`): whether the database's health
//! is checked before a manual and before a scheduled backup. Kept in the store as one setting,
//! so an update is one write: it is applied whole or not at all.
//!
//! Nothing reads them yet: ferrocenter has no backup service (a later part of issue 19); the
//! backups will read them when they exist.
use serde::{Deserialize, Serialize};

use crate::auth::{Caller, Privilege};
use crate::{Core, CoreError};

const KEY: &str = "appliance.health_check_settings";

/// Both settings; off until an administrator turns them on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthCheckSettings {
    pub db_health_check_state_manual_backup: bool,
    pub db_health_check_state_scheduled_backup: bool,
}

/// A change: an unset field keeps its value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HealthCheckSettingsUpdate {
    pub db_health_check_state_manual_backup: Option<bool>,
    pub db_health_check_state_scheduled_backup: Option<bool>,
}

impl Core {
    async fn read_health_check_settings(&self) -> Result<HealthCheckSettings, CoreError> {
        match self.store.get_setting(KEY).await? {
            None => Ok(HealthCheckSettings::default()),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                CoreError::internal(format!("the stored setting {KEY} is unreadable: {e}"))
            }),
        }
    }

    pub async fn health_check_settings(
        &self,
        caller: &Caller,
    ) -> Result<HealthCheckSettings, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        self.read_health_check_settings().await
    }

    /// Changes the fields set in `update`. Changes are serialised, so two updates of different
    /// fields both stay.
    pub async fn update_health_check_settings(
        &self,
        caller: &Caller,
        update: HealthCheckSettingsUpdate,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let _one_at_a_time = self.health.settings.lock().await;
        let mut s = self.read_health_check_settings().await?;
        if let Some(v) = update.db_health_check_state_manual_backup {
            s.db_health_check_state_manual_backup = v;
        }
        if let Some(v) = update.db_health_check_state_scheduled_backup {
            s.db_health_check_state_scheduled_backup = v;
        }
        let text = serde_json::to_string(&s)
            .map_err(|e| CoreError::internal(format!("{KEY} could not be written: {e}")))?;
        self.store.put_setting(KEY, &text).await?;
        Ok(())
    }
}
