//! `com.vmware.cis.session` over REST: `/api/session` and `/rest/com/vmware/cis/session`.
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferrocenter_core::auth::SessionView;
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use super::caller::{credentials, Credentials, SESSION_HEADER};
use super::errors::{Answer, ApiError, Reply};
use super::wire::{datetime, Flavor};
use crate::AppState;

/// `.session.info`.
fn info(view: &SessionView, user: &str) -> Value {
    json!({
        "user": user,
        "created_time": datetime(view.created),
        "last_accessed_time": datetime(view.last_accessed),
    })
}

async fn create(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    match credentials(headers)? {
        Credentials::Basic { user, password } => {
            let (token, _) = state
                .core
                .auth
                .login(state.listener, &user, &password)
                .await?;
            Ok(token.expose().to_string())
        }
        _ => Err(CoreError::Unauthenticated.into()),
    }
}

fn session_token(headers: &HeaderMap) -> Result<String, ApiError> {
    match credentials(headers)? {
        Credentials::Session(t) => Ok(t),
        _ => Err(CoreError::Unauthenticated.into()),
    }
}

fn get(state: &AppState, headers: &HeaderMap) -> Result<Value, ApiError> {
    let token = session_token(headers)?;
    let (caller, view) = state.core.auth.resolve_session(&token)?;
    Ok(info(&view, &caller.domain_qualified()))
}

fn delete(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = session_token(headers)?;
    state.core.auth.logout(&token)?;
    Ok(())
}

/// `POST /api/session`: 201 and the token as a JSON string.
pub async fn api_create(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    Answer {
        flavor: Flavor::Api,
        result: create(&state, &headers)
            .await
            .map(|t| Reply::Value(StatusCode::CREATED, json!(t))),
    }
}

pub async fn api_get(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    Answer {
        flavor: Flavor::Api,
        result: get(&state, &headers).map(|v| Reply::Value(StatusCode::OK, v)),
    }
}

pub async fn api_delete(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    Answer {
        flavor: Flavor::Api,
        result: delete(&state, &headers).map(|_| Reply::Void),
    }
}

/// `POST /rest/com/vmware/cis/session`: create, or `?~action=get`.
pub async fn rest_post(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match query.get("~action").map(String::as_str) {
        None => match create(&state, &headers).await {
            Ok(token) => {
                let mut resp = (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    json!({ "value": token }).to_string(),
                )
                    .into_response();
                // The deprecated API hands out a cookie unless the client asks for headers only.
                if headers.get("vmware-use-header-authn").is_none() {
                    if let Ok(v) = HeaderValue::from_str(&format!(
                        "{SESSION_HEADER}={token}; Path=/rest; Secure; HttpOnly"
                    )) {
                        resp.headers_mut().insert(header::SET_COOKIE, v);
                    }
                }
                resp
            }
            Err(e) => e.render(Flavor::Rest),
        },
        Some("get") => Answer {
            flavor: Flavor::Rest,
            result: get(&state, &headers).map(|v| Reply::Value(StatusCode::OK, v)),
        }
        .into_response(),
        Some(other) => ApiError::OperationNotFound(format!(
            "POST /rest/com/vmware/cis/session?~action={other}"
        ))
        .render(Flavor::Rest),
    }
}

pub async fn rest_delete(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    Answer {
        flavor: Flavor::Rest,
        result: delete(&state, &headers).map(|_| Reply::Void),
    }
}
