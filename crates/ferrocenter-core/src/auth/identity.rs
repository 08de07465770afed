//! Who can log in: users of SSO domains, local accounts of the appliance, and groups.
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::roles::Role;
use crate::CoreError;

/// Where a principal lives: an SSO domain (`vsphere.local`) or the appliance's local accounts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Realm {
    Sso { domain: String },
    Local,
}

impl Realm {
    pub fn sso(domain: impl Into<String>) -> Realm {
        Realm::Sso {
            domain: domain.into().to_ascii_lowercase(),
        }
    }

    /// The value of the `domain` column: the domain name, or empty for local accounts.
    pub fn store_key(&self) -> &str {
        match self {
            Realm::Sso { domain } => domain,
            Realm::Local => "",
        }
    }

    pub fn from_store_key(key: &str) -> Realm {
        if key.is_empty() {
            Realm::Local
        } else {
            Realm::Sso {
                domain: key.to_string(),
            }
        }
    }
}

/// A user that can authenticate. Names are kept lower-case: vCenter's logins are
/// case-insensitive, and one spelling per account keeps the lockout counter honest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    pub realm: Realm,
    pub name: String,
    /// PHC string of an argon2id hash; never the password.
    pub password_hash: String,
    /// PHC string of an argon2id hash of the password's SHA-512 hex digest, for clients that
    /// log in with the digest (ZStack). Unset for accounts whose password predates it until
    /// their next login with the password.
    pub digest_verifier: Option<String>,
    /// The role given to this principal directly; groups may raise it.
    pub role: Role,
    pub full_name: Option<String>,
    pub email: Option<String>,
    /// What the account is for (SSO users; shown to administrators).
    pub description: Option<String>,
    pub disabled: bool,
    pub created_at: OffsetDateTime,
    pub password_changed_at: OffsetDateTime,
    /// When the password expires (local accounts; SSO users' passwords never do).
    pub aging: PasswordAging,
}

/// The days of a password's life, as `chage` keeps them: `None` is no restriction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordDays {
    /// Days after a change before the account's owner may change it again.
    pub min: Option<i64>,
    /// Days after a change when the password expires (if it expires at all).
    pub max: Option<i64>,
    /// Days before expiry from which the owner is warned (reported; ferrocenter has no
    /// interactive login to show the warning in).
    pub warn: Option<i64>,
}

/// How a principal's password expires. The default never expires: accounts made before
/// password aging existed, the SSO users, and the `root` of the first start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PasswordAging {
    /// Whether the password expires at all.
    pub expires: bool,
    /// An expiry set explicitly; without one the password expires `days.max` after a change.
    pub expires_at: Option<OffsetDateTime>,
    /// Whether the account is reported inactive `inactive_days` after the expiry.
    pub inactive_after_expiry: bool,
    pub inactive_days: Option<i64>,
    pub days: PasswordDays,
}

/// Why a principal whose password was right may not log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    Disabled,
    PasswordExpired,
}

impl LoginRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginRefusal::Disabled => "the account is disabled",
            LoginRefusal::PasswordExpired => "the password has expired",
        }
    }
}

impl Principal {
    /// When the password expires: never unless aging says it does; then the explicit date, or
    /// `days.max` after the last change.
    pub fn password_expires_at(&self) -> Option<OffsetDateTime> {
        let a = &self.aging;
        if !a.expires {
            return None;
        }
        a.expires_at.or_else(|| {
            a.days.max.and_then(|d| {
                self.password_changed_at
                    .checked_add(time::Duration::days(d))
            })
        })
    }

    /// When the account goes inactive after its password expired, if it does.
    pub fn inactive_at(&self) -> Option<OffsetDateTime> {
        if !self.aging.inactive_after_expiry {
            return None;
        }
        let days = self.aging.inactive_days.unwrap_or(0);
        self.password_expires_at()?
            .checked_add(time::Duration::days(days))
    }

    /// The rule every login applies after the password matched: a disabled account, or one
    /// whose password has expired, cannot log in (there is no interactive "change your
    /// password now" on an API, so expiry ends logins at once rather than at `inactive_at`).
    pub fn login_refusal(&self, now: OffsetDateTime) -> Option<LoginRefusal> {
        if self.disabled {
            Some(LoginRefusal::Disabled)
        } else if self.password_expires_at().is_some_and(|e| e <= now) {
            Some(LoginRefusal::PasswordExpired)
        } else {
            None
        }
    }

    /// `administrator@vsphere.local` for SSO users, the bare name for local accounts.
    pub fn login_name(&self) -> String {
        match &self.realm {
            Realm::Sso { domain } => format!("{}@{}", self.name, domain),
            Realm::Local => self.name.clone(),
        }
    }
}

/// A group of principals in one realm. A group may carry a role that its members receive
/// (table 4-2 of the management guide: `SystemConfiguration.BashShellAdministrators` → superAdmin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: String,
    pub realm: Realm,
    pub name: String,
    pub role: Option<Role>,
    pub description: String,
}

/// A login name split into realm and account. `user@domain` and `DOMAIN\user` name an SSO user;
/// a bare name is a local account on the appliance listener and a user of the default SSO domain
/// elsewhere.
pub fn parse_login_name(
    raw: &str,
    bare_names_are_local: bool,
    default_domain: &str,
) -> Result<(Realm, String), CoreError> {
    let raw = raw.trim();
    let (realm, name) = if let Some((user, domain)) = raw.rsplit_once('@') {
        (Realm::sso(domain), user)
    } else if let Some((domain, user)) = raw.split_once('\\') {
        (Realm::sso(domain), user)
    } else if bare_names_are_local {
        (Realm::Local, raw)
    } else {
        (Realm::sso(default_domain), raw)
    };
    validate_account_name("username", name)?;
    if let Realm::Sso { domain } = &realm {
        validate_domain_name("username", domain)?;
    }
    Ok((realm, name.to_ascii_lowercase()))
}

/// Account names: 1–64 characters from letters, digits, `.`, `_` and `-`, not starting with `-`.
/// The longest local account name.
pub const ACCOUNT_NAME_MAX_CHARS: usize = 64;

/// [`validate_account_name`]'s characters as a pattern (the OpenAPI document states it).
pub const ACCOUNT_NAME_PATTERN: &str = "^[A-Za-z0-9._][A-Za-z0-9._-]*$";

pub fn validate_account_name(field: &str, name: &str) -> Result<(), CoreError> {
    if name.is_empty() || name.len() > ACCOUNT_NAME_MAX_CHARS {
        return Err(CoreError::invalid(
            field,
            format!("must be 1 to {ACCOUNT_NAME_MAX_CHARS} characters long"),
        ));
    }
    if name.starts_with('-')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(CoreError::invalid(
            field,
            "may contain only letters, digits, '.', '_' and '-', and must not start with '-'",
        ));
    }
    Ok(())
}

pub(crate) fn validate_domain_name(field: &str, domain: &str) -> Result<(), CoreError> {
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            field,
            "the domain part is not a valid domain name",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_name_forms() {
        let sso = Realm::sso("vsphere.local");
        assert_eq!(
            parse_login_name("Administrator@VSPHERE.LOCAL", false, "vsphere.local").unwrap(),
            (sso.clone(), "administrator".into())
        );
        assert_eq!(
            parse_login_name("VSPHERE.LOCAL\\administrator", true, "vsphere.local").unwrap(),
            (sso.clone(), "administrator".into())
        );
        assert_eq!(
            parse_login_name("root", true, "vsphere.local").unwrap(),
            (Realm::Local, "root".into())
        );
        assert_eq!(
            parse_login_name("root", false, "vsphere.local").unwrap(),
            (sso, "root".into())
        );
    }

    #[test]
    fn bad_names_name_the_field() {
        for bad in ["", "a b", "-x", "x@", "x@bad_domain", &"a".repeat(65)] {
            match parse_login_name(bad, false, "vsphere.local") {
                Err(CoreError::InvalidArgument { field, .. }) => assert_eq!(field, "username"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }
}
