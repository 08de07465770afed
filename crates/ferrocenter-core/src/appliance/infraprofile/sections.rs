//! What each profile holds, how it is read from this server, checked and applied. Every value
//! is checked and applied by the capability that owns it (the firewall's rule compiler, the
//! local accounts' policy, the backup schedules' spec checks, the clusters' automation levels);
//! this module only moves settings between them and the document.
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::document::{SealedSecret, SecretCodec, APPLIANCE, AUTH, INVENTORY};
use super::Notifications;
use crate::appliance::accounts::PolicyInfo;
use crate::appliance::firewall::{CallOrigin, FirewallRule, RuleSet};
use crate::appliance::log_forwarding::{self, ForwardTarget, ForwardTargetSpec};
use crate::auth::Caller;
use crate::inventory::AutomationLevel;
use crate::ports::LocationSecret;
use crate::recovery::schedules::{
    check_spec_offline, day_name, BackupSchedule, RecurrenceSpec, ScheduleSpec,
};
use crate::{Core, CoreError};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplianceProfile {
    /// The inbound firewall rules, in order (replace this server's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall_inbound: Option<Vec<FirewallRule>>,
    /// The backup schedules (this server's become exactly these).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_schedules: Option<Vec<ProfileSchedule>>,
    /// The syslog receivers (`logging.forwarding`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syslog_forwarding: Option<Vec<ProfileSyslogTarget>>,
    /// Global FIPS (`system.security.global_fips`); a change restarts the server, applied last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_fips: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSyslogTarget {
    pub hostname: String,
    pub port: i64,
    /// `TCP`, `UDP`, `TLS` or `RELP`.
    pub protocol: String,
}

impl ProfileSyslogTarget {
    fn spec(&self) -> ForwardTargetSpec {
        ForwardTargetSpec {
            hostname: self.hostname.clone(),
            port: self.port,
            protocol: self.protocol.clone(),
        }
    }

    fn of(t: &ForwardTarget) -> ProfileSyslogTarget {
        ProfileSyslogTarget {
            hostname: t.hostname.clone(),
            port: i64::from(t.port),
            protocol: t.protocol.as_str().to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSchedule {
    pub id: String,
    pub parts: Vec<String>,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_password: Option<SealedSecret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_password: Option<SealedSecret>,
    pub enable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<ProfileRecurrence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileRecurrence {
    pub minute: i64,
    pub hour: i64,
    #[serde(default)]
    pub days: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthProfile {
    /// The local accounts' password policy (`local_accounts.policy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_accounts_policy: Option<ProfilePolicy>,
}

/// `local_accounts.policy.info` less `managed_at_fleet`, which ferrocenter does not support.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilePolicy {
    pub max_days: Option<i64>,
    pub min_days: Option<i64>,
    pub warn_days: Option<i64>,
    pub failed_attempt_count_before_account_lockout: Option<i64>,
    pub length_of_lockout_period_in_seconds: Option<i64>,
    pub fail_interval_between_attempts: Option<i64>,
    pub minimum_length: Option<i64>,
    pub minimum_uppercase_char_count: Option<i64>,
    pub minimum_lowercase_char_count: Option<i64>,
    pub minimum_numerics_char_count: Option<i64>,
    pub minimum_special_char_count: Option<i64>,
}

impl ProfilePolicy {
    fn from_info(p: &PolicyInfo) -> ProfilePolicy {
        ProfilePolicy {
            max_days: p.max_days,
            min_days: p.min_days,
            warn_days: p.warn_days,
            failed_attempt_count_before_account_lockout: p
                .failed_attempt_count_before_account_lockout,
            length_of_lockout_period_in_seconds: p.length_of_lockout_period_in_seconds,
            fail_interval_between_attempts: p.fail_interval_between_attempts,
            minimum_length: p.minimum_length,
            minimum_uppercase_char_count: p.minimum_uppercase_char_count,
            minimum_lowercase_char_count: p.minimum_lowercase_char_count,
            minimum_numerics_char_count: p.minimum_numerics_char_count,
            minimum_special_char_count: p.minimum_special_char_count,
        }
    }

    fn to_info(&self) -> PolicyInfo {
        PolicyInfo {
            max_days: self.max_days,
            min_days: self.min_days,
            warn_days: self.warn_days,
            prior_password_remember_count: None,
            failed_attempt_count_before_account_lockout: self
                .failed_attempt_count_before_account_lockout,
            length_of_lockout_period_in_seconds: self.length_of_lockout_period_in_seconds,
            fail_interval_between_attempts: self.fail_interval_between_attempts,
            minimum_length: self.minimum_length,
            minimum_uppercase_char_count: self.minimum_uppercase_char_count,
            minimum_lowercase_char_count: self.minimum_lowercase_char_count,
            minimum_numerics_char_count: self.minimum_numerics_char_count,
            minimum_special_char_count: self.minimum_special_char_count,
            managed_at_fleet: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryProfile {
    /// Cluster settings, by datacenter and cluster name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<ProfileCluster>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileCluster {
    pub datacenter: String,
    pub name: String,
    /// `manual`, `partiallyAutomated` or `fullyAutomated` (DRS).
    pub automation_level: String,
}

/// A document's profiles, read into their settings.
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    pub appliance: Option<ApplianceProfile>,
    pub auth: Option<AuthProfile>,
    pub inventory: Option<InventoryProfile>,
}

fn read<T: serde::de::DeserializeOwned>(name: &str, v: &Value) -> Result<T, CoreError> {
    serde_json::from_value(v.clone())
        .map_err(|e| CoreError::invalid(format!("spec.config_spec.profiles.{name}"), e.to_string()))
}

fn to_value<T: Serialize>(v: &T) -> Result<Value, CoreError> {
    serde_json::to_value(v).map_err(|e| CoreError::internal(format!("a profile: {e}")))
}

impl Profiles {
    pub fn read(map: &serde_json::Map<String, Value>) -> Result<Profiles, CoreError> {
        let get = |n: &str| map.get(n);
        Ok(Profiles {
            appliance: get(APPLIANCE).map(|v| read(APPLIANCE, v)).transpose()?,
            auth: get(AUTH).map(|v| read(AUTH, v)).transpose()?,
            inventory: get(INVENTORY).map(|v| read(INVENTORY, v)).transpose()?,
        })
    }

    pub fn write(&self) -> Result<serde_json::Map<String, Value>, CoreError> {
        let mut m = serde_json::Map::new();
        if let Some(p) = &self.auth {
            m.insert(AUTH.into(), to_value(p)?);
        }
        if let Some(p) = &self.appliance {
            m.insert(APPLIANCE.into(), to_value(p)?);
        }
        if let Some(p) = &self.inventory {
            m.insert(INVENTORY.into(), to_value(p)?);
        }
        Ok(m)
    }

    /// Whether any setting holds a secret (the export then needs a key).
    pub fn secret_holder(&self) -> Option<String> {
        let schedules = self.appliance.as_ref()?.backup_schedules.as_ref()?;
        schedules
            .iter()
            .find(|s| s.location_password.is_some() || s.backup_password.is_some())
            .map(|s| format!("backup schedule {}", s.id))
    }
}

/// A schedule as the document holds it: the server's sealed passwords opened and sealed again
/// under the document's key.
fn export_schedule(
    core: &Core,
    s: &BackupSchedule,
    codec: Option<&SecretCodec>,
) -> Result<ProfileSchedule, CoreError> {
    let reseal = |sealed: &Option<String>, what: &str| -> Result<Option<SealedSecret>, CoreError> {
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let Some(codec) = codec else {
            return Err(CoreError::invalid(
                "spec.encryption_key",
                format!(
                    "is required: backup schedule {} holds its {what}, which is exported only \
                     encrypted",
                    s.id
                ),
            ));
        };
        codec.seal(&core.secrets.open(sealed)?).map(Some)
    };
    Ok(ProfileSchedule {
        id: s.id.clone(),
        parts: s.parts.clone(),
        location: s.location.clone(),
        location_user: s.location_user.clone(),
        location_password: reseal(&s.location_password, "location password")?,
        backup_password: reseal(&s.backup_password, "backup password")?,
        enable: s.enable,
        recurrence: s.recurrence.as_ref().map(|r| ProfileRecurrence {
            minute: i64::from(r.minute),
            hour: i64::from(r.hour),
            days: r.days.iter().map(|d| day_name(*d).to_string()).collect(),
        }),
        max_count: s.max_count.map(i64::from),
    })
}

/// The spec `create` or `update` takes for a schedule of the document; every field is given,
/// so an update leaves nothing of the schedule it replaces (an empty backup password clears it).
fn schedule_spec(
    s: &ProfileSchedule,
    codec: Option<&SecretCodec>,
    at: &str,
) -> Result<ScheduleSpec, CoreError> {
    let open = |secret: &Option<SealedSecret>, field: &str| -> Result<Option<String>, CoreError> {
        let Some(secret) = secret else {
            return Ok(None);
        };
        let field = format!("{at}.{field}");
        let codec = codec.ok_or_else(|| {
            CoreError::invalid(
                "spec.profile_spec.encryption_key",
                format!("is required: {field} is encrypted"),
            )
        })?;
        codec.open_secret(secret, &field).map(Some)
    };
    Ok(ScheduleSpec {
        parts: Some(s.parts.clone()),
        backup_password: Some(LocationSecret::new(
            open(&s.backup_password, "backup_password")?.unwrap_or_default(),
        )),
        location: Some(s.location.clone()),
        location_user: Some(s.location_user.clone().unwrap_or_default()),
        location_password: open(&s.location_password, "location_password")?
            .map(LocationSecret::new),
        enable: Some(s.enable),
        recurrence: s.recurrence.as_ref().map(|r| RecurrenceSpec {
            minute: r.minute,
            hour: r.hour,
            days: Some(r.days.clone()),
        }),
        max_count: s.max_count,
    })
}

/// A check's failure as a notification naming where in the document it is.
fn at(prefix: &str, e: CoreError) -> String {
    match e {
        CoreError::InvalidArgument { field, reason } => {
            let field = field
                .trim_start_matches("spec.")
                .trim_start_matches("policy.")
                .trim_start_matches("rules");
            format!(
                "{prefix}{}{field}: {reason}",
                if field.starts_with('[') { "" } else { "." }
            )
        }
        other => format!("{prefix}: {other}"),
    }
}

impl Core {
    /// This server's settings, as the named profiles hold them.
    pub(super) async fn read_profiles(
        &self,
        caller: &Caller,
        names: &[&str],
        codec: Option<&SecretCodec>,
    ) -> Result<Profiles, CoreError> {
        let mut out = Profiles::default();
        if names.contains(&AUTH) {
            let info = self.password_policy_get(caller).await?;
            out.auth = Some(AuthProfile {
                local_accounts_policy: Some(ProfilePolicy::from_info(&info)),
            });
        }
        if names.contains(&APPLIANCE) {
            let mut schedules = self.store.list_backup_schedules().await?;
            schedules.sort_by(|a, b| a.id.cmp(&b.id));
            out.appliance = Some(ApplianceProfile {
                syslog_forwarding: Some(
                    self.log_forwarding(caller)
                        .await?
                        .iter()
                        .map(ProfileSyslogTarget::of)
                        .collect(),
                ),
                global_fips: Some(self.global_fips_get(caller).await?.enabled),
                firewall_inbound: Some(self.firewall_inbound(caller).await?),
                backup_schedules: Some(
                    schedules
                        .iter()
                        .map(|s| export_schedule(self, s, codec))
                        .collect::<Result<_, _>>()?,
                ),
            });
        }
        if names.contains(&INVENTORY) {
            let dcs = self.store.list_datacenters().await?;
            let mut clusters = Vec::new();
            for c in self.list_clusters(caller, None).await? {
                let dc = dcs
                    .iter()
                    .find(|d| d.id == c.datacenter_id)
                    .map(|d| d.name.clone())
                    .unwrap_or_default();
                clusters.push(ProfileCluster {
                    datacenter: dc,
                    name: c.name,
                    automation_level: c.automation_level.as_str().to_string(),
                });
            }
            clusters.sort_by(|a, b| (&a.datacenter, &a.name).cmp(&(&b.datacenter, &b.name)));
            out.inventory = Some(InventoryProfile {
                clusters: Some(clusters),
            });
        }
        Ok(out)
    }

    /// Checks every value of `p` with its owner's rules, and says what an import would change.
    pub(super) async fn check_profiles(
        &self,
        p: &Profiles,
        codec: Option<&SecretCodec>,
        n: &mut Notifications,
    ) -> Result<(), CoreError> {
        if let Some(policy) = p
            .auth
            .as_ref()
            .and_then(|a| a.local_accounts_policy.as_ref())
        {
            let prefix = format!("{AUTH}.local_accounts_policy");
            match self.check_password_policy(&policy.to_info()) {
                Ok(()) => n.info(format!("{prefix} will be set")),
                Err(e) => n.error(at(&prefix, e)),
            }
        }
        if let Some(a) = &p.appliance {
            if let Some(rules) = &a.firewall_inbound {
                let prefix = format!("{APPLIANCE}.firewall_inbound");
                match RuleSet::compile(rules.clone()) {
                    Ok(_) => n.info(format!("{prefix} will be {} rule(s)", rules.len())),
                    Err(e) => n.error(at(&prefix, e)),
                }
            }
            if let Some(targets) = &a.syslog_forwarding {
                let prefix = format!("{APPLIANCE}.syslog_forwarding");
                match log_forwarding::validate(
                    targets.iter().map(ProfileSyslogTarget::spec).collect(),
                ) {
                    Ok(_) => n.info(format!("{prefix} will be {} receiver(s)", targets.len())),
                    Err(e) => n.error(at(&prefix, e)),
                }
            }
            if let Some(enabled) = a.global_fips {
                if enabled != crate::appliance::global_fips::stored(self.store.as_ref()).await? {
                    n.warning(format!(
                        "global FIPS will be {}: the server restarts once the import is done",
                        if enabled { "enabled" } else { "disabled" }
                    ));
                }
            }
            if let Some(schedules) = &a.backup_schedules {
                let here = self.store.list_backup_schedules().await?;
                let mut seen = std::collections::HashSet::new();
                for (i, s) in schedules.iter().enumerate() {
                    let prefix = format!("{APPLIANCE}.backup_schedules[{i}]");
                    if !seen.insert(s.id.as_str()) {
                        n.error(format!("{prefix}.id: schedule {} is given twice", s.id));
                        continue;
                    }
                    let checked = schedule_spec(s, codec, &prefix)
                        .and_then(|spec| check_spec_offline(&s.id, &spec));
                    match checked {
                        Err(e) => n.error(at(&prefix, e)),
                        Ok(()) if here.iter().any(|h| h.id == s.id) => {
                            n.info(format!("backup schedule {} will be replaced", s.id));
                        }
                        Ok(()) => n.info(format!("backup schedule {} will be created", s.id)),
                    }
                }
                for h in here.iter().filter(|h| !seen.contains(h.id.as_str())) {
                    n.warning(format!(
                        "backup schedule {} is not in the profile and will be deleted",
                        h.id
                    ));
                }
            }
        }
        if let Some(clusters) = p.inventory.as_ref().and_then(|i| i.clusters.as_ref()) {
            let dcs = self.store.list_datacenters().await?;
            let here = self.store.list_clusters(None).await?;
            for (i, c) in clusters.iter().enumerate() {
                let prefix = format!("{INVENTORY}.clusters[{i}]");
                if AutomationLevel::parse(&c.automation_level).is_none() {
                    n.error(format!(
                        "{prefix}.automation_level: '{}' is not manual, partiallyAutomated or \
                         fullyAutomated",
                        c.automation_level
                    ));
                    continue;
                }
                let found = here.iter().any(|h| {
                    h.name == c.name
                        && dcs
                            .iter()
                            .any(|d| d.id == h.datacenter_id && d.name == c.datacenter)
                });
                if found {
                    n.info(format!("cluster {}/{} will be set", c.datacenter, c.name));
                } else {
                    n.warning(format!(
                        "{prefix}: there is no cluster {} in datacenter {} here; it is left out",
                        c.name, c.datacenter
                    ));
                }
            }
        }
        Ok(())
    }

    /// Applies every setting of `p`, in the profiles' order, through the operations that own
    /// them (each checks the caller's privilege again). Stops at the first failure.
    pub(super) async fn apply_profiles(
        &self,
        caller: &Caller,
        origin: CallOrigin,
        p: &Profiles,
        codec: Option<&SecretCodec>,
    ) -> Result<(), CoreError> {
        if let Some(policy) = p
            .auth
            .as_ref()
            .and_then(|a| a.local_accounts_policy.as_ref())
        {
            self.password_policy_set(caller, policy.to_info()).await?;
        }
        if let Some(a) = &p.appliance {
            if let Some(rules) = &a.firewall_inbound {
                self.set_firewall_inbound(caller, origin, rules.clone())
                    .await?;
            }
            if let Some(targets) = &a.syslog_forwarding {
                self.set_log_forwarding(
                    caller,
                    targets.iter().map(ProfileSyslogTarget::spec).collect(),
                )
                .await?;
            }
            if let Some(schedules) = &a.backup_schedules {
                let here = self.store.list_backup_schedules().await?;
                for h in here
                    .iter()
                    .filter(|h| !schedules.iter().any(|s| s.id == h.id))
                {
                    self.backup_schedule_delete(caller, &h.id).await?;
                }
                for (i, s) in schedules.iter().enumerate() {
                    let prefix = format!("{APPLIANCE}.backup_schedules[{i}]");
                    let spec = schedule_spec(s, codec, &prefix)?;
                    if here.iter().any(|h| h.id == s.id) {
                        self.backup_schedule_update(caller, &s.id, spec).await?;
                    } else {
                        self.backup_schedule_create(caller, &s.id, spec).await?;
                    }
                }
            }
        }
        if let Some(clusters) = p.inventory.as_ref().and_then(|i| i.clusters.as_ref()) {
            let dcs = self.store.list_datacenters().await?;
            let here = self.store.list_clusters(None).await?;
            for c in clusters {
                let Some(level) = AutomationLevel::parse(&c.automation_level) else {
                    continue;
                };
                let found = here.iter().find(|h| {
                    h.name == c.name
                        && dcs
                            .iter()
                            .any(|d| d.id == h.datacenter_id && d.name == c.datacenter)
                });
                if let Some(h) = found {
                    if h.automation_level != level {
                        self.set_cluster_automation(caller, &h.id, level).await?;
                    }
                }
            }
        }
        // Last: a change restarts the server once this import's task has answered.
        if let Some(enabled) = p.appliance.as_ref().and_then(|a| a.global_fips) {
            self.global_fips_update(caller, Some(enabled)).await?;
        }
        Ok(())
    }

    /// Puts back what `apply_profiles` may have changed, from the settings read before it: the
    /// stored backup schedules as they were (their sealed passwords kept), the rules, the
    /// policy and the clusters' levels.
    pub(super) async fn restore_profiles(
        &self,
        caller: &Caller,
        before: &Snapshot,
    ) -> Result<(), CoreError> {
        if let Some(info) = &before.policy {
            self.password_policy_set(caller, info.clone()).await?;
        }
        if let Some(rules) = &before.firewall {
            self.set_firewall_inbound(
                caller,
                CallOrigin {
                    peer: None,
                    local: None,
                },
                rules.clone(),
            )
            .await?;
        }
        if let Some(targets) = &before.syslog {
            let specs = targets
                .iter()
                .map(|t| ProfileSyslogTarget::of(t).spec())
                .collect();
            self.set_log_forwarding(caller, specs).await?;
        }
        if let Some(schedules) = &before.schedules {
            for s in self.store.list_backup_schedules().await? {
                self.store.delete_backup_schedule(&s.id).await?;
            }
            for s in schedules {
                self.store.insert_backup_schedule(s).await?;
            }
        }
        for (id, level) in &before.cluster_levels {
            self.set_cluster_automation(caller, id, *level).await?;
        }
        Ok(())
    }

    /// What an import of `p` may change, as it is now.
    pub(super) async fn snapshot(
        &self,
        caller: &Caller,
        p: &Profiles,
    ) -> Result<Snapshot, CoreError> {
        let mut s = Snapshot::default();
        if p.auth
            .as_ref()
            .is_some_and(|a| a.local_accounts_policy.is_some())
        {
            s.policy = Some(self.password_policy_get(caller).await?);
        }
        if let Some(a) = &p.appliance {
            if a.firewall_inbound.is_some() {
                s.firewall = Some(self.firewall_inbound(caller).await?);
            }
            if a.backup_schedules.is_some() {
                s.schedules = Some(self.store.list_backup_schedules().await?);
            }
            if a.syslog_forwarding.is_some() {
                s.syslog = Some(self.log_forwarding(caller).await?);
            }
        }
        if p.inventory.as_ref().is_some_and(|i| i.clusters.is_some()) {
            s.cluster_levels = self
                .store
                .list_clusters(None)
                .await?
                .into_iter()
                .map(|c| (c.id, c.automation_level))
                .collect();
        }
        Ok(s)
    }
}

/// The settings an import may change, read before it (held in memory only).
#[derive(Default)]
pub(super) struct Snapshot {
    policy: Option<PolicyInfo>,
    firewall: Option<Vec<FirewallRule>>,
    schedules: Option<Vec<BackupSchedule>>,
    syslog: Option<Vec<ForwardTarget>>,
    cluster_levels: Vec<(String, AutomationLevel)>,
}
