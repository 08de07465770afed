//! vim25 over SOAP by hand, for tests that send what a client library would not: envelopes
//! written out, answers read as element trees.
use ferrocenter_http::soap::{parse, Element, Limits};
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};

use super::{client, TestServer, ADMIN, PASSWORD};

pub const NS: &str = r#"xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema""#;

/// A SOAP 1.1 envelope around `body`.
pub fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

/// One answer: status, content type, the raw text and the element in the body.
pub struct SoapAnswer {
    pub status: u16,
    pub content_type: String,
    pub text: String,
    pub set_cookie: Option<String>,
}

impl SoapAnswer {
    /// The element inside `soapenv:Body` (the response or the Fault).
    pub fn body(&self) -> Element {
        let env = parse(self.text.as_bytes(), Limits::default())
            .unwrap_or_else(|e| panic!("the answer is not XML ({e}): {}", self.text));
        env.child("Body")
            .and_then(|b| b.children.first())
            .cloned()
            .unwrap_or_else(|| panic!("no Body element: {}", self.text))
    }

    /// `(faultcode, faultstring, vim fault type)` of a fault answer.
    pub fn fault(&self) -> (String, String, String) {
        let b = self.body();
        assert_eq!(b.name, "Fault", "not a fault: {}", self.text);
        let code = b
            .child("faultcode")
            .map(|c| c.text.clone())
            .unwrap_or_default();
        let msg = b
            .child("faultstring")
            .map(|c| c.text.clone())
            .unwrap_or_default();
        let detail = b
            .child("detail")
            .and_then(|d| d.children.first())
            .map(|d| d.name.trim_end_matches("Fault").to_string())
            .unwrap_or_default();
        (code, msg, detail)
    }
}

/// POSTs `body` (bytes as given) to `/sdk` with the session cookie, if any.
pub async fn post(
    ts: &TestServer,
    body: impl Into<reqwest::Body>,
    cookie: Option<&str>,
) -> SoapAnswer {
    let mut rb = client()
        .post(ts.api("/sdk"))
        .header(CONTENT_TYPE, "text/xml; charset=utf-8")
        .header("SOAPAction", "urn:vim25/8.0.3.0")
        .body(body);
    if let Some(c) = cookie {
        rb = rb.header(COOKIE, c);
    }
    let r = rb.send().await.expect("the server answers");
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let set_cookie = r
        .headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_string());
    SoapAnswer {
        status,
        content_type,
        text: r.text().await.unwrap(),
        set_cookie,
    }
}

/// `<{method} xmlns=urn:vim25><_this type=…>…</_this>{params}</{method}>` in an envelope.
pub fn call_body(method: &str, mo_type: &str, mo_id: &str, params: &str) -> String {
    envelope(&format!(
        r#"<{method} {NS}><_this type="{mo_type}">{mo_id}</_this>{params}</{method}>"#
    ))
}

/// Logs in as the administrator over SOAP; the session cookie to send back.
pub async fn login(ts: &TestServer) -> String {
    let a = post(
        ts,
        call_body(
            "Login",
            "SessionManager",
            "SessionManager",
            &format!("<userName>{ADMIN}</userName><password>{PASSWORD}</password>"),
        ),
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let c = a.set_cookie.expect("Login sets the session cookie");
    c.split(';').next().unwrap().to_string()
}
