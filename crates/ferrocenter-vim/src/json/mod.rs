//! The VI/JSON door (vim25 over JSON) at
//! `/sdk/vim25/{release}/{moType}/{moId}/{method or property}`: checks the release, decodes the
//! body into a [`Call`] and hands it to the binding (`service.rs`). A SOAP door (`POST /sdk`)
//! will be a second decoder beside this one, over the same binding.
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRef, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use ferrocenter_core::CoreError;
use ferrocenter_http::body::{body_bytes, BodyError};
use ferrocenter_http::peer::Peer;
use ferrocenter_http::releases::release_ok;
use serde_json::Value;

use crate::call::Call;
use crate::faults::VimFault;
use crate::reply::{Answer, Reply};
use crate::service;
use crate::state::VimState;

fn parse_params(body: &Bytes, name: &str) -> Result<serde_json::Map<String, Value>, VimFault> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Default::default());
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| VimFault::invalid_request(format!("the request body is not JSON: {e}")))?;
    // A JSON null body is no parameters, like an absent one.
    let v = if v.is_null() {
        Value::Object(Default::default())
    } else {
        v
    };
    let Value::Object(mut m) = v else {
        return Err(VimFault::invalid_request(
            "the request body must be a JSON object",
        ));
    };
    // Clients put `<Method>` or `<Method>RequestType` at the root; both mean the same. The
    // WSDL names a `_Task` method's request type without the suffix
    // (EnterMaintenanceMode_Task → EnterMaintenanceModeRequestType).
    if let Some(t) = m.remove("_typeName") {
        let base = name.strip_suffix("_Task").unwrap_or(name);
        let ok = t.as_str().is_some_and(|t| {
            t == name || t == format!("{name}RequestType") || t == format!("{base}RequestType")
        });
        if !ok {
            return Err(VimFault::invalid_request(format!(
                "the body's _typeName {t} does not match the method {name}"
            )));
        }
    }
    Ok(m)
}

async fn handle(
    State(state): State<VimState>,
    Path((release, mo_type, mo_id, name)): Path<(String, String, String, String)>,
    method: Method,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        if !release_ok(&release) {
            return Err(VimFault::release_not_served(&release));
        }
        let bytes = body_bytes(body, state.max_body_bytes).map_err(|e| match e {
            BodyError::TooLarge { .. } => VimFault::body_too_large(e.to_string()),
            _ => VimFault::invalid_request(e.to_string()),
        })?;
        let params = if method == Method::POST {
            parse_params(&bytes, &name)?
        } else {
            Default::default()
        };
        let call = Call {
            method,
            mo_type,
            mo_id,
            name,
            params,
            headers,
            peer,
            envelope: None,
        };
        service::dispatch(&state, call).await
    }
    .await;
    match result {
        Ok(a) => render(a),
        Err(f) => f.into_response(),
    }
}

/// VI/JSON's three success shapes: a JSON value (200), an unset value (200, empty body), and a
/// void method (204); a new session's token goes in the `vmware-api-session-id` header.
fn render(answer: Answer) -> Response {
    let json = [(header::CONTENT_TYPE, "application/json")];
    let mut resp = match answer.reply {
        Reply::Value(v) => (StatusCode::OK, json, v.to_string()).into_response(),
        Reply::Unset => (StatusCode::OK, json).into_response(),
        Reply::Void => StatusCode::NO_CONTENT.into_response(),
    };
    if let Some(v) = answer
        .new_session
        .and_then(|t| HeaderValue::from_str(&t).ok())
    {
        resp.headers_mut().insert(service::SESSION_HEADER, v);
    }
    resp
}

/// Any other `/sdk` path.
pub async fn not_supported(uri: Uri) -> Response {
    VimFault::from(CoreError::not_supported(uri.path().to_string())).into_response()
}

/// The VI/JSON routes, for any router whose state hands out a [`VimState`].
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    VimState: FromRef<S>,
{
    Router::new().route("/sdk/vim25/{release}/{mo_type}/{mo_id}/{name}", any(handle))
}
