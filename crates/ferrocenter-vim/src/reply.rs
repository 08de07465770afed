//! The three success shapes of VI/JSON: a JSON value (200), an unset value (200, empty body),
//! and a void method (204).
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub fn ok(v: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// An unset value or a null result: 200 with an empty body, which clients read as "none".
pub fn unset() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")]).into_response()
}

pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
