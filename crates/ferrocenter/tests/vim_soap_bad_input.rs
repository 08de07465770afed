//! Bad input at the SOAP door: every malformed, hostile or mistyped request answers a SOAP
//! fault (HTTP 500, `text/xml`, the vim fault in `detail`) naming what is wrong — never a 500
//! with internals, a hang or a reset — over HTTP/1.1 and HTTP/2.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::soap_wire::{call_body, envelope, login, post, NS};
use common::TestServer;

/// Asserts a fault answer and returns (faultcode, message, vim fault type).
fn fault_of(a: &common::soap_wire::SoapAnswer, status: u16) -> (String, String, String) {
    assert_eq!(a.status, status, "{}", a.text);
    assert!(a.content_type.starts_with("text/xml"), "{}", a.content_type);
    let f = a.fault();
    for leak in ["panicked", "src/", ".rs:", "backtrace"] {
        assert!(!a.text.contains(leak), "internals in a fault: {}", a.text);
    }
    f
}

#[tokio::test]
async fn malformed_envelopes_are_client_faults() {
    let ts = TestServer::start().await;
    let cases: &[(&str, &str, &str)] = &[
        (
            "<soapenv:Envelope xmlns:soapenv=",
            "soapenv:Client",
            "not well-formed",
        ),
        (
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header/></soapenv:Envelope>"#,
            "soapenv:Client",
            "no Body",
        ),
        (&envelope("")[..], "soapenv:Client", "Body is empty"),
        ("", "soapenv:Client", "no element"),
        ("<Login/>", "soapenv:Client", "not a SOAP Envelope"),
        (
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><Login/></s:Body></s:Envelope>"#,
            "soapenv:VersionMismatch",
            "SOAP 1.2",
        ),
        ("<a><b></a>", "soapenv:Client", "not well-formed"),
        ("<p:a/>", "soapenv:Client", "not bound"),
    ];
    for (body, code, says) in cases {
        let a = post(&ts, body.to_string(), None).await;
        let (c, msg, t) = fault_of(&a, 500);
        assert_eq!(c, *code, "{body}: {msg}");
        assert_eq!(t, "InvalidRequest", "{body}");
        assert!(msg.contains(says), "{body}: {msg}");
    }
    ts.stop().await;
}

#[tokio::test]
async fn hostile_documents_are_refused_before_they_cost_anything() {
    let ts = TestServer::start().await;
    let bomb = format!(
        r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>{}"#,
        envelope(&format!(
            r#"<Login {NS}><_this type="SessionManager">SessionManager</_this><userName>&lol3;</userName></Login>"#
        ))
    );
    let external = format!(
        r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>{}"#,
        envelope(&format!(
            r#"<Login {NS}><_this type="SessionManager">SessionManager</_this><userName>&e;</userName></Login>"#
        ))
    );
    let undefined = envelope(&format!(
        r#"<Login {NS}><_this type="SessionManager">SessionManager</_this><userName>&e;</userName></Login>"#
    ));
    let deep = envelope(&("<a>".repeat(100_000) + &"</a>".repeat(100_000)));
    let wide = envelope(&format!("<a>{}</a>", "<b/>".repeat(300_000)));
    let cases: Vec<(String, &str)> = vec![
        (bomb, "document type declarations are not accepted"),
        (external, "document type declarations are not accepted"),
        (undefined, "the entity &e; is not defined"),
        (deep, "nests deeper than 64"),
        (wide, "more than 200000 elements"),
    ];
    for (body, says) in cases {
        let a = post(&ts, body, None).await;
        let (code, msg, t) = fault_of(&a, 500);
        assert_eq!(
            (code.as_str(), t.as_str()),
            ("soapenv:Client", "InvalidRequest")
        );
        assert!(msg.contains(says), "{msg}");
        assert!(!a.text.contains("root:"), "an external entity was read");
    }
    // Over the body limit (10 MiB): 413 with the fault, after the whole body was read.
    let huge = envelope(&format!("<a>{}</a>", "x".repeat(11 * 1024 * 1024)));
    let a = post(&ts, huge, None).await;
    let (_, msg, t) = fault_of(&a, 413);
    assert_eq!(t, "InvalidRequest");
    assert!(msg.contains("limit") || msg.contains("large"), "{msg}");
    ts.stop().await;
}

#[tokio::test]
async fn bad_calls_name_the_method_parameter_or_type() {
    let ts = TestServer::start().await;
    let cookie = login(&ts).await;
    let c = Some(cookie.as_str());
    let run = |method: &'static str, t: &'static str, id: &'static str, params: &'static str| {
        call_body(method, t, id, params)
    };
    let cases: Vec<(String, &str, &str)> = vec![
        (
            run("NoSuchMethod", "ServiceInstance", "ServiceInstance", ""),
            "MethodNotFound",
            "ServiceInstance has no method NoSuchMethod",
        ),
        (
            envelope(&format!(r#"<CurrentTime {NS}/>"#)),
            "InvalidRequest",
            "no _this",
        ),
        (
            run(
                "CreateFilter",
                "PropertyCollector",
                "propertyCollector",
                r#"<spec xsi:type="HostConnectSpec"><force>false</force></spec><partialUpdates>false</partialUpdates>"#,
            ),
            "InvalidRequest",
            "spec: xsi:type HostConnectSpec where a PropertyFilterSpec is declared",
        ),
        (
            run(
                "CreateFilter",
                "PropertyCollector",
                "propertyCollector",
                r#"<spec xsi:type="xsd:nonsense"/>"#,
            ),
            "InvalidRequest",
            "xsd:nonsense",
        ),
        (
            run("EnterMaintenanceMode_Task", "HostSystem", "host-1", ""),
            "ManagedObjectNotFound",
            "host-1",
        ),
        (
            run("CreateDatacenter", "Folder", "group-d1", ""),
            "InvalidArgument",
            "name",
        ),
        (
            run(
                "CreateClusterEx",
                "Folder",
                "group-d1",
                "<name>c</name><spec><drsConfig><enabled>maybe</enabled></drsConfig></spec>",
            ),
            "InvalidRequest",
            "spec.drsConfig.enabled: 'maybe' is not a boolean",
        ),
        (
            run("Fetch", "Folder", "group-d1", ""),
            "InvalidArgument",
            "prop",
        ),
        (
            run("Fetch", "Folder", "group-d1", "<prop>noSuchProperty</prop>"),
            "InvalidProperty",
            "noSuchProperty",
        ),
        (
            run("QueryTpmAttestationReport", "NoSuchType", "x-1", ""),
            "NotSupported",
            "NoSuchType",
        ),
    ];
    for (body, fault, says) in cases {
        let a = post(&ts, body, c).await;
        let (code, msg, t) = fault_of(&a, 500);
        assert_eq!(code, "ServerFaultCode", "{msg}");
        assert_eq!(t, fault, "{msg}");
        assert!(msg.contains(says), "{fault}: {msg}");
    }
    // A missing required parameter of an existing object names it.
    let dc = post(
        &ts,
        call_body("CreateDatacenter", "Folder", "group-d1", "<name>DC0</name>"),
        c,
    )
    .await;
    assert_eq!(dc.status, 200, "{}", dc.text);
    // An unserved release in SOAPAction.
    let a = common::client()
        .post(ts.api("/sdk"))
        .header("SOAPAction", "urn:vim25/6.7")
        .body(call_body(
            "CurrentTime",
            "ServiceInstance",
            "ServiceInstance",
            "",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 500);
    assert!(a
        .text()
        .await
        .unwrap()
        .contains("release 6.7 is not served"));
    ts.stop().await;
}

/// HTTP/2 (curl, which negotiates it by ALPN): the same faults, not a stream reset.
#[tokio::test]
async fn over_http2_a_bad_request_is_a_fault_not_a_reset() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(std::env::var_os("CI").is_none(), "curl is needed in CI");
        eprintln!("SKIPPED: curl is not installed");
        return;
    }
    let ts = TestServer::start().await;
    let url = ts.api("/sdk");
    for body in [
        "<a>".to_string(),
        r#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aa">]><r>&a;</r>"#.to_string(),
        call_body("NoSuchMethod", "ServiceInstance", "ServiceInstance", ""),
    ] {
        let url = url.clone();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("curl")
                .args(["-sk", "--http2", "--max-time", "20", "-X", "POST", "-H"])
                .arg("Content-Type: text/xml")
                .args([
                    "--data-binary",
                    &body,
                    "-w",
                    "\n%{http_version} %{http_code}",
                    &url,
                ])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(out.status.success(), "curl failed: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.ends_with("\n2 500"), "{text}");
        assert!(text.contains("<soapenv:Fault>"), "{text}");
    }
    ts.stop().await;
}
