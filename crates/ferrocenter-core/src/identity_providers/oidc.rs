//! The OIDC (and OAuth2) side of a provider: the spec's rules, and the checks made against the
//! provider before its configuration is kept. The discovery document must name the issuer the
//! endpoint belongs to and the authorization, token and JWKS endpoints; the JWKS must hold at
//! least one usable signing key. Anything else is refused naming the field that led there.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ClaimMap, Oauth2Settings, Oauth2Spec, AUTHENTICATION_METHODS};
use crate::ports::FederationError;
use crate::{Core, CoreError};

/// The well-known suffix of a discovery endpoint (OpenID Connect Discovery 1.0, §4).
pub const WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// What the discovery document says, kept with the provider (the guide: vCenter must reach
/// each of these).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovered {
    pub issuer: String,
    pub auth_endpoint: String,
    pub token_endpoint: String,
    pub logout_endpoint: Option<String>,
    pub public_key_uri: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcSettings {
    pub discovery_endpoint: String,
    pub client_id: String,
    pub claim_map: ClaimMap,
    /// Filled from the discovery document on each create or change.
    pub discovered: Option<Discovered>,
}

/// `oidc` of a create or update spec, before the rules (all set on create).
#[derive(Debug, Clone, Default)]
pub struct OidcSpec {
    pub discovery_endpoint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub claim_map: Option<ClaimMap>,
}

/// An `http(s)://` URL with a host, as the field's value.
pub(crate) fn http_url(field: &str, v: &str) -> Result<url::Url, CoreError> {
    let u = url::Url::parse(v)
        .map_err(|e| CoreError::invalid(field, format!("'{v}' is not a URL: {e}")))?;
    if !matches!(u.scheme(), "https" | "http") || u.host_str().is_none_or(str::is_empty) {
        return Err(CoreError::invalid(
            field,
            format!("'{v}' is not an https:// (or http://) URL with a host"),
        ));
    }
    Ok(u)
}

fn required<'a>(field: &str, v: &'a Option<String>) -> Result<&'a str, CoreError> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(CoreError::invalid(field, "is required")),
    }
}

fn nonblank(field: &str, v: &str) -> Result<String, CoreError> {
    if v.trim().is_empty() {
        return Err(CoreError::invalid(field, "must not be empty"));
    }
    Ok(v.trim().to_string())
}

/// The settings and the client secret of a new OIDC provider (before discovery).
pub(crate) fn settings_for_create(s: &OidcSpec) -> Result<(OidcSettings, String), CoreError> {
    let endpoint = required("spec.oidc.discovery_endpoint", &s.discovery_endpoint)?;
    http_url("spec.oidc.discovery_endpoint", endpoint)?;
    let client_id = required("spec.oidc.client_id", &s.client_id)?.to_string();
    let secret = s
        .client_secret
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| CoreError::invalid("spec.oidc.client_secret", "is required"))?;
    Ok((
        OidcSettings {
            discovery_endpoint: endpoint.to_string(),
            client_id,
            // The guide: required, but AD FS gives an empty one.
            claim_map: s.claim_map.clone().unwrap_or_default(),
            discovered: None,
        },
        secret,
    ))
}

/// The changed settings and, when given, the new client secret.
pub(crate) fn settings_for_update(
    mut current: OidcSettings,
    s: &OidcSpec,
) -> Result<(OidcSettings, Option<String>), CoreError> {
    if let Some(e) = &s.discovery_endpoint {
        http_url("spec.oidc.discovery_endpoint", e)?;
        current.discovery_endpoint = e.trim().to_string();
    }
    if let Some(c) = &s.client_id {
        current.client_id = nonblank("spec.oidc.client_id", c)?;
    }
    if let Some(m) = &s.claim_map {
        current.claim_map = m.clone();
    }
    let secret = match &s.client_secret {
        Some(c) if c.is_empty() => {
            return Err(CoreError::invalid(
                "spec.oidc.client_secret",
                "must not be empty",
            ))
        }
        other => other.clone(),
    };
    Ok((current, secret))
}

fn oauth2_method(v: &str) -> Result<String, CoreError> {
    if !AUTHENTICATION_METHODS.contains(&v) {
        return Err(CoreError::invalid(
            "spec.oauth2.authentication_method",
            format!("'{v}' is not one of {}", AUTHENTICATION_METHODS.join(", ")),
        ));
    }
    Ok(v.to_string())
}

pub(crate) fn oauth2_for_create(s: &Oauth2Spec) -> Result<(Oauth2Settings, String), CoreError> {
    let url = |f: &str, v: &Option<String>| -> Result<String, CoreError> {
        let field = format!("spec.oauth2.{f}");
        let v = required(&field, v)?;
        http_url(&field, v)?;
        Ok(v.to_string())
    };
    let secret = s
        .client_secret
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| CoreError::invalid("spec.oauth2.client_secret", "is required"))?;
    Ok((
        Oauth2Settings {
            auth_endpoint: url("auth_endpoint", &s.auth_endpoint)?,
            token_endpoint: url("token_endpoint", &s.token_endpoint)?,
            public_key_uri: url("public_key_uri", &s.public_key_uri)?,
            client_id: required("spec.oauth2.client_id", &s.client_id)?.to_string(),
            claim_map: s.claim_map.clone().unwrap_or_default(),
            issuer: required("spec.oauth2.issuer", &s.issuer)?.to_string(),
            authentication_method: oauth2_method(required(
                "spec.oauth2.authentication_method",
                &s.authentication_method,
            )?)?,
            auth_query_params: s.auth_query_params.clone().unwrap_or_default(),
        },
        secret,
    ))
}

pub(crate) fn oauth2_for_update(
    mut c: Oauth2Settings,
    s: &Oauth2Spec,
) -> Result<(Oauth2Settings, Option<String>), CoreError> {
    for (f, given, slot) in [
        ("auth_endpoint", &s.auth_endpoint, &mut c.auth_endpoint),
        ("token_endpoint", &s.token_endpoint, &mut c.token_endpoint),
        ("public_key_uri", &s.public_key_uri, &mut c.public_key_uri),
    ] {
        if let Some(v) = given {
            http_url(&format!("spec.oauth2.{f}"), v)?;
            *slot = v.trim().to_string();
        }
    }
    if let Some(v) = &s.client_id {
        c.client_id = nonblank("spec.oauth2.client_id", v)?;
    }
    if let Some(v) = &s.issuer {
        c.issuer = nonblank("spec.oauth2.issuer", v)?;
    }
    if let Some(v) = &s.authentication_method {
        c.authentication_method = oauth2_method(v)?;
    }
    if let Some(m) = &s.claim_map {
        c.claim_map = m.clone();
    }
    if let Some(m) = &s.auth_query_params {
        c.auth_query_params = m.clone();
    }
    let secret = match &s.client_secret {
        Some(v) if v.is_empty() => {
            return Err(CoreError::invalid(
                "spec.oauth2.client_secret",
                "must not be empty",
            ))
        }
        other => other.clone(),
    };
    Ok((c, secret))
}

/// Reads the discovery document's endpoints, refusing one that does not belong to
/// `discovery_endpoint` or lacks a required member.
pub fn check_discovery(discovery_endpoint: &str, doc: &Value) -> Result<Discovered, String> {
    let text = |k: &str| -> Result<String, String> {
        match doc.get(k).and_then(Value::as_str) {
            Some(s) if !s.trim().is_empty() => Ok(s.to_string()),
            _ => Err(format!("the discovery document has no {k}")),
        }
    };
    let url = |k: &str| -> Result<String, String> {
        let v = text(k)?;
        match url::Url::parse(&v) {
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.host_str().is_some() => Ok(v),
            _ => Err(format!(
                "the discovery document's {k} '{v}' is not an http(s) URL"
            )),
        }
    };
    let issuer = url("issuer")?;
    // OpenID Connect Discovery §4.3: the issuer must be the one the document was asked of.
    let expected = discovery_endpoint
        .strip_suffix(WELL_KNOWN)
        .unwrap_or(discovery_endpoint)
        .trim_end_matches('/');
    if discovery_endpoint.ends_with(WELL_KNOWN) && issuer.trim_end_matches('/') != expected {
        return Err(format!(
            "the discovery document's issuer '{issuer}' is not the provider at '{expected}'"
        ));
    }
    Ok(Discovered {
        auth_endpoint: url("authorization_endpoint")?,
        token_endpoint: url("token_endpoint")?,
        logout_endpoint: doc
            .get("end_session_endpoint")
            .and_then(Value::as_str)
            .map(String::from),
        public_key_uri: url("jwks_uri")?,
        issuer,
    })
}

fn b64_field(key: &Value, name: &str, i: usize) -> Result<Vec<u8>, String> {
    let v = key
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("key {i} has no {name}"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(v.trim_end_matches('='))
        .map_err(|_| format!("key {i}'s {name} is not base64url"))?;
    if bytes.is_empty() {
        return Err(format!("key {i}'s {name} is empty"));
    }
    Ok(bytes)
}

/// A JWKS with at least one signing key whose material is complete: RSA (n, e; at least 2048
/// bits) or EC (crv P-256/P-384/P-521, x, y). Returns how many usable keys it holds.
pub fn check_jwks(doc: &Value) -> Result<usize, String> {
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("the JWKS has no keys array")?;
    let mut usable = 0;
    for (i, k) in keys.iter().enumerate() {
        if k.get("use")
            .and_then(Value::as_str)
            .is_some_and(|u| u != "sig")
        {
            continue;
        }
        match k.get("kty").and_then(Value::as_str) {
            Some("RSA") => {
                let n = b64_field(k, "n", i)?;
                b64_field(k, "e", i)?;
                let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
                if bits < 2048 {
                    return Err(format!(
                        "key {i} is RSA of {bits} bits; at least 2048 are needed"
                    ));
                }
            }
            Some("EC") => {
                let crv = k.get("crv").and_then(Value::as_str).unwrap_or_default();
                if !matches!(crv, "P-256" | "P-384" | "P-521") {
                    return Err(format!("key {i} has the unknown curve '{crv}'"));
                }
                b64_field(k, "x", i)?;
                b64_field(k, "y", i)?;
            }
            Some(other) => return Err(format!("key {i} has the unsupported kty '{other}'")),
            None => return Err(format!("key {i} has no kty")),
        }
        usable += 1;
    }
    if usable == 0 {
        return Err("the JWKS holds no signing key".into());
    }
    Ok(usable)
}

fn unreachable(field: &str, url: &str, e: FederationError) -> CoreError {
    match e {
        FederationError::NotAvailable => CoreError::invalid(field, e.to_string()),
        other => CoreError::invalid(field, format!("'{url}' could not be read: {other}")),
    }
}

impl Core {
    /// Fetches and checks the discovery document and its JWKS; the settings with what was
    /// discovered.
    pub(super) async fn discover(
        &self,
        mut s: OidcSettings,
        roots: &[String],
    ) -> Result<OidcSettings, CoreError> {
        const FIELD: &str = "spec.oidc.discovery_endpoint";
        let fetch = &self.federation.ports.oidc;
        let doc = fetch
            .get_json(&s.discovery_endpoint, roots)
            .await
            .map_err(|e| unreachable(FIELD, &s.discovery_endpoint, e))?;
        let found = check_discovery(&s.discovery_endpoint, &doc)
            .map_err(|r| CoreError::invalid(FIELD, r))?;
        let jwks = fetch
            .get_json(&found.public_key_uri, roots)
            .await
            .map_err(|e| unreachable(FIELD, &found.public_key_uri, e))?;
        check_jwks(&jwks).map_err(|r| {
            CoreError::invalid(
                FIELD,
                format!("the JWKS at '{}': {r}", found.public_key_uri),
            )
        })?;
        s.discovered = Some(found);
        Ok(s)
    }

    pub(super) async fn check_oauth2_keys(
        &self,
        s: &Oauth2Settings,
        roots: &[String],
    ) -> Result<(), CoreError> {
        const FIELD: &str = "spec.oauth2.public_key_uri";
        let jwks = self
            .federation
            .ports
            .oidc
            .get_json(&s.public_key_uri, roots)
            .await
            .map_err(|e| unreachable(FIELD, &s.public_key_uri, e))?;
        check_jwks(&jwks).map_err(|r| CoreError::invalid(FIELD, r))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "issuer": "https://idp.example.com/adfs",
            "authorization_endpoint": "https://idp.example.com/adfs/oauth2/authorize",
            "token_endpoint": "https://idp.example.com/adfs/oauth2/token",
            "jwks_uri": "https://idp.example.com/adfs/discovery/keys",
        })
    }

    #[test]
    fn discovery_needs_its_issuer_and_endpoints() {
        let ep = "https://idp.example.com/adfs/.well-known/openid-configuration";
        let d = check_discovery(ep, &doc()).unwrap();
        assert_eq!(
            d.public_key_uri,
            "https://idp.example.com/adfs/discovery/keys"
        );
        let other = "https://other.example.com/.well-known/openid-configuration";
        assert!(check_discovery(other, &doc())
            .unwrap_err()
            .contains("issuer"));
        let mut no_jwks = doc();
        no_jwks.as_object_mut().unwrap().remove("jwks_uri");
        assert!(check_discovery(ep, &no_jwks)
            .unwrap_err()
            .contains("jwks_uri"));
    }

    #[test]
    fn jwks_needs_a_complete_signing_key() {
        let n = URL_SAFE_NO_PAD.encode([0xc3u8; 256]);
        assert_eq!(
            check_jwks(&json!({"keys": [{"kty": "RSA", "n": n, "e": "AQAB"}]})),
            Ok(1)
        );
        let short = URL_SAFE_NO_PAD.encode([0xc3u8; 64]);
        assert!(check_jwks(&json!({"keys": [{"kty": "RSA", "n": short, "e": "AQAB"}]})).is_err());
        assert!(check_jwks(&json!({"keys": []})).is_err());
        assert!(check_jwks(&json!({"keys": [{"kty": "RSA", "n": "!!", "e": "AQAB"}]})).is_err());
        assert!(check_jwks(&json!({"nokeys": 1})).is_err());
    }
}
