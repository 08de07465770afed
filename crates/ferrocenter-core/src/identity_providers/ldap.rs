//! The directory side of a provider (`idm_protocol` LDAP, `active_directory_over_ldap`): the
//! spec's rules (at least one `ldap://` or `ldaps://` endpoint; a certificate chain unless every
//! endpoint is plain LDAP), the bind check made before the settings are kept, and the user and
//! group searches under the base DNs that permissions and group mapping use.
use serde::{Deserialize, Serialize};

use crate::auth::{Caller, Privilege};
use crate::ports::{BindPassword, FederationError, LdapEntry, LdapTarget};
use crate::{Core, CoreError};

const F: &str = "spec.active_directory_over_ldap";

/// What is kept, without the password (sealed apart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LdapSettings {
    pub user_name: String,
    pub users_base_dn: String,
    pub groups_base_dn: String,
    pub server_endpoints: Vec<String>,
    /// PEM certificates an `ldaps://` server must chain to.
    pub cert_chain: Option<Vec<String>>,
}

/// `active_directory_over_ldap` as given (all set on create; on update the password may be
/// left out to keep the one in force).
#[derive(Debug, Clone, Default)]
pub struct LdapSpec {
    pub user_name: Option<String>,
    pub password: Option<BindPassword>,
    pub users_base_dn: Option<String>,
    pub groups_base_dn: Option<String>,
    pub server_endpoints: Option<Vec<String>>,
    pub cert_chain: Option<Vec<String>>,
}

/// A user a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    pub dn: String,
    /// `sAMAccountName` (Active Directory) or `uid`.
    pub name: String,
    pub display_name: Option<String>,
    /// `userPrincipalName`, or `mail` where the directory has no UPN.
    pub upn: Option<String>,
}

/// A group a search found, with its members' DNs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryGroup {
    pub dn: String,
    pub name: String,
    pub members: Vec<String>,
}

/// Whether `idm_protocol` asks for LDAP; the other protocols of the SDK are not served.
pub(crate) fn protocol(p: Option<&str>) -> Result<bool, CoreError> {
    match p {
        None => Ok(false),
        Some("LDAP") | Some("ldap") => Ok(true),
        Some(other @ ("REST" | "SCIM" | "SCIM2_0")) => Err(CoreError::invalid(
            "spec.idm_protocol",
            format!("{other} is not supported by ferrocenter; use LDAP"),
        )),
        Some(other) => Err(CoreError::invalid(
            "spec.idm_protocol",
            format!("'{other}' is not one of REST, SCIM, SCIM2_0, LDAP"),
        )),
    }
}

fn dn(field: &str, v: &str) -> Result<String, CoreError> {
    let v = v.trim();
    if v.is_empty() || !v.contains('=') || v.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            field,
            format!("'{v}' is not a distinguished name (such as dc=example,dc=com)"),
        ));
    }
    Ok(v.to_string())
}

fn endpoints(given: &[String]) -> Result<Vec<String>, CoreError> {
    if given.is_empty() {
        return Err(CoreError::invalid(
            format!("{F}.server_endpoints"),
            "at least one server endpoint is required",
        ));
    }
    given
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let field = format!("{F}.server_endpoints[{i}]");
            let u = url::Url::parse(e.trim()).map_err(|_| {
                CoreError::invalid(
                    &field,
                    format!("'{e}' is not ldap://host:port or ldaps://host:port"),
                )
            })?;
            let path_ok = matches!(u.path(), "" | "/");
            if !matches!(u.scheme(), "ldap" | "ldaps")
                || u.host_str().is_none_or(str::is_empty)
                || !path_ok
                || u.query().is_some()
            {
                return Err(CoreError::invalid(
                    &field,
                    format!("'{e}' is not ldap://host:port or ldaps://host:port"),
                ));
            }
            Ok(e.trim().trim_end_matches('/').to_string())
        })
        .collect()
}

/// PEM certificates; a bare base64 DER (the guide's "base64 encoding") is wrapped.
fn chain(given: &[String]) -> Result<Vec<String>, CoreError> {
    if given.is_empty() {
        return Err(CoreError::invalid(
            format!("{F}.cert_chain"),
            "holds no certificate",
        ));
    }
    given
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let c = c.trim();
            if c.contains("-----BEGIN CERTIFICATE-----") && c.contains("-----END CERTIFICATE-----")
            {
                return Ok(format!("{c}\n"));
            }
            use base64::Engine as _;
            let compact: String = c.split_whitespace().collect();
            match base64::engine::general_purpose::STANDARD.decode(&compact) {
                Ok(der) if der.first() == Some(&0x30) => {
                    let body = compact
                        .as_bytes()
                        .chunks(64)
                        .map(|l| String::from_utf8_lossy(l).into_owned())
                        .collect::<Vec<_>>()
                        .join("\n");
                    Ok(format!(
                        "-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
                    ))
                }
                _ => Err(CoreError::invalid(
                    format!("{F}.cert_chain.cert_chain[{i}]"),
                    "is not a PEM or base64 X.509 certificate",
                )),
            }
        })
        .collect()
}

fn needs_chain(s: &LdapSettings) -> Result<(), CoreError> {
    let tls = s.server_endpoints.iter().any(|e| e.starts_with("ldaps://"));
    if tls && s.cert_chain.is_none() {
        return Err(CoreError::invalid(
            format!("{F}.cert_chain"),
            "is required when an endpoint is ldaps://",
        ));
    }
    Ok(())
}

fn text(field: &str, v: &Option<String>) -> Result<String, CoreError> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(CoreError::invalid(format!("{F}.{field}"), "is required")),
    }
}

pub(crate) fn settings_for_create(s: &LdapSpec) -> Result<(LdapSettings, BindPassword), CoreError> {
    let password = s
        .password
        .clone()
        .filter(|p| !p.expose().is_empty())
        .ok_or_else(|| CoreError::invalid(format!("{F}.password"), "is required"))?;
    let settings = LdapSettings {
        user_name: text("user_name", &s.user_name)?,
        users_base_dn: dn(
            &format!("{F}.users_base_dn"),
            &text("users_base_dn", &s.users_base_dn)?,
        )?,
        groups_base_dn: dn(
            &format!("{F}.groups_base_dn"),
            &text("groups_base_dn", &s.groups_base_dn)?,
        )?,
        server_endpoints: endpoints(s.server_endpoints.as_deref().unwrap_or_default())?,
        cert_chain: s.cert_chain.as_deref().map(chain).transpose()?,
    };
    needs_chain(&settings)?;
    Ok((settings, password))
}

/// The changed settings; the password in force when none is given.
pub(crate) fn settings_for_update(
    current: Option<LdapSettings>,
    current_password: Option<String>,
    s: &LdapSpec,
) -> Result<(LdapSettings, BindPassword), CoreError> {
    let Some(mut c) = current else {
        return settings_for_create(s);
    };
    if let Some(u) = &s.user_name {
        c.user_name = text("user_name", &Some(u.clone()))?;
    }
    if let Some(b) = &s.users_base_dn {
        c.users_base_dn = dn(&format!("{F}.users_base_dn"), b)?;
    }
    if let Some(b) = &s.groups_base_dn {
        c.groups_base_dn = dn(&format!("{F}.groups_base_dn"), b)?;
    }
    if let Some(e) = &s.server_endpoints {
        c.server_endpoints = endpoints(e)?;
    }
    if let Some(ch) = &s.cert_chain {
        c.cert_chain = Some(chain(ch)?);
    }
    needs_chain(&c)?;
    let password = match (&s.password, current_password) {
        (Some(p), _) if !p.expose().is_empty() => p.clone(),
        (Some(_), _) => {
            return Err(CoreError::invalid(
                format!("{F}.password"),
                "must not be empty",
            ))
        }
        (None, Some(p)) => BindPassword::new(p),
        (None, None) => return Err(CoreError::invalid(format!("{F}.password"), "is required")),
    };
    Ok((c, password))
}

fn target(s: &LdapSettings, endpoint: &str, password: &BindPassword) -> LdapTarget {
    LdapTarget {
        url: endpoint.to_string(),
        bind_user: s.user_name.clone(),
        password: password.clone(),
        cert_chain_pem: s.cert_chain.clone().unwrap_or_default(),
    }
}

/// RFC 4515 §3: the characters a filter value escapes.
pub fn escape_filter_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// Users whose account name, common name, UPN or mail contain `q` (all users when empty).
/// Active Directory's people are `objectCategory=person` (which leaves computers out, though
/// they are `objectClass=user` too); OpenLDAP's are inetOrgPerson or posixAccount. A directory
/// evaluates an attribute it does not know as undefined, which an OR skips — so no NOT here,
/// where undefined would drop every entry.
pub fn user_filter(q: &str) -> String {
    let classes = "(|(objectCategory=person)(objectClass=inetOrgPerson)(objectClass=posixAccount))";
    if q.is_empty() {
        return classes.to_string();
    }
    let q = escape_filter_value(q);
    format!(
        "(&{classes}(|(sAMAccountName=*{q}*)(uid=*{q}*)(cn=*{q}*)(userPrincipalName=*{q}*)(mail=*{q}*)))"
    )
}

/// Groups whose common name contains `q` (all groups when empty).
pub fn group_filter(q: &str) -> String {
    let classes = "(|(objectClass=group)(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))";
    if q.is_empty() {
        return classes.to_string();
    }
    format!("(&{classes}(cn=*{}*))", escape_filter_value(q))
}

fn first(e: &LdapEntry, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| e.attrs.get(*n).and_then(|v| v.first()).cloned())
}

/// At most this many entries a search returns.
pub const SEARCH_LIMIT_MAX: usize = 1000;

impl Core {
    /// Binds to every endpoint with the given account; refused naming the endpoint or the
    /// password.
    pub(super) async fn check_ldap_bind(
        &self,
        s: &LdapSettings,
        password: &BindPassword,
    ) -> Result<(), CoreError> {
        for (i, e) in s.server_endpoints.iter().enumerate() {
            match self
                .federation
                .ports
                .ldap
                .check_bind(&target(s, e, password))
                .await
            {
                Ok(()) => {}
                Err(FederationError::InvalidCredentials) => {
                    return Err(CoreError::invalid(
                        format!("{F}.password"),
                        format!("the directory at '{e}' refused the user name or password"),
                    ))
                }
                Err(other) => {
                    return Err(CoreError::invalid(
                        format!("{F}.server_endpoints[{i}]"),
                        format!("'{e}': {other}"),
                    ))
                }
            }
        }
        Ok(())
    }

    /// The provider's LDAP settings and bind password, for a search.
    async fn directory_of(&self, id: &str) -> Result<(LdapSettings, BindPassword), CoreError> {
        let r = self.provider_record(id).await?;
        let c = self.open_config(&r)?;
        let (Some(s), Some(p)) = (c.ldap, r.ldap_password) else {
            return Err(CoreError::invalid_state(format!(
                "the identity provider {id} has no LDAP directory (idm_protocol is unset)"
            )));
        };
        Ok((s, BindPassword::new(self.secrets.open(&p)?)))
    }

    /// Searches the first endpoint that answers.
    pub(super) async fn directory_search(
        &self,
        id: &str,
        users: bool,
        filter: &str,
        attrs: &[&str],
        limit: usize,
    ) -> Result<Vec<LdapEntry>, CoreError> {
        let (s, password) = self.directory_of(id).await?;
        let base = if users {
            &s.users_base_dn
        } else {
            &s.groups_base_dn
        };
        let limit = limit.clamp(1, SEARCH_LIMIT_MAX);
        let mut last = None;
        for e in &s.server_endpoints {
            match self
                .federation
                .ports
                .ldap
                .search(&target(&s, e, &password), base, filter, attrs, limit)
                .await
            {
                Ok(found) => return Ok(found),
                Err(err) => {
                    tracing::warn!(provider = %id, endpoint = %e, "directory search failed: {err}");
                    last = Some(format!("{e}: {err}"));
                }
            }
        }
        Err(CoreError::Unavailable {
            message: format!(
                "no directory server of identity provider {id} answered ({})",
                last.unwrap_or_default()
            ),
        })
    }

    /// Users under the provider's users base DN whose names contain `query`.
    pub async fn identity_provider_search_users(
        &self,
        caller: &Caller,
        id: &str,
        query: &str,
        limit: usize,
    ) -> Result<Vec<DirectoryUser>, CoreError> {
        self.auth
            .authorize(caller, Privilege::VcIdentityProvidersRead)?;
        let attrs = [
            "sAMAccountName",
            "uid",
            "cn",
            "displayName",
            "userPrincipalName",
            "mail",
        ];
        let found = self
            .directory_search(id, true, &user_filter(query), &attrs, limit)
            .await?;
        Ok(found
            .into_iter()
            .map(|e| DirectoryUser {
                name: first(&e, &["samaccountname", "uid", "cn"]).unwrap_or_else(|| e.dn.clone()),
                display_name: first(&e, &["displayname", "cn"]),
                upn: first(&e, &["userprincipalname", "mail"]),
                dn: e.dn,
            })
            .collect())
    }

    /// Groups under the provider's groups base DN whose names contain `query`.
    pub async fn identity_provider_search_groups(
        &self,
        caller: &Caller,
        id: &str,
        query: &str,
        limit: usize,
    ) -> Result<Vec<DirectoryGroup>, CoreError> {
        self.auth
            .authorize(caller, Privilege::VcIdentityProvidersRead)?;
        let attrs = ["cn", "member", "uniqueMember", "memberUid"];
        let found = self
            .directory_search(id, false, &group_filter(query), &attrs, limit)
            .await?;
        Ok(found
            .into_iter()
            .map(|e| DirectoryGroup {
                name: first(&e, &["cn"]).unwrap_or_else(|| e.dn.clone()),
                members: ["member", "uniquemember", "memberuid"]
                    .iter()
                    .flat_map(|a| e.attrs.get(*a).cloned().unwrap_or_default())
                    .collect(),
                dn: e.dn,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(endpoints: &[&str], chain: Option<Vec<String>>) -> LdapSpec {
        LdapSpec {
            user_name: Some("cn=reader,dc=example,dc=com".into()),
            password: Some(BindPassword::new("pw")),
            users_base_dn: Some("ou=users,dc=example,dc=com".into()),
            groups_base_dn: Some("ou=groups,dc=example,dc=com".into()),
            server_endpoints: Some(endpoints.iter().map(ToString::to_string).collect()),
            cert_chain: chain,
        }
    }

    fn field(e: CoreError) -> String {
        match e {
            CoreError::InvalidArgument { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn endpoints_and_chain_rules() {
        assert!(settings_for_create(&spec(&["ldap://dc1:389"], None)).is_ok());
        let e =
            settings_for_create(&spec(&["ldap://dc1:389", "ldaps://dc2:636"], None)).unwrap_err();
        assert_eq!(field(e), "spec.active_directory_over_ldap.cert_chain");
        let e = settings_for_create(&spec(&[], None)).unwrap_err();
        assert_eq!(field(e), "spec.active_directory_over_ldap.server_endpoints");
        let e = settings_for_create(&spec(&["ldap://dc1", "http://dc2"], None)).unwrap_err();
        assert_eq!(
            field(e),
            "spec.active_directory_over_ldap.server_endpoints[1]"
        );
        let e = settings_for_create(&spec(&["ldaps://dc2:636"], Some(vec!["junk".into()])))
            .unwrap_err();
        assert_eq!(
            field(e),
            "spec.active_directory_over_ldap.cert_chain.cert_chain[0]"
        );
    }

    #[test]
    fn filters_escape_what_the_caller_types() {
        assert_eq!(escape_filter_value("a*(b)\\"), "a\\2a\\28b\\29\\5c");
        assert!(group_filter("adm)(cn=*").contains("adm\\29\\28cn=\\2a"));
        assert!(!user_filter("").contains('!'));
    }
}
