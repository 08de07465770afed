//! `POST /api/ferrocenter/accounts/unlock` with `{"user": "name@domain"}`, served on the
//! appliance listener only: the local `root` ends an SSO account's lockout. A ferrocenter
//! extension (docs/api/vapi.md): vSphere's `local_accounts` API manages local accounts and
//! unlocks none.
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use ferrocenter_core::CoreError;
use ferrocenter_http::body::json_body;
use ferrocenter_http::peer::Peer;
use serde_json::json;

use super::caller::caller;
use super::errors::{Answer, ApiError, Reply};
use super::params::Params;
use super::wire::Flavor;
use crate::state::VapiState;

pub const UNLOCK_PATH: &str = "/api/ferrocenter/accounts/unlock";

async fn unlock(
    state: &VapiState,
    headers: &HeaderMap,
    peer: Peer,
    body: Result<Bytes, BytesRejection>,
) -> Result<(), ApiError> {
    let caller = caller(state, headers, peer.0).await?;
    let body = json_body(headers, body, state.max_body_bytes)?.unwrap_or(json!({}));
    let p = Params::new(&body, &["user"])?;
    let user = p
        .string("user")?
        .ok_or_else(|| CoreError::invalid("user", "is required"))?;
    state
        .core
        .auth
        .unlock_account(&caller, state.origin(peer.0), &user)?;
    Ok(())
}

pub async fn api_unlock(
    State(state): State<VapiState>,
    peer: Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    Answer {
        flavor: Flavor::Api,
        result: unlock(&state, &headers, peer, body)
            .await
            .map(|()| Reply::Void),
    }
}
