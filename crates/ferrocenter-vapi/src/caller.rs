//! Who is calling: a session (header, or cookie for `/rest`), Basic credentials per call, or a
//! SAML token of the SSO domain (JSON-RPC security context, or `Authorization: SIGN`).
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
use ferrocenter_http::saml_header;

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

/// `Authorization: SIGN token="<base64 of the gzipped assertion>"` (vCenter's form). The
/// holder-of-key form's request signature (`signature_alg`, `signature`, `nonce`,
/// `bodyhash`) is not verified, so such a header is refused rather than read as bearer.
fn sign_header(value: &str) -> Result<Credentials, CoreError> {
    match saml_header::assertion_in(value, false) {
        Ok(Some(token)) => Ok(Credentials::Saml(Box::new(SamlCredential {
            token,
            proof: None,
        }))),
        Ok(None) => Err(CoreError::Unauthenticated),
        Err(e) => {
            tracing::info!(
                "token refused: {e}; use the JSON-RPC saml_hok_token context for holder-of-key"
            );
            Err(CoreError::Unauthenticated)
        }
    }
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
            return sign_header(v);
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
