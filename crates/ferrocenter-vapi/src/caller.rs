//! Who is calling: a session (header, or cookie for `/rest`), Basic credentials per call, or a
//! SAML token of the SSO domain (JSON-RPC security context, or `Authorization: SIGN`).
use std::io::Read;
use std::net::IpAddr;

use axum::http::{header, HeaderMap};
use base64::Engine;
use ferrocenter_core::auth::signed_requests::{SignedRequest, TokenPresentation};
use ferrocenter_core::auth::Caller;
use ferrocenter_core::CoreError;
use serde_json::Value;
use time::OffsetDateTime;

use crate::state::VapiState;
use ferrocenter_http::body::cookie;

pub const SESSION_HEADER: &str = "vmware-api-session-id";

/// The credentials a request carries, in the order vAPI looks for them.
#[derive(Clone)]
pub enum Credentials {
    Session(String),
    /// `peer` is the caller's address, which the login budget and lockout count by.
    Basic {
        user: String,
        password: String,
        peer: Option<IpAddr>,
    },
    /// A SAML token in place of a password.
    Saml(Box<SamlCredential>),
    None,
}

/// A SAML token as a request presented it.
#[derive(Clone)]
pub struct SamlCredential {
    pub token: String,
    /// For a holder-of-key token: the request signed with its key.
    pub proof: Option<RequestProof>,
}

/// A JSON-RPC request signed as the vAPI runtime signs it (reference §3).
#[derive(Clone)]
pub struct RequestProof {
    /// The whole request without `params.ctx.securityCtx.signature`.
    pub unsigned: Value,
    pub algorithm: String,
    pub signature: Vec<u8>,
    pub created: OffsetDateTime,
    pub expires: OffsetDateTime,
}

impl SamlCredential {
    pub fn presentation(&self) -> TokenPresentation<'_> {
        match &self.proof {
            None => TokenPresentation::Bearer { token: &self.token },
            Some(p) => TokenPresentation::HolderOfKey {
                token: &self.token,
                request: SignedRequest {
                    unsigned: &p.unsigned,
                    algorithm: &p.algorithm,
                    signature: &p.signature,
                    created: p.created,
                    expires: p.expires,
                },
            },
        }
    }
}

/// The largest assertion a `SIGN` header may inflate to: a token is a few kilobytes, and a
/// gzip bomb must not cost more than this.
const MAX_ASSERTION_BYTES: u64 = 256 * 1024;

/// `Authorization: SIGN token="<base64 of the gzipped assertion>"` (vCenter's form). The
/// holder-of-key form's request signature (`signature_alg`, `signature`, `nonce`,
/// `bodyhash`) is not verified here, so such a header is refused rather than read as bearer.
fn sign_header(params: &str) -> Result<Credentials, CoreError> {
    let mut token = None;
    for part in params.split(',') {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        let k = k.trim();
        let v = v.trim().trim_matches('"');
        match k {
            "token" => token = Some(v.to_string()),
            "signature" | "signature_alg" | "nonce" | "bodyhash" => {
                tracing::info!("token refused: holder-of-key in an Authorization header is not supported; use the JSON-RPC saml_hok_token context");
                return Err(CoreError::Unauthenticated);
            }
            _ => {}
        }
    }
    let encoded = token.ok_or(CoreError::Unauthenticated)?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_bytes())
        .map_err(|_| CoreError::Unauthenticated)?;
    let mut xml = String::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(raw.as_slice())
            .take(MAX_ASSERTION_BYTES)
            .read_to_string(&mut xml)
            .map_err(|_| CoreError::Unauthenticated)?;
    } else {
        // Some clients send the assertion base64-encoded but not compressed.
        xml = String::from_utf8(raw).map_err(|_| CoreError::Unauthenticated)?;
    }
    Ok(Credentials::Saml(Box::new(SamlCredential {
        token: xml,
        proof: None,
    })))
}

pub fn credentials(headers: &HeaderMap, peer: Option<IpAddr>) -> Result<Credentials, CoreError> {
    if let Some(v) = headers.get(SESSION_HEADER) {
        let token = v.to_str().map_err(|_| CoreError::Unauthenticated)?;
        return Ok(Credentials::Session(token.trim().to_string()));
    }
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v.to_str().map_err(|_| CoreError::Unauthenticated)?;
        let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .map_err(|_| CoreError::Unauthenticated)?;
            let decoded = String::from_utf8(decoded).map_err(|_| CoreError::Unauthenticated)?;
            let (user, password) = decoded.split_once(':').ok_or(CoreError::Unauthenticated)?;
            return Ok(Credentials::Basic {
                user: user.to_string(),
                password: password.to_string(),
                peer,
            });
        }
        if scheme.eq_ignore_ascii_case("sign") {
            return sign_header(rest);
        }
        return Err(CoreError::Unauthenticated);
    }
    if let Some(token) = cookie(headers, SESSION_HEADER) {
        return Ok(Credentials::Session(token.to_string()));
    }
    Ok(Credentials::None)
}

/// Authenticates a request that needs a caller: a session, or Basic credentials for this call.
pub async fn caller(
    state: &VapiState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Result<Caller, CoreError> {
    resolve(state, &credentials(headers, peer)?).await
}

/// The caller behind credentials, however they arrived.
pub async fn resolve(state: &VapiState, creds: &Credentials) -> Result<Caller, CoreError> {
    match creds {
        Credentials::Session(token) => Ok(state
            .core
            .auth
            .resolve_session(state.origin(None), token)?
            .0),
        Credentials::Basic {
            user,
            password,
            peer,
        } => {
            state
                .core
                .auth
                .authenticate(state.origin(*peer), user, password)
                .await
        }
        Credentials::Saml(saml) => {
            state
                .core
                .token_caller(state.origin(None), &saml.presentation(), None)
                .await
        }
        Credentials::None => Err(CoreError::Unauthenticated),
    }
}
