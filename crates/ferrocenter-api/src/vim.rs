//! VI/JSON (`/sdk`): until its binding lands, every request answers a vim fault in the wire
//! shape the reference requires (HTTP 500, bare MethodFault, JSON content type).
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The answer for any `/sdk` path: `NotSupported` naming what was asked for.
pub async fn not_supported(uri: Uri) -> Response {
    fault(
        "NotSupported",
        &format!("{} is not supported by ferrocenter yet", uri.path()),
    )
}

pub fn fault(type_name: &str, message: &str) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "application/json")],
        json!({
            "_typeName": type_name,
            "faultMessage": [{
                "_typeName": "LocalizableMessage",
                "key": format!("com.ferrocenter.fault.{type_name}"),
                "message": message,
            }],
        })
        .to_string(),
    )
        .into_response()
}
