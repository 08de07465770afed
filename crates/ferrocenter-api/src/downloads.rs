//! Files the server hands out by an unguessable URL rather than a session: support bundles
//! (`appliance.support_bundle`). The token in the path is the credential, so it is served only
//! on the listener that made the bundle, once, before it expires (the core's rules), and it
//! never reaches the request log. An upgrade's export (`deployment::upgrade`) is served the
//! same way: its token, handed only to the upgrade's target over its pinned session, is the
//! credential of its files; and so are LCM reports (`lcm.reports.get` hands out the URL),
//! each URL until it expires.
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ferrocenter_core::appliance::support_bundle::DOWNLOAD_PATH;
use ferrocenter_core::lcm::reports::DOWNLOAD_PATH as REPORT_DOWNLOAD_PATH;
use ferrocenter_core::ports::EXPORT_DOWNLOAD_PATH;
use ferrocenter_core::CoreError;

use ferrocenter_vapi::VapiState;

/// The download routes of a listener whose state hands out the vAPI binding's (which knows
/// the core and which listener it is).
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    VapiState: axum::extract::FromRef<S>,
{
    Router::new()
        .route(&format!("{DOWNLOAD_PATH}{{token}}"), get(download))
        .route(
            &format!("{REPORT_DOWNLOAD_PATH}{{token}}"),
            get(report_download),
        )
        .route(
            &format!("{EXPORT_DOWNLOAD_PATH}{{token}}/{{file}}"),
            get(export_file),
        )
}

async fn export_file(
    State(s): State<VapiState>,
    Path((token, file)): Path<(String, String)>,
) -> Response {
    match s.core.upgrade_export_file(&token, &file).await {
        Ok(d) => {
            let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(d.file));
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "application/octet-stream".to_string()),
                    (header::CONTENT_LENGTH, d.size.to_string()),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
                body,
            )
                .into_response()
        }
        Err(_) => (StatusCode::NOT_FOUND, "no such export file\n").into_response(),
    }
}

async fn report_download(State(s): State<VapiState>, Path(token): Path<String>) -> Response {
    match s.core.lcm_report_download(&token).await {
        Ok(f) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", f.name),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            f.csv,
        )
            .into_response(),
        Err(CoreError::NotFound { .. }) => (
            StatusCode::NOT_FOUND,
            "no such report download: it has expired or never existed\n",
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "report download failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "the download failed\n").into_response()
        }
    }
}

async fn download(State(s): State<VapiState>, Path(token): Path<String>) -> Response {
    match s.core.support_bundle_download(s.listener, &token).await {
        Ok(d) => {
            let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(d.file));
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "application/gzip".to_string()),
                    (header::CONTENT_LENGTH, d.size.to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{}\"", d.name),
                    ),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
                body,
            )
                .into_response()
        }
        Err(CoreError::NotFound { .. }) => (
            StatusCode::NOT_FOUND,
            "no such download: it was used, has expired, or never existed\n",
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "support bundle download failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "the download failed\n").into_response()
        }
    }
}

/// HTTP/2 carries the host in `:authority`, not a `Host` header: it is copied into one, so
/// that answers naming a URL on this listener (a support bundle's) read it the same way
/// whatever the protocol.
pub async fn host_from_authority(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !req.headers().contains_key(header::HOST) {
        let authority = req
            .uri()
            .authority()
            .and_then(|a| header::HeaderValue::from_str(a.as_str()).ok());
        if let Some(a) = authority {
            req.headers_mut().insert(header::HOST, a);
        }
    }
    next.run(req).await
}

/// A path as the request log shows it: a download's token and a ZStack session id are
/// replaced.
pub fn loggable_path(path: &str) -> String {
    if path.starts_with(EXPORT_DOWNLOAD_PATH) {
        return format!("{EXPORT_DOWNLOAD_PATH}<token>");
    }
    if path.starts_with(REPORT_DOWNLOAD_PATH) {
        return format!("{REPORT_DOWNLOAD_PATH}<token>");
    }
    match path.strip_prefix(DOWNLOAD_PATH) {
        Some(_) => format!("{DOWNLOAD_PATH}<token>"),
        None => ferrocenter_zstack::loggable_path(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_tokens_are_not_logged() {
        let p = loggable_path(&format!("{DOWNLOAD_PATH}{}", "ab".repeat(32)));
        assert!(!p.contains("abab"), "{p}");
        assert_eq!(loggable_path("/api/session"), "/api/session");
        let p = loggable_path(&format!(
            "{EXPORT_DOWNLOAD_PATH}{}/manifest.json",
            "cd".repeat(32)
        ));
        assert!(!p.contains("cdcd"), "{p}");
        let p = loggable_path(&format!("{REPORT_DOWNLOAD_PATH}{}", "ef".repeat(32)));
        assert!(!p.contains("efef"), "{p}");
    }
}
