//! The local SSO domain's users and groups (`vsphere.local` unless configured), and its
//! password and lockout policies: ferrocenter's own management operations (vCenter's SSO
//! administration is a SOAP API ferrocenter does not serve; bindings expose these as
//! `com.ferrocenter.sso.*`).
//!
//! Who may do what (management guide, chapter 4: "creating local user accounts" is the super
//! administrator's): reading users, groups and policies needs `System.Read`; every change needs
//! `Appliance.ManageAccounts`, which only superAdmin holds. Any SSO user may change their own
//! password, proving the current one.
//!
//! Rules kept here: users have no role of their own (operator, the least) — roles come from
//! the groups of table 4-2 (`SystemConfiguration.Administrators` → admin,
//! `SystemConfiguration.BashShellAdministrators` → superAdmin); those groups always exist and
//! cannot be deleted; the built-in `administrator` can be neither deleted nor disabled; every
//! new password meets the password policy and repeats none of the user's last `history`
//! passwords; a password lives `max_lifetime_days` (the built-in administrator's never
//! expires, so that time alone cannot lock the domain's last superAdmin out). Every refused
//! call changes nothing: checks come first, then one store write (a transaction where a
//! change spans rows). Each change records an event, never with a password.
mod groups;
mod policy;
mod users;

pub use groups::SsoGroup;
pub use policy::{
    SsoLockoutPolicy, SsoPasswordPolicy, ATTEMPTS_MAX, HISTORY_MAX, LIFETIME_MAX_DAYS,
    LOCKOUT_POLICY_KEY, PASSWORD_POLICY_KEY, SECONDS_MAX,
};
pub use users::{SsoUser, UserDetails, UserSpec};

use serde_json::json;
use tracing::info;

use crate::auth::{validate_account_name, Caller, Privilege, Realm};
use crate::{Core, CoreError};

/// The entity kind SSO events are recorded under.
const EVENT_ENTITY: &str = "sso";

impl Core {
    fn sso_realm(&self) -> Realm {
        Realm::sso(self.auth.sso_domain())
    }

    /// A user or group name of the local SSO domain, as the account name rule allows (bare:
    /// the domain is implied, so the OpenAPI document's pattern and this check agree).
    fn sso_name(&self, field: &str, raw: &str) -> Result<String, CoreError> {
        validate_account_name(field, raw)?;
        Ok(raw.to_string())
    }

    async fn sso_setting<T: serde::de::DeserializeOwned + Default>(
        &self,
        key: &str,
    ) -> Result<T, CoreError> {
        match self.store.get_setting(key).await? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| CoreError::internal(format!("the stored {key} is unreadable: {e}"))),
            None => Ok(T::default()),
        }
    }

    async fn sso_password_policy(&self) -> Result<SsoPasswordPolicy, CoreError> {
        self.sso_setting(PASSWORD_POLICY_KEY).await
    }

    /// Applies the stored lockout policy to logins (at start); the configuration's values
    /// stay in force until one is set through the API.
    pub async fn apply_stored_sso_policies(&self) -> Result<(), CoreError> {
        if let Some(json) = self.store.get_setting(LOCKOUT_POLICY_KEY).await? {
            let p: SsoLockoutPolicy = serde_json::from_str(&json).map_err(|e| {
                CoreError::internal(format!(
                    "the stored {LOCKOUT_POLICY_KEY} is unreadable: {e}"
                ))
            })?;
            self.auth
                .set_lockout_policy(p.applied_to(self.auth.lockout_policy()));
        }
        Ok(())
    }

    /// `sso.password_policy.get`.
    pub async fn sso_password_policy_get(
        &self,
        caller: &Caller,
    ) -> Result<SsoPasswordPolicy, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        self.sso_password_policy().await
    }

    /// `sso.password_policy.set`: the whole policy, checked, for passwords set from now on;
    /// the lifetime is written to every SSO user with it, in one transaction.
    pub async fn sso_password_policy_set(
        &self,
        caller: &Caller,
        policy: SsoPasswordPolicy,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        policy.validate()?;
        let json = serde_json::to_string(&policy)
            .map_err(|e| CoreError::internal(format!("the password policy: {e}")))?;
        let _writes = self.account_writes.lock().await;
        let days = crate::auth::PasswordDays {
            min: None,
            max: policy.lifetime_days(),
            warn: None,
        };
        self.store
            .set_password_days(&self.sso_realm(), days, (PASSWORD_POLICY_KEY, &json))
            .await?;
        info!(by = %caller.user, "SSO password policy set");
        self.record_event(
            "com.ferrocenter.sso.PasswordPolicyChangedEvent",
            EVENT_ENTITY,
            PASSWORD_POLICY_KEY,
            "password policy",
            &caller.user,
            "Changed the SSO password policy".into(),
            json!(policy),
        )
        .await;
        Ok(())
    }

    /// `sso.lockout_policy.get`: the policy logins are counted against now.
    pub async fn sso_lockout_policy_get(
        &self,
        caller: &Caller,
    ) -> Result<SsoLockoutPolicy, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(self.auth.lockout_policy().into())
    }

    /// `sso.lockout_policy.set`: stored, then applied to the next failed login (counts and
    /// locks already made keep their times).
    pub async fn sso_lockout_policy_set(
        &self,
        caller: &Caller,
        policy: SsoLockoutPolicy,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        policy.validate()?;
        let json = serde_json::to_string(&policy)
            .map_err(|e| CoreError::internal(format!("the lockout policy: {e}")))?;
        let _writes = self.account_writes.lock().await;
        self.store.put_setting(LOCKOUT_POLICY_KEY, &json).await?;
        self.auth
            .set_lockout_policy(policy.applied_to(self.auth.lockout_policy()));
        info!(by = %caller.user, "SSO lockout policy set");
        self.record_event(
            "com.ferrocenter.sso.LockoutPolicyChangedEvent",
            EVENT_ENTITY,
            LOCKOUT_POLICY_KEY,
            "lockout policy",
            &caller.user,
            "Changed the SSO lockout policy".into(),
            json!(policy),
        )
        .await;
        Ok(())
    }
}
