//! What a host carries beyond its connection and state: custom field values (vim
//! setCustomValue / SetCustomValue), host flags (UpdateFlags) and whether alarm actions run.
use crate::auth::{Caller, Privilege};
use crate::inventory::CustomField;
use crate::{Core, CoreError};

/// The host value name under which a custom field's value is kept.
pub fn field_value_name(key: i64) -> String {
    format!("field:{key}")
}

pub const FLAG_BACKGROUND_SNAPSHOTS: &str = "flag:backgroundSnapshotsEnabled";
pub const ALARM_ACTIONS_ENABLED: &str = "alarmActionsEnabled";

impl Core {
    /// Sets a host's value of the custom field `name`, defining the field (for HostSystem) on
    /// first use, as vCenter's setCustomValue does.
    pub async fn set_host_custom_value(
        &self,
        caller: &Caller,
        host_id: &str,
        name: &str,
        value: &str,
    ) -> Result<CustomField, CoreError> {
        self.auth
            .authorize(caller, Privilege::GlobalSetCustomField)?;
        if name.trim().is_empty() || name.chars().count() > 128 {
            return Err(CoreError::invalid("key", "must be 1 to 128 characters"));
        }
        let host = self.host(host_id).await?;
        let key = self.store.next_sequence("custom_field").await?;
        let field = self
            .store
            .ensure_custom_field(name, "HostSystem", key)
            .await?;
        if !field.mo_type.is_empty() && field.mo_type != "HostSystem" {
            return Err(CoreError::invalid(
                "key",
                format!(
                    "the field {name} applies to {}, not HostSystem",
                    field.mo_type
                ),
            ));
        }
        self.store
            .set_host_value(&host.id, &field_value_name(field.key), value)
            .await?;
        Ok(field)
    }

    /// Sets a host's value of an existing custom field by key (CustomFieldsManager.SetField).
    pub async fn set_host_field_by_key(
        &self,
        caller: &Caller,
        host_id: &str,
        key: i64,
        value: &str,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::GlobalSetCustomField)?;
        let host = self.host(host_id).await?;
        let known = self.store.list_custom_fields().await?;
        if !known.iter().any(|f| f.key == key) {
            return Err(CoreError::invalid(
                "key",
                format!("no custom field has key {key}"),
            ));
        }
        self.store
            .set_host_value(&host.id, &field_value_name(key), value)
            .await?;
        Ok(())
    }

    /// UpdateFlags: the host flags the server keeps (backgroundSnapshotsEnabled).
    pub async fn set_host_flags(
        &self,
        caller: &Caller,
        host_id: &str,
        background_snapshots: Option<bool>,
    ) -> Result<(), CoreError> {
        self.auth.authorize(caller, Privilege::HostConfigSettings)?;
        let host = self.host(host_id).await?;
        if let Some(b) = background_snapshots {
            self.store
                .set_host_value(&host.id, FLAG_BACKGROUND_SNAPSHOTS, &b.to_string())
                .await?;
        }
        Ok(())
    }

    /// Whether alarm actions run for the host (vim alarmActionsEnabled; default true).
    pub async fn set_host_alarm_actions(
        &self,
        caller: &Caller,
        host_id: &str,
        enabled: bool,
    ) -> Result<(), CoreError> {
        self.auth.authorize(caller, Privilege::AlarmToggle)?;
        let host = self.host(host_id).await?;
        self.store
            .set_host_value(&host.id, ALARM_ACTIONS_ENABLED, &enabled.to_string())
            .await?;
        Ok(())
    }
}
