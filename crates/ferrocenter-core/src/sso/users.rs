//! SSO users: list, get, create, update, set a password, disable, enable, unlock, delete, and
//! a user's own password change. See the module above for the rules.
use serde_json::json;
use time::OffsetDateTime;
use tracing::info;

use super::{SsoPasswordPolicy, EVENT_ENTITY};
use crate::appliance::accounts::{email, text};
use crate::auth::{Caller, PasswordAging, PasswordDays, Principal, Privilege, Role, ADMINISTRATOR};
use crate::{Core, CoreError};

/// An SSO user as the API shows it (never a password or its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoUser {
    pub name: String,
    pub domain: String,
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub description: Option<String>,
    pub disabled: bool,
    /// The built-in administrator (cannot be deleted or disabled).
    pub built_in: bool,
    pub password_last_set: OffsetDateTime,
    pub password_expires_at: Option<OffsetDateTime>,
    /// The groups the user is in, by name.
    pub groups: Vec<String>,
}

/// A new user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSpec {
    pub name: String,
    pub password: String,
    pub details: UserDetails,
}

/// A user's descriptive fields: set ones change (an empty string clears), unset ones stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserDetails {
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub description: Option<String>,
}

impl UserDetails {
    /// Checks every field (naming it under `prefix`) and writes the set ones to `p`.
    fn apply(&self, prefix: &str, p: &mut Principal) -> Result<(), CoreError> {
        if let Some(v) = &self.full_name {
            p.full_name = text(&format!("{prefix}full_name"), v)?;
        }
        if let Some(v) = &self.email {
            p.email = email(&format!("{prefix}email"), v)?;
        }
        if let Some(v) = &self.description {
            p.description = text(&format!("{prefix}description"), v)?;
        }
        Ok(())
    }
}

/// Which account change an event records.
#[derive(Clone, Copy)]
enum Change {
    Updated,
    Disabled,
    Enabled,
    Unlocked,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Change::Updated => "details updated",
            Change::Disabled => "disabled",
            Change::Enabled => "enabled",
            Change::Unlocked => "unlocked",
        }
    }
}

impl Core {
    pub(super) async fn sso_user(&self, name: &str) -> Result<Principal, CoreError> {
        self.store
            .find_principal(&self.sso_realm(), &name.to_ascii_lowercase())
            .await?
            .ok_or_else(|| {
                CoreError::not_found("SSO user", format!("{name}@{}", self.auth.sso_domain()))
            })
    }

    async fn sso_user_view(&self, p: Principal) -> Result<SsoUser, CoreError> {
        let groups = self.store.groups_of(&p.id).await?;
        Ok(SsoUser {
            built_in: p.name == ADMINISTRATOR,
            domain: p.realm.store_key().to_string(),
            password_expires_at: p.password_expires_at(),
            password_last_set: p.password_changed_at,
            groups: groups.into_iter().map(|g| g.name).collect(),
            name: p.name,
            full_name: p.full_name,
            email: p.email,
            description: p.description,
            disabled: p.disabled,
        })
    }

    async fn sso_event(&self, kind: &str, caller: &Caller, p: &Principal, message: String) {
        self.record_event(
            kind,
            EVENT_ENTITY,
            &p.id,
            &p.login_name(),
            &caller.user,
            message,
            json!({"user": p.login_name()}),
        )
        .await;
    }

    /// Refuses `password` unless it meets the policy and repeats none of the user's last
    /// `history` passwords (the current one counts).
    async fn check_new_sso_password(
        &self,
        field: &str,
        p: &Principal,
        password: &str,
        policy: &SsoPasswordPolicy,
    ) -> Result<(), CoreError> {
        policy.check(field, password)?;
        if policy.history == 0 {
            return Ok(());
        }
        let earlier = self.store.password_history(&p.id).await?;
        let remembered = std::iter::once(p.password_hash.clone())
            .chain(earlier)
            .take(policy.history as usize);
        for hash in remembered {
            if self.auth.password_matches(password, &hash).await? {
                return Err(CoreError::invalid(
                    field,
                    format!(
                        "repeats one of the user's last {} passwords (the password policy's history)",
                        policy.history
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Gives `p` the new password, checked, with the policy's lifetime; writes it and its
    /// history in one transaction.
    async fn write_sso_password(
        &self,
        field: &str,
        mut p: Principal,
        password: &str,
    ) -> Result<Principal, CoreError> {
        let policy = self.sso_password_policy().await?;
        self.check_new_sso_password(field, &p, password, &policy)
            .await?;
        let replaced = p.password_hash.clone();
        let (hash, verifier) = self.auth.hash_credentials(password).await?;
        p.password_hash = hash;
        p.digest_verifier = Some(verifier);
        p.password_changed_at = self.clock.now();
        p.aging.expires_at = None;
        p.aging.days.max = policy.lifetime_days();
        if !self
            .store
            .update_principal_password(&p, &replaced, policy.history as usize)
            .await?
        {
            return Err(CoreError::not_found("SSO user", p.login_name()));
        }
        Ok(p)
    }

    /// `sso.users.list`: the local SSO domain's users, by name.
    pub async fn sso_users_list(&self, caller: &Caller) -> Result<Vec<SsoUser>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let mut out = Vec::new();
        for p in self.store.list_principals(&self.sso_realm()).await? {
            out.push(self.sso_user_view(p).await?);
        }
        Ok(out)
    }

    /// `sso.users.get`.
    pub async fn sso_user_get(&self, caller: &Caller, name: &str) -> Result<SsoUser, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let name = self.sso_name("name", name)?;
        let p = self.sso_user(&name).await?;
        self.sso_user_view(p).await
    }

    /// `sso.users.create`: a user with no role of its own (groups give roles) whose password
    /// meets the policy and lives its lifetime.
    pub async fn sso_user_create(
        &self,
        caller: &Caller,
        spec: UserSpec,
    ) -> Result<SsoUser, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let name = self.sso_name("spec.name", &spec.name)?.to_ascii_lowercase();
        let policy = self.sso_password_policy().await?;
        policy.check("spec.password", &spec.password)?;
        let _writes = self.account_writes.lock().await;
        if self
            .store
            .find_principal(&self.sso_realm(), &name)
            .await?
            .is_some()
        {
            return Err(CoreError::AlreadyExists {
                what: "SSO user".into(),
                name: format!("{name}@{}", self.auth.sso_domain()),
            });
        }
        let mut draft = self
            .auth
            .new_principal(self.sso_realm(), &name, &spec.password, Role::Operator)
            .await?;
        spec.details.apply("spec.", &mut draft)?;
        draft.aging = PasswordAging {
            expires: true,
            days: PasswordDays {
                min: None,
                max: policy.lifetime_days(),
                warn: None,
            },
            ..PasswordAging::default()
        };
        self.auth.insert_principal(&draft).await?;
        info!(user = %draft.login_name(), by = %caller.user, "SSO user created");
        self.sso_event(
            "AccountCreatedEvent",
            caller,
            &draft,
            format!("Created SSO user {}", draft.login_name()),
        )
        .await;
        self.sso_user_view(draft).await
    }

    /// `sso.users.update`: the details set.
    pub async fn sso_user_update(
        &self,
        caller: &Caller,
        name: &str,
        details: UserDetails,
    ) -> Result<(), CoreError> {
        self.change_sso_user(caller, name, Change::Updated, |p| {
            details.apply("details.", p)
        })
        .await
    }

    /// `sso.users.disable`: logins refused and the user's sessions ended. The built-in
    /// administrator cannot be disabled.
    pub async fn sso_user_disable(&self, caller: &Caller, name: &str) -> Result<(), CoreError> {
        self.change_sso_user(caller, name, Change::Disabled, |p| {
            if p.name == ADMINISTRATOR {
                return Err(CoreError::invalid(
                    "name",
                    format!(
                        "'{}' is the domain's built-in administrator: it cannot be disabled",
                        p.login_name()
                    ),
                ));
            }
            p.disabled = true;
            Ok(())
        })
        .await
    }

    /// `sso.users.enable`.
    pub async fn sso_user_enable(&self, caller: &Caller, name: &str) -> Result<(), CoreError> {
        self.change_sso_user(caller, name, Change::Enabled, |p| {
            p.disabled = false;
            Ok(())
        })
        .await
    }

    /// `sso.users.unlock`: ends the user's lockout (every address), so they may log in at
    /// once.
    pub async fn sso_user_unlock(&self, caller: &Caller, name: &str) -> Result<(), CoreError> {
        self.change_sso_user(caller, name, Change::Unlocked, |_| Ok(()))
            .await
    }

    async fn change_sso_user(
        &self,
        caller: &Caller,
        name: &str,
        change: Change,
        edit: impl FnOnce(&mut Principal) -> Result<(), CoreError>,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let name = self.sso_name("name", name)?;
        let _writes = self.account_writes.lock().await;
        let before = self.sso_user(&name).await?;
        let mut next = before.clone();
        edit(&mut next)?;
        if next != before && !self.store.update_principal(&next).await? {
            return Err(CoreError::not_found("SSO user", next.login_name()));
        }
        let ended = match change {
            Change::Disabled => self.auth.end_sessions_of(&next.id),
            Change::Unlocked => {
                self.auth.clear_lockout(&next.realm, &next.name);
                0
            }
            Change::Updated | Change::Enabled => 0,
        };
        info!(user = %next.login_name(), by = %caller.user, sessions_ended = ended, "SSO user {}", change.as_str());
        self.sso_event(
            "AccountUpdatedEvent",
            caller,
            &next,
            format!("SSO user {} {}", next.login_name(), change.as_str()),
        )
        .await;
        Ok(())
    }

    /// `sso.users.set_password`: an administrator sets a user's password (policy and history
    /// apply); the user's sessions end.
    pub async fn sso_user_set_password(
        &self,
        caller: &Caller,
        name: &str,
        password: &str,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let name = self.sso_name("name", name)?;
        let _writes = self.account_writes.lock().await;
        let p = self.sso_user(&name).await?;
        let p = self.write_sso_password("password", p, password).await?;
        let ended = if p.id == caller.principal_id {
            0
        } else {
            self.auth.end_sessions_of(&p.id)
        };
        info!(user = %p.login_name(), by = %caller.user, sessions_ended = ended, "SSO user's password set");
        self.sso_event(
            "UserPasswordChanged",
            caller,
            &p,
            format!(
                "Password of SSO user {} set by {}",
                p.login_name(),
                caller.user
            ),
        )
        .await;
        Ok(())
    }

    /// `sso.users.self.change_password`: the caller's own password, proving the current one
    /// (wrong answers count towards the lockout like failed logins). No privilege needed.
    pub async fn sso_change_own_password(
        &self,
        caller: &Caller,
        current: &str,
        new: &str,
    ) -> Result<(), CoreError> {
        if caller.realm != self.sso_realm() {
            return Err(CoreError::invalid_state(
                "only users of the local SSO domain change their password here; local accounts \
                 use appliance local_accounts.update",
            ));
        }
        let _writes = self.account_writes.lock().await;
        let p = self
            .store
            .list_principals(&self.sso_realm())
            .await?
            .into_iter()
            .find(|p| p.id == caller.principal_id)
            .ok_or_else(|| CoreError::not_found("SSO user", &caller.user))?;
        if current.is_empty() {
            return Err(CoreError::invalid("current_password", "is required"));
        }
        let policy = self.sso_password_policy().await?;
        policy.check("new_password", new)?;
        if !self.auth.verify_current_password(&p, current).await? {
            return Err(CoreError::invalid(
                "current_password",
                "is not the user's current password",
            ));
        }
        let p = self.write_sso_password("new_password", p, new).await?;
        info!(user = %p.login_name(), "SSO user changed their own password");
        self.sso_event(
            "UserPasswordChanged",
            caller,
            &p,
            format!("SSO user {} changed their password", p.login_name()),
        )
        .await;
        Ok(())
    }

    /// `sso.users.delete`: the user, its group memberships and password history go, and its
    /// sessions end. The built-in administrator cannot be deleted.
    pub async fn sso_user_delete(&self, caller: &Caller, name: &str) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let name = self.sso_name("name", name)?;
        let _writes = self.account_writes.lock().await;
        let p = self.sso_user(&name).await?;
        if p.name == ADMINISTRATOR {
            return Err(CoreError::invalid(
                "name",
                format!(
                    "'{}' is the domain's built-in administrator: it cannot be deleted",
                    p.login_name()
                ),
            ));
        }
        if !self.store.delete_principal(&p.id).await? {
            return Err(CoreError::not_found("SSO user", p.login_name()));
        }
        let ended = self.auth.end_sessions_of(&p.id);
        self.auth.clear_lockout(&p.realm, &p.name);
        info!(user = %p.login_name(), by = %caller.user, sessions_ended = ended, "SSO user deleted");
        self.sso_event(
            "AccountRemovedEvent",
            caller,
            &p,
            format!("Deleted SSO user {}", p.login_name()),
        )
        .await;
        Ok(())
    }
}
