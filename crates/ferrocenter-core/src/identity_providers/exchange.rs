//! The token exchange (`vcenter.tokenservice.token_exchange`, RFC 8693): a federated user
//! presents a token its identity provider issued and gets a session here. Every rule is here:
//!
//! - the request's shape: the token-exchange grant, a JWT subject token (ID or access token),
//!   a session asked for (the access-token type, or none named); no delegation (`actor_token`);
//! - the provider is the one whose issuer the token names; its signature is checked by the
//!   [`JwtVerifier`](crate::ports::JwtVerifier) port against the provider's JWKS, which is
//!   cached and fetched again when a token names a key it does not hold, or names none and
//!   fails (key rotation) — at most once per [`KEY_REFETCH_FLOOR`] per provider, so that
//!   forged tokens cannot make every request a fetch;
//! - `iss` is the provider's issuer, `aud` holds its `client_id`, `exp` (required) and `nbf`
//!   are kept give or take the token policy's clock tolerance;
//! - the user is the provider's `upn_claim` (`user@domain`); their groups are the
//!   `groups_claim` when the token carries it, else the groups the provider's LDAP directory
//!   lists them in; groups are named `domain\group` (the UPN's domain);
//! - their role is the highest of the SSO groups holding one of those groups (table 4-2:
//!   `SystemConfiguration.Administrators` → admin, `…BashShellAdministrators` → superAdmin).
//!   A user in no such group is refused `NoPermission`: vCenter lets no one without a
//!   permission in, and ferrocenter has no role below operator to give.
//!
//! Every refusal of the token itself is `Unauthenticated`, whatever the reason (logged, never
//! answered, and never the token). Local logins never come here.
use std::collections::HashMap;

use serde_json::Value;
use time::{Duration, OffsetDateTime};
use tracing::{info, warn};

use super::ldap::escape_filter_value;
use super::{ConfigTag, ProviderConfig, ProviderRecord};
use crate::auth::{Caller, Origin, Privilege, Realm, SessionToken};
use crate::ports::JwtError;
use crate::{Core, CoreError};

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
pub const SAML2_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:saml2";
/// How the issued token is used (the SDK's `BEARER_TOKEN_METHOD_TYPE`).
pub const BEARER: &str = "Bearer";

/// A token naming a key the cached JWKS lacks makes this server fetch it again at most this
/// often per provider.
pub const KEY_REFETCH_FLOOR: Duration = Duration::seconds(5);

/// The longest subject token read (AD FS tokens with many groups are a few kB).
const TOKEN_MAX: usize = 64 * 1024;

/// `exchange_spec` as given.
#[derive(Debug, Clone, Default)]
pub struct ExchangeRequest {
    pub grant_type: String,
    pub subject_token: String,
    pub subject_token_type: String,
    pub requested_token_type: Option<String>,
    pub actor_token: Option<String>,
    pub actor_token_type: Option<String>,
    pub resource: Option<String>,
    pub audience: Option<String>,
    pub scope: Option<String>,
}

/// What an exchange gives: a session of the listener the request came in on.
pub struct Exchanged {
    pub session: SessionToken,
    pub issued_token_type: &'static str,
    pub token_type: &'static str,
    pub caller: Caller,
}

/// Each provider's JWKS and when it was fetched.
#[derive(Default)]
pub struct KeyCache {
    sets: parking_lot::Mutex<HashMap<String, (Value, OffsetDateTime)>>,
}

impl KeyCache {
    /// Forgets a provider's keys (it was changed or deleted).
    pub fn forget(&self, provider: &str) {
        self.sets.lock().remove(provider);
    }
}

/// Why a token is refused, for the log; the caller only sees `Unauthenticated`.
fn refuse(why: impl std::fmt::Display) -> CoreError {
    info!("token exchange refused: {why}");
    CoreError::Unauthenticated
}

/// The request's fields other than the token: what this server serves.
fn check_request(r: &ExchangeRequest) -> Result<(), CoreError> {
    if r.grant_type != GRANT_TYPE {
        return Err(CoreError::invalid(
            "spec.grant_type",
            format!("'{}' is not {GRANT_TYPE}", r.grant_type),
        ));
    }
    if ![ID_TOKEN_TYPE, ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE].contains(&r.subject_token_type.as_str())
    {
        return Err(CoreError::invalid(
            "spec.subject_token_type",
            format!(
                "'{}' is not a JWT token type ({ID_TOKEN_TYPE}, {ACCESS_TOKEN_TYPE} or {JWT_TOKEN_TYPE})",
                r.subject_token_type
            ),
        ));
    }
    match r.requested_token_type.as_deref() {
        None | Some(ACCESS_TOKEN_TYPE) => {}
        Some(SAML2_TOKEN_TYPE) => {
            return Err(CoreError::not_supported(
                "token exchange for a SAML 2.0 token (ask for an access token: a session)",
            ))
        }
        Some(other) => {
            return Err(CoreError::invalid(
                "spec.requested_token_type",
                format!("'{other}' is not {ACCESS_TOKEN_TYPE}"),
            ))
        }
    }
    if r.actor_token.is_some() || r.actor_token_type.is_some() {
        return Err(CoreError::invalid(
            "spec.actor_token",
            "delegation (an actor token) is not supported",
        ));
    }
    if r.subject_token.is_empty() || r.subject_token.len() > TOKEN_MAX {
        return Err(CoreError::invalid(
            "spec.subject_token",
            format!("must be 1 to {TOKEN_MAX} characters"),
        ));
    }
    Ok(())
}

/// The provider's issuer and client id, as a token of it names them.
fn issuer_and_client(c: &ProviderConfig) -> Option<(&str, &str)> {
    match c.config_tag {
        ConfigTag::Oidc => {
            let o = c.oidc.as_ref()?;
            Some((o.discovered.as_ref()?.issuer.as_str(), o.client_id.as_str()))
        }
        ConfigTag::Oauth2 => {
            let o = c.oauth2.as_ref()?;
            Some((o.issuer.as_str(), o.client_id.as_str()))
        }
    }
}

fn jwks_uri(c: &ProviderConfig) -> Option<&str> {
    match c.config_tag {
        ConfigTag::Oidc => Some(
            c.oidc
                .as_ref()?
                .discovered
                .as_ref()?
                .public_key_uri
                .as_str(),
        ),
        ConfigTag::Oauth2 => Some(c.oauth2.as_ref()?.public_key_uri.as_str()),
    }
}

fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// A NumericDate claim (RFC 7519 §2), as a time.
fn date(claims: &Value, name: &str) -> Result<Option<OffsetDateTime>, CoreError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let secs = v
                .as_i64()
                .or_else(|| v.as_f64().map(|f| f as i64))
                .ok_or_else(|| refuse(format!("its {name} is not a number")))?;
            OffsetDateTime::from_unix_timestamp(secs)
                .map(Some)
                .map_err(|_| refuse(format!("its {name} is out of range")))
        }
    }
}

/// The claims' rules beyond the signature: issuer, audience, validity window.
pub fn check_claims(
    claims: &Value,
    issuer: &str,
    client_id: &str,
    now: OffsetDateTime,
    tolerance: Duration,
) -> Result<(), CoreError> {
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !same_issuer(iss, issuer) {
        return Err(refuse("issued by another provider"));
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    if !audience_ok {
        return Err(refuse("meant for another audience"));
    }
    let exp = date(claims, "exp")?.ok_or_else(|| refuse("it has no exp"))?;
    if now - tolerance >= exp {
        return Err(refuse("expired"));
    }
    if let Some(nbf) = date(claims, "nbf")? {
        if now + tolerance < nbf {
            return Err(refuse("not valid yet"));
        }
    }
    Ok(())
}

/// Strings of a claim that is a string or an array of strings.
fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
        ),
        _ => None,
    }
}

/// A group as the SSO groups hold it: `domain\group`, lower-case. A name the provider already
/// qualified (`DOMAIN\group`) keeps its domain.
pub fn qualify_group(domain: &str, group: &str) -> String {
    if group.contains('\\') {
        group.to_lowercase()
    } else {
        format!("{}\\{}", domain.to_lowercase(), group.to_lowercase())
    }
}

impl Core {
    /// The provider whose issuer the token names (read before any check, only to choose).
    async fn provider_for_issuer(
        &self,
        iss: &str,
    ) -> Result<(ProviderRecord, ProviderConfig), CoreError> {
        for r in self.store.list_identity_providers().await? {
            let c = self.open_config(&r)?;
            if issuer_and_client(&c).is_some_and(|(i, _)| same_issuer(i, iss)) {
                return Ok((r, c));
            }
        }
        Err(refuse(format!(
            "no identity provider has the issuer '{iss}'"
        )))
    }

    /// The provider's JWKS: the cached one, or fetched (first use, or `refetch` and the
    /// floor has passed).
    async fn provider_keys(
        &self,
        r: &ProviderRecord,
        c: &ProviderConfig,
        refetch: bool,
    ) -> Result<Option<Value>, CoreError> {
        let now = self.clock.now();
        {
            let sets = self.federation.keys.sets.lock();
            if let Some((jwks, at)) = sets.get(&r.id) {
                if !refetch {
                    return Ok(Some(jwks.clone()));
                }
                if now - *at < KEY_REFETCH_FLOOR {
                    return Ok(None);
                }
            }
        }
        let uri = jwks_uri(c).ok_or_else(|| {
            CoreError::internal(format!("the identity provider {} has no JWKS URI", r.id))
        })?;
        let roots = self.provider_root_pems().await?;
        let jwks = self
            .federation
            .ports
            .oidc
            .get_json(uri, &roots)
            .await
            .map_err(|e| {
                warn!(provider = %r.id, "the provider's JWKS could not be read: {e}");
                CoreError::Unavailable {
                    message: format!("the identity provider's keys at '{uri}' could not be read"),
                }
            })?;
        self.federation
            .keys
            .sets
            .lock()
            .insert(r.id.clone(), (jwks.clone(), now));
        Ok(Some(jwks))
    }

    /// The token's claims once its signature verifies with the provider's keys.
    async fn verified_claims(
        &self,
        token: &str,
        names_key: bool,
        r: &ProviderRecord,
        c: &ProviderConfig,
    ) -> Result<Value, CoreError> {
        let jwt = &self.federation.ports.jwt;
        let Some(jwks) = self.provider_keys(r, c, false).await? else {
            return Err(refuse("no keys"));
        };
        match jwt.verify(token, &jwks) {
            Ok(claims) => Ok(claims),
            // The provider may have rotated its key: fetch the set again, once. A token naming
            // no `kid` cannot tell a new key from a forgery, so its failure refetches too.
            Err(e) if e == JwtError::UnknownKey || (e == JwtError::BadSignature && !names_key) => {
                match self.provider_keys(r, c, true).await? {
                    Some(jwks) => jwt.verify(token, &jwks).map_err(refuse),
                    None => Err(refuse(e)),
                }
            }
            Err(e) => Err(refuse(e)),
        }
    }

    /// The user's groups as the provider's LDAP directory lists them (by the entry whose UPN,
    /// mail or account name is the user's); none when the provider has no directory.
    async fn directory_groups_of(
        &self,
        r: &ProviderRecord,
        upn: &str,
    ) -> Result<Vec<String>, CoreError> {
        if self
            .open_config(r)?
            .ldap
            .is_none_or(|_| r.ldap_password.is_none())
        {
            return Ok(Vec::new());
        }
        let local = upn.split('@').next().unwrap_or(upn);
        let (u, l) = (escape_filter_value(upn), escape_filter_value(local));
        let filter = format!("(|(userPrincipalName={u})(mail={u})(sAMAccountName={l})(uid={l}))");
        let users = self
            .directory_search(&r.id, true, &filter, &["uid"], 2)
            .await?;
        let [user] = users.as_slice() else {
            info!(provider = %r.id, found = users.len(), "token exchange: the directory has no single entry for the user");
            return Ok(Vec::new());
        };
        let dn = escape_filter_value(&user.dn);
        let filter = format!("(|(member={dn})(uniqueMember={dn})(memberUid={l}))");
        let groups = self
            .directory_search(
                &r.id,
                false,
                &filter,
                &["cn"],
                super::ldap::SEARCH_LIMIT_MAX,
            )
            .await?;
        Ok(groups
            .into_iter()
            .filter_map(|g| g.attrs.get("cn").and_then(|v| v.first()).cloned())
            .collect())
    }

    /// `vcenter.tokenservice.token_exchange.exchange`: the subject token checked, the user's
    /// groups found and mapped; a session of `origin`'s kind and listener.
    pub async fn exchange_token(
        &self,
        origin: Origin,
        req: &ExchangeRequest,
    ) -> Result<Exchanged, CoreError> {
        check_request(req)?;
        // Anyone may call this, and a token may cost a JWKS fetch and a directory search:
        // the address budget every token login spends applies.
        self.auth.admit_token_attempt(origin)?;
        let jwt = &self.federation.ports.jwt;
        let unverified = jwt.inspect(&req.subject_token).map_err(refuse)?;
        let iss = unverified
            .claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or_else(|| refuse("it has no iss"))?
            .to_string();
        let (record, config) = self.provider_for_issuer(&iss).await?;
        let claims = self
            .verified_claims(
                &req.subject_token,
                unverified.kid.is_some(),
                &record,
                &config,
            )
            .await?;
        let (issuer, client_id) = issuer_and_client(&config)
            .ok_or_else(|| CoreError::internal("the provider has no issuer"))?;
        check_claims(
            &claims,
            issuer,
            client_id,
            self.clock.now(),
            self.token_policy().clock_tolerance,
        )?;
        let upn = claims
            .get(&config.upn_claim)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|u| !u.is_empty() && !u.chars().any(char::is_control))
            .ok_or_else(|| refuse(format!("it has no {} claim", config.upn_claim)))?
            .to_lowercase();
        let Some((_, domain)) = upn
            .split_once('@')
            .filter(|(n, d)| !n.is_empty() && !d.is_empty())
        else {
            return Err(refuse(format!(
                "its {} claim is not user@domain",
                config.upn_claim
            )));
        };
        let domain = domain.to_string();
        let given = config
            .groups_claim
            .as_deref()
            .and_then(|g| strings(claims.get(g)));
        let names = match given {
            Some(g) => g,
            None => self.directory_groups_of(&record, &upn).await?,
        };
        let groups: Vec<String> = names.iter().map(|g| qualify_group(&domain, g)).collect();
        let Some(role) = self.role_of_external_groups(&groups).await? else {
            warn!(user = %upn, provider = %record.id, "token exchange refused: the user is in no group that carries a role");
            return Err(CoreError::NoPermission {
                privilege: Privilege::SystemRead.as_str().into(),
            });
        };
        let caller = Caller {
            // Not an account of this server: sessions are all it has, tied to the provider.
            principal_id: format!("federated:{}:{upn}", record.id),
            user: upn.clone(),
            realm: Realm::sso(domain),
            role,
        };
        let session = self.auth.open_token_session(origin, caller.clone())?;
        info!(user = %upn, provider = %record.id, %role, "federated session opened by token exchange");
        Ok(Exchanged {
            session,
            issued_token_type: ACCESS_TOKEN_TYPE,
            token_type: BEARER,
            caller,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISS: &str = "https://adfs.example.com/adfs";

    fn at(s: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(s).unwrap()
    }

    #[test]
    fn claims_name_the_issuer_the_audience_and_a_window() {
        let tol = Duration::seconds(60);
        let ok = json!({"iss": ISS, "aud": ["x", "app"], "exp": 2000, "nbf": 1000});
        assert!(check_claims(&ok, ISS, "app", at(1500), tol).is_ok());
        assert!(check_claims(&ok, &format!("{ISS}/"), "app", at(1500), tol).is_ok());
        assert!(check_claims(&ok, "https://other", "app", at(1500), tol).is_err());
        assert!(check_claims(&ok, ISS, "other-app", at(1500), tol).is_err());
        // Expired, give or take the tolerance.
        assert!(check_claims(&ok, ISS, "app", at(2059), tol).is_ok());
        assert!(check_claims(&ok, ISS, "app", at(2060), tol).is_err());
        // Not valid yet.
        assert!(check_claims(&ok, ISS, "app", at(939), tol).is_err());
        let no_exp = json!({"iss": ISS, "aud": "app"});
        assert!(check_claims(&no_exp, ISS, "app", at(1500), tol).is_err());
    }

    #[test]
    fn requests_serve_a_session_for_a_jwt() {
        let good = ExchangeRequest {
            grant_type: GRANT_TYPE.into(),
            subject_token: "a.b.c".into(),
            subject_token_type: ID_TOKEN_TYPE.into(),
            ..Default::default()
        };
        assert!(check_request(&good).is_ok());
        let mut r = good.clone();
        r.grant_type = "password".into();
        assert!(check_request(&r).is_err());
        let mut r = good.clone();
        r.subject_token_type = SAML2_TOKEN_TYPE.into();
        assert!(check_request(&r).is_err());
        let mut r = good.clone();
        r.actor_token = Some("a.b.c".into());
        assert!(check_request(&r).is_err());
        let mut r = good;
        r.requested_token_type = Some(SAML2_TOKEN_TYPE.into());
        assert!(matches!(
            check_request(&r),
            Err(CoreError::NotSupported { .. })
        ));
    }

    #[test]
    fn groups_are_qualified_by_the_upn_domain() {
        assert_eq!(
            qualify_group("Example.COM", "vcenter-Admins"),
            "example.com\\vcenter-admins"
        );
        assert_eq!(qualify_group("example.com", "CORP\\Ops"), "corp\\ops");
    }
}
