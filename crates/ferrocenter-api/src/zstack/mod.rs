//! ZStack (`/zstack`): until its binding lands, paths answer as ZStack answers an unknown path.
pub mod query;

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// ZStack's own answer for a path it has no API for: 404 and plain text.
pub async fn no_api_mapping(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("no api mapping to {}", uri.path()),
    )
        .into_response()
}
