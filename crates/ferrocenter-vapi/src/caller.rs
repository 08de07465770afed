//! Who is calling: a session (header, or cookie for `/rest`) or Basic credentials per call.
use std::net::IpAddr;

use axum::http::{header, HeaderMap};
use base64::Engine;
use ferrocenter_core::auth::Caller;
use ferrocenter_core::CoreError;

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
    None,
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
        // SAML bearer/holder-of-key (`SIGN …`) and other schemes need the SSO token service,
        // which ferrocenter does not have yet: they are refused as unauthenticated.
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
        Credentials::None => Err(CoreError::Unauthenticated),
    }
}
