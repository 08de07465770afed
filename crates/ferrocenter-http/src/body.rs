//! Small request helpers shared by the bindings, and the bound on request bodies every
//! listener applies before a handler runs.
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::Request;
use http::{header, HeaderMap};
use http_body_util::BodyExt;

/// How much of a body past the limit is read and dropped so the client, still sending, reads
/// the refusal instead of a connection reset (a server that answers and closes with unread
/// data makes the kernel reset the connection). Past this the connection is dropped.
pub const DRAIN_MAX: usize = 64 << 20;

/// A request body read whole: at most `limit` bytes; past it, `TooLarge` once up to
/// [`DRAIN_MAX`] more bytes were read and dropped.
pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut body = body;
    let mut kept: Vec<u8> = Vec::new();
    let mut over = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Unreadable(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if over == 0 && kept.len() + data.len() <= limit {
            kept.extend_from_slice(&data);
            continue;
        }
        if over == 0 {
            kept = Vec::new();
        }
        over = over.saturating_add(data.len());
        if over > DRAIN_MAX {
            break;
        }
    }
    if over > 0 {
        return Err(BodyError::TooLarge { limit });
    }
    Ok(Bytes::from(kept))
}

/// The request with its body read under [`read_limited`]. A body over the limit is handed on
/// as `limit + 1` bytes, so the handler's own limit refuses it and the surface answers in its
/// own shape; the rest of it was drained meanwhile.
pub async fn bounded(req: Request, limit: usize) -> Result<Request, BodyError> {
    let (parts, body) = req.into_parts();
    let bytes = match read_limited(body, limit).await {
        Ok(b) => b,
        Err(BodyError::TooLarge { .. }) => Bytes::from(vec![b' '; limit.saturating_add(1)]),
        Err(e) => return Err(e),
    };
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Why a request body could not be taken as JSON; each binding renders it in its own shape.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the request body exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the request body could not be read: {0}")]
    Unreadable(String),
    #[error("Content-Type must be application/json, not '{0}'")]
    WrongContentType(String),
    #[error("the request body is not valid JSON: {0}")]
    Malformed(String),
}

/// The raw body, or why it was refused (over the limit, or broken mid-way).
pub fn body_bytes(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, BodyError> {
    match body {
        Ok(b) => Ok(b),
        Err(e) if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE => {
            Err(BodyError::TooLarge { limit })
        }
        Err(e) => Err(BodyError::Unreadable(e.body_text())),
    }
}

/// Parses a JSON body. An empty body is `None`; a non-empty one must be declared as JSON.
pub fn json_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<Option<serde_json::Value>, BodyError> {
    let bytes = body_bytes(body, limit)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(BodyError::WrongContentType(ct.chars().take(100).collect()));
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| BodyError::Malformed(e.to_string()))
}

/// A cookie's value from the Cookie header.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn over_the_limit_is_drained_and_refused() {
        let ok = read_limited(Body::from(vec![1u8; 100]), 100).await.unwrap();
        assert_eq!(ok.len(), 100);
        assert!(matches!(
            read_limited(Body::from(vec![0u8; 50_000]), 10_000).await,
            Err(BodyError::TooLarge { limit: 10_000 })
        ));
        // The handler is handed one byte over its limit, so its own limit refuses it.
        let req = Request::new(Body::from(vec![0u8; 50_000]));
        let req = bounded(req, 10_000).await.unwrap();
        let b = axum::body::to_bytes(req.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(b.len(), 10_001);
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; vmware-api-session-id=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, "vmware-api-session-id"), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn json_needs_the_json_content_type() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        let r = json_body(&h, Ok(Bytes::from_static(b"{}")), 10);
        assert!(matches!(r, Err(BodyError::WrongContentType(_))));
        h.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(json_body(&h, Ok(Bytes::from_static(b"{}")), 10)
            .unwrap()
            .is_some());
        assert!(matches!(
            json_body(&h, Ok(Bytes::from_static(b"{")), 10),
            Err(BodyError::Malformed(_))
        ));
        assert!(json_body(&h, Ok(Bytes::new()), 10).unwrap().is_none());
    }
}
