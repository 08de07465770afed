//! Who calls: the session behind `Authorization: OAuth <session>`.
use axum::http::{header, HeaderMap};
use ferrocenter_core::auth::Caller;

use super::errors::ZsError;
use super::state::ZstackState;

/// The caller behind `Authorization: OAuth <session>`. A missing or malformed header is a 400
/// (plain text); an unknown or expired session is 503 ID.1001, as ZStack answers.
pub fn caller(state: &ZstackState, headers: &HeaderMap) -> Result<Caller, ZsError> {
    let h = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ZsError::BadRequest("missing header 'Authorization'".into()))?
        .to_str()
        .map_err(|_| ZsError::BadRequest("the header 'Authorization' is not text".into()))?;
    let token = h.strip_prefix("OAuth").ok_or_else(|| {
        ZsError::BadRequest("the header 'Authorization' must be 'OAuth <session uuid>'".into())
    })?;
    let (caller, _) = state
        .core
        .auth
        .resolve_session(state.origin(None), token.trim())?;
    Ok(caller)
}
