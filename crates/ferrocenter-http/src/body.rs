//! Small request helpers shared by the bindings.
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use http::{header, HeaderMap};

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
