//! ZStack sessions: LogInByAccount with the SHA-512 digest of the password, LogOut,
//! ValidateSession, and the `Authorization: OAuth <session>` header of every other call.
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrocenter_core::auth::Caller;
use ferrocenter_core::CoreError;
use ferrocenter_http::peer::Peer;
use serde_json::{json, Value};

use super::errors::ZsError;
use super::jobs;
use super::jobs::Job;
use super::params::{body_refused, no_action, Action};
use super::render::zs_date;
use super::state::ZstackState;

/// The ZStack account that stands for the server's administrator.
const ADMIN_ACCOUNT: &str = "admin";

fn account_to_user(account: &str, domain: &str) -> String {
    if account == ADMIN_ACCOUNT {
        format!("administrator@{domain}")
    } else {
        account.to_string()
    }
}

/// `PUT /zstack/v1/accounts/login` with `{"logInByAccount": {accountName, password}}`.
pub async fn login(
    State(state): State<ZstackState>,
    Peer(peer): Peer,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return body_refused(e),
    };
    let result = async {
        let v: Value = serde_json::from_slice(&body)
            .map_err(|e| ZsError::BadRequest(format!("the body is not JSON: {e}")))?;
        let p = v.get("logInByAccount").ok_or_else(|| {
            ZsError::BadRequest(
                "the body doesn't contain action mapping to the URL[/v1/accounts/login]".into(),
            )
        })?;
        let field = |n: &str| {
            p.get(n)
                .and_then(Value::as_str)
                .ok_or_else(|| ZsError::from(CoreError::invalid(n, "is required")))
        };
        let (account, digest) = (field("accountName")?, field("password")?);
        let user = account_to_user(account, &state.core.auth.sso_domain());
        let (token, caller, expires) = state
            .core
            .auth
            .login_digest(state.origin(peer), &user, digest, state.session_lifetime)
            .await
            .map_err(|e| match e {
                CoreError::Unauthenticated => {
                    ZsError::api("ID.1000", "wrong account name or password")
                }
                other => other.into(),
            })?;
        let now = state.core.clock.now();
        Ok::<_, ZsError>(Json(json!({
            "inventory": inventory(token.expose(), &caller, expires, now)
        })))
    }
    .await;
    match result {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    }
}

fn inventory(
    uuid: &str,
    caller: &Caller,
    expires: time::OffsetDateTime,
    created: time::OffsetDateTime,
) -> Value {
    json!({
        "uuid": uuid,
        "accountUuid": caller.principal_id,
        "userUuid": caller.principal_id,
        "expiredDate": zs_date(expires),
        "createDate": zs_date(created),
        "noSessionEvaluation": false,
    })
}

/// RenewSession's bounds on `duration` (seconds).
const RENEW_MIN: i64 = 60;
const RENEW_MAX: i64 = 31_536_000;

/// `PUT /zstack/v1/accounts/sessions/{uuid}/renew` with `{"renewSession": {"duration": s}}`:
/// the session ends `duration` seconds from now. Asynchronous, as in ZStack.
pub async fn renew(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    Job { id: job, caller }: Job,
    Action(action, p): Action,
) -> Response {
    if action != "renewSession" {
        return no_action(&format!("/v1/accounts/sessions/{uuid}/renew"));
    }
    let outcome = async {
        let duration = match p.int("duration")? {
            Some(d) if (RENEW_MIN..=RENEW_MAX).contains(&d) => d,
            Some(_) => {
                return Err(CoreError::invalid(
                    "duration",
                    format!("must be between {RENEW_MIN} and {RENEW_MAX} seconds"),
                )
                .into())
            }
            None => return Err(CoreError::invalid("duration", "is required").into()),
        };
        let token = uuid.trim();
        // Only the session's own holder renews it.
        let (owner, _) = state.core.auth.resolve_session(state.origin(None), token)?;
        if owner.principal_id != caller.principal_id {
            return Err(ZsError::api(
                "ID.1002",
                "a session can be renewed only by its own holder",
            ));
        }
        let expires = state.core.auth.renew_session(
            state.origin(None),
            token,
            Duration::from_secs(duration as u64),
        )?;
        let now = state.core.clock.now();
        Ok(json!({"inventory": inventory(token, &caller, expires, now)}))
    }
    .await;
    jobs::finished(&state, &headers, &job, outcome)
}

/// `DELETE /zstack/v1/accounts/sessions/{uuid}`: succeeds for an unknown session too.
pub async fn logout(State(state): State<ZstackState>, Path(uuid): Path<String>) -> Response {
    let _ = state.core.auth.logout(state.origin(None), uuid.trim());
    Json(json!({})).into_response()
}

/// `GET /zstack/v1/accounts/sessions/{uuid}/valid`.
pub async fn validate(State(state): State<ZstackState>, Path(uuid): Path<String>) -> Response {
    let valid = state
        .core
        .auth
        .resolve_session(state.origin(None), uuid.trim())
        .is_ok();
    Json(json!({"valid": valid})).into_response()
}
