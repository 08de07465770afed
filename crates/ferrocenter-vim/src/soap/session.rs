//! The SOAP session cookie, `vmware_soap_session`. The binding reads a session from the
//! `vmware-api-session-id` header; the door moves the cookie's token there. The token is a
//! secret: it is never logged.
use axum::http::{HeaderMap, HeaderValue};
use ferrocenter_http::body::cookie;

use crate::service::SESSION_HEADER;

pub const COOKIE: &str = "vmware_soap_session";

/// The session token in a `Cookie` header. pyVmomi sends back the whole `Set-Cookie` value it
/// was given (`vmware_soap_session="…"; Path=/; HttpOnly; Secure`), so attributes are skipped.
pub fn token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
        .map(|v| v.trim().trim_matches('"').to_string())
        .filter(|t| !t.is_empty())
}

/// The request's headers with the cookie's token as the binding's session header.
pub fn with_token_header(mut headers: HeaderMap) -> HeaderMap {
    headers.remove(SESSION_HEADER);
    if let Some(v) = token(&headers).and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert(SESSION_HEADER, v);
    }
    headers
}

pub fn set_cookie(token: &str) -> String {
    format!(r#"{COOKIE}="{token}"; Path=/; HttpOnly; Secure"#)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    #[test]
    fn the_token_is_read_from_a_cookie_or_an_echoed_set_cookie() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&set_cookie("abc")).unwrap(),
        );
        assert_eq!(token(&h).as_deref(), Some("abc"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; vmware_soap_session=xyz"),
        );
        assert_eq!(token(&h).as_deref(), Some("xyz"));
        h.insert(SESSION_HEADER, HeaderValue::from_static("forged"));
        let h = with_token_header(h);
        assert_eq!(h.get(SESSION_HEADER).unwrap(), "xyz");
        let h = with_token_header(HeaderMap::new());
        assert!(h.get(SESSION_HEADER).is_none(), "no cookie, no session");
    }
}
