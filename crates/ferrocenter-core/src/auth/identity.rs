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
    pub disabled: bool,
    pub created_at: OffsetDateTime,
    pub password_changed_at: OffsetDateTime,
}

impl Principal {
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
pub fn validate_account_name(field: &str, name: &str) -> Result<(), CoreError> {
    if name.is_empty() || name.len() > 64 {
        return Err(CoreError::invalid(field, "must be 1 to 64 characters long"));
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

fn validate_domain_name(field: &str, domain: &str) -> Result<(), CoreError> {
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
