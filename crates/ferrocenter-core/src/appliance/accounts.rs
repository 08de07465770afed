//! The appliance's local accounts (`com.vmware.appliance.local_accounts` and its global
//! password policy): the principals of the local realm — `root` and the accounts a superAdmin
//! creates — with their role (table 4-1), enabled flag, password aging and contact fields.
//!
//! Who may do what (management guide, chapter 4): reading accounts and the policy needs
//! `System.Read` (operators have "read access to configuration settings"); creating, changing
//! and deleting accounts and setting the policy need `Appliance.ManageAccounts`, which only
//! superAdmin holds ("required for adding or altering user accounts"). Any local account may
//! change its own password — and nothing else — proving the old one (`old_password`), which
//! is also required when a superAdmin changes its own.
//!
//! Rules kept here: at least one local superAdmin that can log in stays (the last one cannot
//! be deleted, disabled, demoted or expired); new passwords meet the policy's rule (never
//! below the floor of `auth::password`); the policy's days apply to new accounts and, when the
//! policy is set, to every existing one (as the API documents). Every refused call changes
//! nothing: each change is computed on a copy, checked whole, then written once. Logins of
//! disabled and expired accounts are refused by the one login path (`Principal::login_refusal`).
//!
//! Errors name the API's fields (`username`, `config.roles[0]`, `policy.max_days`): this
//! module's operations exist on that surface only.
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tracing::info;

use crate::auth::{
    validate_account_name, Caller, PasswordDays, PasswordRule, Principal, Privilege, Realm, Role,
};
use crate::{Core, CoreError};

/// The setting that holds the global password policy (JSON).
pub const POLICY_KEY: &str = "appliance.local_accounts.policy";

/// Names an account cannot have: the REST path of the policy sits where an account's would.
const RESERVED_NAMES: &[&str] = &["global-policy"];

/// Day counts are -1 ("no restriction", as `chage` spells it) to 99999, as the API bounds them.
pub const DAYS_MIN: i64 = -1;
pub const DAYS_MAX: i64 = 99_999;

/// Full names and e-mail addresses, at most this many characters.
pub const TEXT_MAX_CHARS: usize = 256;

/// An account's configuration as `create`, `set` and `update` give it. `create` and `set`
/// replace the account (password and roles required; unset fields take their defaults: the
/// policy's days, enabled, expiring, inactive at expiry); `update` changes only the fields set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountConfig {
    pub password: Option<String>,
    pub old_password: Option<String>,
    pub full_name: Option<String>,
    pub email: Option<String>,
    /// Role ids as given (`operator`, `admin`, `superAdmin`), checked here to name the index.
    pub roles: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub password_expires: Option<bool>,
    pub password_expires_at: Option<OffsetDateTime>,
    pub inactive_after_password_expiration: Option<bool>,
    pub days_after_password_expiration: Option<i64>,
    pub min_days_between_password_change: Option<i64>,
    pub max_days_between_password_change: Option<i64>,
    pub warn_days_before_password_expiration: Option<i64>,
}

impl AccountConfig {
    /// Whether the configuration changes the password and nothing else.
    fn only_password(&self) -> bool {
        let bare = AccountConfig {
            password: self.password.clone(),
            old_password: self.old_password.clone(),
            ..Default::default()
        };
        self.password.is_some() && *self == bare
    }
}

/// `local_accounts.info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub roles: Vec<Role>,
    pub enabled: bool,
    pub has_password: bool,
    pub last_password_change: Option<OffsetDateTime>,
    pub password_expires_at: Option<OffsetDateTime>,
    pub inactive_at: Option<OffsetDateTime>,
    pub days: PasswordDays,
}

/// `local_accounts.policy.info`: every field of the API. ferrocenter enforces the days and the
/// password's composition; the lockout fields report the server's lockout configuration and
/// can be set only to what it is; remembering prior passwords and fleet management are not
/// supported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyInfo {
    pub max_days: Option<i64>,
    pub min_days: Option<i64>,
    pub warn_days: Option<i64>,
    pub prior_password_remember_count: Option<i64>,
    pub failed_attempt_count_before_account_lockout: Option<i64>,
    pub length_of_lockout_period_in_seconds: Option<i64>,
    pub fail_interval_between_attempts: Option<i64>,
    pub minimum_length: Option<i64>,
    pub minimum_uppercase_char_count: Option<i64>,
    pub minimum_lowercase_char_count: Option<i64>,
    pub minimum_numerics_char_count: Option<i64>,
    pub minimum_special_char_count: Option<i64>,
    pub managed_at_fleet: Option<bool>,
}

/// What the policy setting holds: what ferrocenter enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    pub days: PasswordDays,
    pub min_length: usize,
    pub min_uppercase: usize,
    pub min_lowercase: usize,
    pub min_digits: usize,
    pub min_special: usize,
}

impl Default for PasswordPolicy {
    /// vCenter's defaults for local accounts: passwords expire after 90 days, with a warning
    /// 7 days before; they may be changed again at once; at least 8 characters.
    fn default() -> Self {
        let floor = PasswordRule::default();
        PasswordPolicy {
            days: PasswordDays {
                min: Some(0),
                max: Some(90),
                warn: Some(7),
            },
            min_length: floor.min_length,
            min_uppercase: 0,
            min_lowercase: 0,
            min_digits: 0,
            min_special: 0,
        }
    }
}

impl PasswordPolicy {
    pub fn rule(&self) -> PasswordRule {
        PasswordRule {
            min_length: self.min_length,
            min_uppercase: self.min_uppercase,
            min_lowercase: self.min_lowercase,
            min_digits: self.min_digits,
            min_special: self.min_special,
        }
    }
}

/// A day count from the API: -1 is no restriction.
fn days(field: &str, v: i64) -> Result<Option<i64>, CoreError> {
    if !(DAYS_MIN..=DAYS_MAX).contains(&v) {
        return Err(CoreError::invalid(
            field,
            format!("must be {DAYS_MIN} (no restriction) to {DAYS_MAX} days"),
        ));
    }
    Ok((v >= 0).then_some(v))
}

/// A character count of the policy: -1 or 0 is no requirement; more than the longest
/// password could never be met.
fn count(field: &str, v: Option<i64>) -> Result<usize, CoreError> {
    let max = crate::auth::password::PASSWORD_MAX_BYTES as i64;
    match v {
        None => Ok(0),
        Some(n) if (-1..=max).contains(&n) => Ok(n.max(0) as usize),
        Some(_) => Err(CoreError::invalid(
            field,
            format!("must be -1 (no requirement) to {max}"),
        )),
    }
}

fn roles(field: &str, given: &[String]) -> Result<Role, CoreError> {
    if given.is_empty() {
        return Err(CoreError::invalid(
            field,
            "must name at least one role: operator, admin or superAdmin",
        ));
    }
    let mut highest = Role::Operator;
    for (i, r) in given.iter().enumerate() {
        let role: Role = r
            .parse()
            .map_err(|why: String| CoreError::invalid(format!("{field}[{i}]"), why))?;
        highest = highest.max(role);
    }
    Ok(highest)
}

/// Free text shown to people: at most 256 characters, no control characters; empty is none.
pub(crate) fn text(field: &str, v: &str) -> Result<Option<String>, CoreError> {
    if v.chars().count() > TEXT_MAX_CHARS {
        return Err(CoreError::invalid(
            field,
            format!("must be at most {TEXT_MAX_CHARS} characters long"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok((!v.trim().is_empty()).then(|| v.to_string()))
}

/// `local@domain`: one `@`, no white space, a domain name after it.
pub(crate) fn email(field: &str, v: &str) -> Result<Option<String>, CoreError> {
    let Some(v) = text(field, v)? else {
        return Ok(None);
    };
    let well_formed = match v.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && !v.chars().any(char::is_whitespace)
                && crate::auth::validate_domain_name(field, domain).is_ok()
        }
        None => false,
    };
    if !well_formed {
        return Err(CoreError::invalid(
            field,
            "must be an e-mail address (name@domain)",
        ));
    }
    Ok(Some(v))
}

/// The account name as stored (lower case), after the account name rule.
fn account_name(username: &str) -> Result<String, CoreError> {
    validate_account_name("username", username)?;
    Ok(username.to_ascii_lowercase())
}

fn usable_super_admins<'a>(
    accounts: impl Iterator<Item = &'a Principal>,
    now: OffsetDateTime,
) -> usize {
    accounts
        .filter(|p| p.role == Role::SuperAdmin && p.login_refusal(now).is_none())
        .count()
}

/// Whether the caller is this local account.
fn is_self(caller: &Caller, name: &str) -> bool {
    caller.realm == Realm::Local && caller.user == name
}

impl Core {
    /// The global password policy as stored (its defaults until one is set).
    async fn password_policy(&self) -> Result<PasswordPolicy, CoreError> {
        match self.store.get_setting(POLICY_KEY).await? {
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                CoreError::internal(format!("the stored password policy is unreadable: {e}"))
            }),
            None => Ok(PasswordPolicy::default()),
        }
    }

    async fn local_account(&self, name: &str) -> Result<Principal, CoreError> {
        self.store
            .find_principal(&Realm::Local, name)
            .await?
            .ok_or_else(|| CoreError::not_found("local account", name))
    }

    /// `local_accounts.list`: the names of the local accounts, sorted.
    pub async fn local_accounts_list(&self, caller: &Caller) -> Result<Vec<String>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(self
            .store
            .list_principals(&Realm::Local)
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect())
    }

    /// `local_accounts.get`.
    pub async fn local_account_get(
        &self,
        caller: &Caller,
        username: &str,
    ) -> Result<AccountInfo, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let p = self.local_account(&account_name(username)?).await?;
        Ok(AccountInfo {
            full_name: p.full_name.clone(),
            email: p.email.clone(),
            roles: vec![p.role],
            enabled: !p.disabled,
            has_password: true,
            last_password_change: Some(p.password_changed_at),
            password_expires_at: p.password_expires_at(),
            inactive_at: p.inactive_at(),
            days: p.aging.days,
        })
    }

    /// `local_accounts.create`.
    pub async fn local_account_create(
        &self,
        caller: &Caller,
        username: &str,
        config: AccountConfig,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let name = account_name(username)?;
        if RESERVED_NAMES.contains(&name.as_str()) {
            return Err(CoreError::invalid(
                "username",
                format!("'{name}' is reserved: the policy's REST path ends with it"),
            ));
        }
        let _writes = self.account_writes.lock().await;
        if self
            .store
            .find_principal(&Realm::Local, &name)
            .await?
            .is_some()
        {
            return Err(CoreError::AlreadyExists {
                what: "local account".into(),
                name,
            });
        }
        let policy = self.password_policy().await?;
        let password = config.password.clone().unwrap_or_default();
        policy.rule().check("config.password", &password)?;
        // Everything but the password is checked before the password is hashed.
        let mut draft = Principal {
            id: String::new(),
            realm: Realm::Local,
            name: name.clone(),
            password_hash: String::new(),
            digest_verifier: None,
            role: Role::Operator,
            full_name: None,
            email: None,
            description: None,
            disabled: false,
            created_at: self.clock.now(),
            password_changed_at: self.clock.now(),
            aging: Default::default(),
        };
        apply(&mut draft, &config, Mode::Replace, &policy)?;
        let mut p = self
            .auth
            .new_principal(Realm::Local, &name, &password, draft.role)
            .await?;
        p.full_name = draft.full_name;
        p.email = draft.email;
        p.disabled = draft.disabled;
        p.aging = draft.aging;
        match self.auth.insert_principal(&p).await {
            Err(CoreError::AlreadyExists { .. }) => Err(CoreError::AlreadyExists {
                what: "local account".into(),
                name,
            }),
            other => other,
        }?;
        info!(account = %p.name, role = %p.role, by = %caller.user, "local account created");
        Ok(())
    }

    /// `local_accounts.set`: the whole configuration.
    pub async fn local_account_set(
        &self,
        caller: &Caller,
        username: &str,
        config: AccountConfig,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let name = account_name(username)?;
        if config.password.is_none() || config.roles.is_none() {
            let missing = if config.password.is_none() {
                "config.password"
            } else {
                "config.roles"
            };
            return Err(CoreError::invalid(missing, "is required"));
        }
        self.change_local_account(caller, &name, &config, Mode::Replace)
            .await
    }

    /// `local_accounts.update`: the fields set. An account may change its own password this
    /// way whatever its role; anything else needs `Appliance.ManageAccounts`.
    pub async fn local_account_update(
        &self,
        caller: &Caller,
        username: &str,
        config: AccountConfig,
    ) -> Result<(), CoreError> {
        let name = account_name(username)?;
        if !(is_self(caller, &name) && config.only_password()) {
            self.auth
                .authorize(caller, Privilege::ApplianceManageAccounts)?;
        }
        self.change_local_account(caller, &name, &config, Mode::Patch)
            .await
    }

    async fn change_local_account(
        &self,
        caller: &Caller,
        name: &str,
        config: &AccountConfig,
        mode: Mode,
    ) -> Result<(), CoreError> {
        let _writes = self.account_writes.lock().await;
        let before = self.local_account(name).await?;
        let policy = self.password_policy().await?;
        let now = self.clock.now();
        let own = is_self(caller, name);
        let mut next = before.clone();
        apply(&mut next, config, mode, &policy)?;
        if let Some(pw) = &config.password {
            policy.rule().check("config.password", pw)?;
            if own {
                if config.old_password.is_none() {
                    return Err(CoreError::invalid(
                        "config.old_password",
                        "is required to change one's own password",
                    ));
                }
                let since = before.password_changed_at;
                if let Some(earliest) = before
                    .aging
                    .days
                    .min
                    .filter(|d| *d > 0)
                    .and_then(|d| since.checked_add(time::Duration::days(d)))
                    .filter(|e| *e > now)
                {
                    return Err(CoreError::invalid(
                        "config.password",
                        format!(
                            "cannot be changed before {earliest}: min_days_between_password_change is {}",
                            before.aging.days.min.unwrap_or(0)
                        ),
                    ));
                }
            }
            next.password_changed_at = now;
            // A new password starts a new life: an earlier explicit expiry goes with the old
            // one unless this call sets one.
            if config.password_expires_at.is_none() {
                next.aging.expires_at = None;
            }
        }
        self.keep_a_super_admin(
            &before,
            Some(&next),
            now,
            field_of_loss(&before, &next, now),
        )
        .await?;
        if let (Some(old), true, Some(_)) = (&config.old_password, own, &config.password) {
            if !self.auth.verify_current_password(&before, old).await? {
                return Err(CoreError::invalid(
                    "config.old_password",
                    "is not the account's current password",
                ));
            }
        }
        if let Some(pw) = &config.password {
            let (hash, verifier) = self.auth.hash_credentials(pw).await?;
            next.password_hash = hash;
            next.digest_verifier = Some(verifier);
        }
        if !self.store.update_principal(&next).await? {
            return Err(CoreError::not_found("local account", name));
        }
        // Sessions carry the role they logged in with: they end when the account's access
        // changes under them (not when its owner changes their own password).
        let access_changed = next.role != before.role
            || next.login_refusal(now).is_some()
            || (config.password.is_some() && !own);
        let ended = if access_changed {
            self.auth.end_sessions_of(&next.id)
        } else {
            0
        };
        info!(
            account = %name,
            by = %caller.user,
            password_changed = config.password.is_some(),
            sessions_ended = ended,
            "local account changed"
        );
        Ok(())
    }

    /// Refuses a change that would leave no local superAdmin able to log in, where one was.
    /// `after` is the account as it would be (None: deleted); `field` names what is refused.
    async fn keep_a_super_admin(
        &self,
        before: &Principal,
        after: Option<&Principal>,
        now: OffsetDateTime,
        field: Option<&str>,
    ) -> Result<(), CoreError> {
        let accounts = self.store.list_principals(&Realm::Local).await?;
        let had = usable_super_admins(accounts.iter(), now);
        let others = accounts.iter().filter(|p| p.id != before.id);
        let left = usable_super_admins(others.chain(after), now);
        if had == 0 || left > 0 {
            return Ok(());
        }
        let why = format!(
            "'{}' is the last local superAdmin that can log in: it cannot be deleted, disabled, \
             demoted or expired until another superAdmin account can log in",
            before.name
        );
        Err(match field {
            Some(f) => CoreError::invalid(f, why),
            None => CoreError::invalid_state(why),
        })
    }

    /// `local_accounts.delete`.
    pub async fn local_account_delete(
        &self,
        caller: &Caller,
        username: &str,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let name = account_name(username)?;
        let _writes = self.account_writes.lock().await;
        let p = self.local_account(&name).await?;
        self.keep_a_super_admin(&p, None, self.clock.now(), None)
            .await?;
        if !self.store.delete_principal(&p.id).await? {
            return Err(CoreError::not_found("local account", &name));
        }
        let ended = self.auth.end_sessions_of(&p.id);
        info!(account = %name, by = %caller.user, sessions_ended = ended, "local account deleted");
        Ok(())
    }

    /// `local_accounts.policy.get`.
    pub async fn password_policy_get(&self, caller: &Caller) -> Result<PolicyInfo, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let p = self.password_policy().await?;
        let lockout = &self.auth.lockout_policy();
        let some_count = |n: usize| (n > 0).then_some(n as i64);
        Ok(PolicyInfo {
            max_days: p.days.max,
            min_days: p.days.min,
            warn_days: p.days.warn,
            prior_password_remember_count: None,
            failed_attempt_count_before_account_lockout: Some(i64::from(lockout.max_failures)),
            length_of_lockout_period_in_seconds: Some(lockout.duration.as_secs() as i64),
            fail_interval_between_attempts: Some(lockout.window.as_secs() as i64),
            minimum_length: Some(p.min_length as i64),
            minimum_uppercase_char_count: some_count(p.min_uppercase),
            minimum_lowercase_char_count: some_count(p.min_lowercase),
            minimum_numerics_char_count: some_count(p.min_digits),
            minimum_special_char_count: some_count(p.min_special),
            managed_at_fleet: None,
        })
    }

    /// `local_accounts.policy.set`: the whole policy. Its days apply to new accounts and are
    /// written to every local account too, with the policy, in one store transaction.
    pub async fn password_policy_set(
        &self,
        caller: &Caller,
        info: PolicyInfo,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let policy = self.policy_from(&info)?;
        let _writes = self.account_writes.lock().await;
        let now = self.clock.now();
        let accounts = self.store.list_principals(&Realm::Local).await?;
        let had = usable_super_admins(accounts.iter(), now);
        let aged: Vec<Principal> = accounts
            .iter()
            .cloned()
            .map(|mut p| {
                p.aging.days = policy.days;
                p
            })
            .collect();
        if had > 0 && usable_super_admins(aged.iter(), now) == 0 {
            return Err(CoreError::invalid(
                "policy.max_days",
                "would expire the password of every local superAdmin that can log in now",
            ));
        }
        let json = serde_json::to_string(&policy)
            .map_err(|e| CoreError::internal(format!("the password policy: {e}")))?;
        self.store
            .set_password_days(&Realm::Local, policy.days, (POLICY_KEY, &json))
            .await?;
        info!(by = %caller.user, accounts = accounts.len(), "password policy set");
        Ok(())
    }

    /// Whether `policy.set` would take `info` (its fields; not the check against the accounts).
    pub(crate) fn check_password_policy(&self, info: &PolicyInfo) -> Result<(), CoreError> {
        self.policy_from(info).map(|_| ())
    }

    /// The policy a `policy.set` asks for, every field checked; fields ferrocenter does not
    /// enforce are refused unless they ask for what it does.
    fn policy_from(&self, info: &PolicyInfo) -> Result<PasswordPolicy, CoreError> {
        let day = |field: &str, v: Option<i64>| match v {
            Some(v) => days(field, v),
            None => Ok(None),
        };
        let d = PasswordDays {
            max: day("policy.max_days", info.max_days)?,
            min: day("policy.min_days", info.min_days)?,
            warn: day("policy.warn_days", info.warn_days)?,
        };
        if let (Some(min), Some(max)) = (d.min, d.max) {
            if min > max {
                return Err(CoreError::invalid(
                    "policy.min_days",
                    format!("must not exceed max_days ({max}): the password could never be changed before it expires"),
                ));
            }
        }
        let floor = PasswordRule::default().min_length;
        let min_length = match info.minimum_length {
            None | Some(-1) => floor,
            Some(n) => {
                let n = count("policy.minimum_length", Some(n))?;
                if n < floor {
                    return Err(CoreError::invalid(
                        "policy.minimum_length",
                        format!("must be at least {floor}, the least any password may have"),
                    ));
                }
                n
            }
        };
        let policy = PasswordPolicy {
            days: d,
            min_length,
            min_uppercase: count(
                "policy.minimum_uppercase_char_count",
                info.minimum_uppercase_char_count,
            )?,
            min_lowercase: count(
                "policy.minimum_lowercase_char_count",
                info.minimum_lowercase_char_count,
            )?,
            min_digits: count(
                "policy.minimum_numerics_char_count",
                info.minimum_numerics_char_count,
            )?,
            min_special: count(
                "policy.minimum_special_char_count",
                info.minimum_special_char_count,
            )?,
        };
        let classes =
            policy.min_uppercase + policy.min_lowercase + policy.min_digits + policy.min_special;
        if classes > crate::auth::password::PASSWORD_MAX_BYTES {
            return Err(CoreError::invalid(
                "policy.minimum_special_char_count",
                "the character counts together exceed the longest password",
            ));
        }
        if matches!(info.prior_password_remember_count, Some(n) if n > 0) {
            return Err(CoreError::not_supported(
                "policy.prior_password_remember_count (remembering prior passwords)",
            ));
        }
        if info.managed_at_fleet == Some(true) {
            return Err(CoreError::not_supported(
                "policy.managed_at_fleet (fleet-managed password policies)",
            ));
        }
        let lockout = &self.auth.lockout_policy();
        for (field, given, now, key) in [
            (
                "policy.failed_attempt_count_before_account_lockout",
                info.failed_attempt_count_before_account_lockout,
                i64::from(lockout.max_failures),
                "lockout_max_failures",
            ),
            (
                "policy.length_of_lockout_period_in_seconds",
                info.length_of_lockout_period_in_seconds,
                lockout.duration.as_secs() as i64,
                "lockout_duration_secs",
            ),
            (
                "policy.fail_interval_between_attempts",
                info.fail_interval_between_attempts,
                lockout.window.as_secs() as i64,
                "lockout_window_secs",
            ),
        ] {
            if given.is_some_and(|g| g != now) {
                return Err(CoreError::not_supported(format!(
                    "changing {field} through local_accounts.policy (the lockout policy is \
                     com.ferrocenter.sso.lockout_policy, starting from the configuration key \
                     {key}; now {now})"
                )));
            }
        }
        Ok(policy)
    }
}

/// How a configuration applies: `Replace` (create, set) fills unset fields with defaults,
/// `Patch` (update) leaves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Replace,
    Patch,
}

/// Applies everything but the password itself to `p`, checking each field; on an error `p`
/// is half-changed, so callers apply to a copy.
fn apply(
    p: &mut Principal,
    c: &AccountConfig,
    mode: Mode,
    policy: &PasswordPolicy,
) -> Result<(), CoreError> {
    let replace = mode == Mode::Replace;
    match &c.roles {
        Some(r) => p.role = roles("config.roles", r)?,
        None if replace => return Err(CoreError::invalid("config.roles", "is required")),
        None => {}
    }
    match &c.full_name {
        Some(v) => p.full_name = text("config.full_name", v)?,
        None if replace => p.full_name = None,
        None => {}
    }
    match &c.email {
        Some(v) => p.email = email("config.email", v)?,
        None if replace => p.email = None,
        None => {}
    }
    if let Some(e) = c.enabled.or(replace.then_some(true)) {
        p.disabled = !e;
    }
    if let Some(e) = c.password_expires.or(replace.then_some(true)) {
        p.aging.expires = e;
    }
    match c.password_expires_at {
        Some(at) => p.aging.expires_at = Some(at),
        None if replace => p.aging.expires_at = None,
        None => {}
    }
    if let Some(e) = c
        .inactive_after_password_expiration
        .or(replace.then_some(true))
    {
        p.aging.inactive_after_expiry = e;
    }
    match c.days_after_password_expiration {
        Some(v) => p.aging.inactive_days = days("config.days_after_password_expiration", v)?,
        None if replace => p.aging.inactive_days = None,
        None => {}
    }
    for (field, given, slot, default) in [
        (
            "config.min_days_between_password_change",
            c.min_days_between_password_change,
            &mut p.aging.days.min,
            policy.days.min,
        ),
        (
            "config.max_days_between_password_change",
            c.max_days_between_password_change,
            &mut p.aging.days.max,
            policy.days.max,
        ),
        (
            "config.warn_days_before_password_expiration",
            c.warn_days_before_password_expiration,
            &mut p.aging.days.warn,
            policy.days.warn,
        ),
    ] {
        match given {
            Some(v) => *slot = days(field, v)?,
            None if replace => *slot = default,
            None => {}
        }
    }
    if let (Some(min), Some(max)) = (p.aging.days.min, p.aging.days.max) {
        if min > max {
            return Err(CoreError::invalid(
                "config.min_days_between_password_change",
                format!("must not exceed max_days_between_password_change ({max})"),
            ));
        }
    }
    if c.password_expires_at.is_some() && !p.aging.expires {
        return Err(CoreError::invalid(
            "config.password_expires_at",
            "is given for a password that does not expire (password_expires is false)",
        ));
    }
    Ok(())
}

/// The field that takes away an account's superAdmin login, if the change does.
fn field_of_loss(
    before: &Principal,
    after: &Principal,
    now: OffsetDateTime,
) -> Option<&'static str> {
    if before.role == Role::SuperAdmin && after.role != Role::SuperAdmin {
        Some("config.roles")
    } else if !before.disabled && after.disabled {
        Some("config.enabled")
    } else if after.login_refusal(now).is_some() {
        Some(if after.aging.expires_at != before.aging.expires_at {
            "config.password_expires_at"
        } else if after.aging.expires != before.aging.expires {
            "config.password_expires"
        } else {
            "config.max_days_between_password_change"
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_name_the_index_of_an_unknown_one() {
        let e = roles("config.roles", &["operator".into(), "root".into()]).unwrap_err();
        assert!(
            matches!(e, CoreError::InvalidArgument { ref field, .. } if field == "config.roles[1]")
        );
        assert_eq!(
            roles("config.roles", &["operator".into(), "superAdmin".into()]).unwrap(),
            Role::SuperAdmin
        );
        assert!(roles("config.roles", &[]).is_err());
    }

    #[test]
    fn days_bounds_and_no_restriction() {
        assert_eq!(days("d", -1).unwrap(), None);
        assert_eq!(days("d", 0).unwrap(), Some(0));
        assert_eq!(days("d", DAYS_MAX).unwrap(), Some(DAYS_MAX));
        for bad in [-2, DAYS_MAX + 1] {
            assert!(days("policy.max_days", bad)
                .unwrap_err()
                .to_string()
                .contains("policy.max_days"));
        }
    }

    #[test]
    fn emails_are_name_at_domain() {
        assert_eq!(
            email("config.email", "ops@example.com").unwrap().as_deref(),
            Some("ops@example.com")
        );
        assert_eq!(email("config.email", "").unwrap(), None);
        for bad in [
            "ops",
            "@example.com",
            "a@b@c",
            "a b@example.com",
            "a@bad_domain",
        ] {
            assert!(
                matches!(email("config.email", bad), Err(CoreError::InvalidArgument { ref field, .. }) if field == "config.email"),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_password_means_nothing_else() {
        let pw = AccountConfig {
            password: Some("x".into()),
            old_password: Some("y".into()),
            ..Default::default()
        };
        assert!(pw.only_password());
        let more = AccountConfig {
            enabled: Some(true),
            ..pw.clone()
        };
        assert!(!more.only_password());
        assert!(!AccountConfig::default().only_password());
    }
}
