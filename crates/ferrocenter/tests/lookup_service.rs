//! The Lookup Service (seeds/003 chapter 2) on the real server: suds (suds-community, the
//! client of the seed's Python examples) loads the served WSDL, verifies the server's
//! certificate against its own file, and runs the seed's filters — find the node id by instance
//! name, find the vAPI endpoint on that node — plus List without a filter and Get; and bad input
//! at the door answers SOAP faults, never a 500 with internals or a hang.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::sdk::{run_script, soap_python};
use common::*;
use serde_json::json;

const SOAPENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";

fn envelope(body: &str) -> String {
    format!(r#"<s:Envelope xmlns:s="{SOAPENV}"><s:Body>{body}</s:Body></s:Envelope>"#)
}

async fn post(ts: &TestServer, body: String) -> (u16, String, String) {
    let r = ts
        .client
        .post(ts.api("/lookupservice/sdk"))
        .header("content-type", "text/xml; charset=utf-8")
        .header("soapaction", "urn:lookup/2.0")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

fn api_port(ts: &TestServer) -> u16 {
    ts.server.as_ref().unwrap().addrs.api.port()
}

#[tokio::test(flavor = "multi_thread")]
async fn suds_runs_the_seeds_lookup_examples() {
    let Some(python) = soap_python() else {
        eprintln!("SKIPPED: suds (the vim-soap virtualenv) is not installed");
        return;
    };
    // The registrations name the external address, not the bound one (127.0.0.1).
    let ts = TestServer::start_with(|a| a.external_address = Some("localhost".into())).await;
    let port = api_port(&ts);
    let node = ts
        .server
        .as_ref()
        .unwrap()
        .core
        .server_uuid()
        .await
        .unwrap();
    let ca = ts.dir.path().join("tls/server.crt");
    let base = format!("https://localhost:{port}");
    let v = run_script(
        &python,
        "lookup_soap",
        "find_endpoints.py",
        &[&base, ca.to_str().unwrap(), "localhost"],
    )
    .await;
    let api = format!("https://localhost:{port}/api");
    let sdk = format!("https://localhost:{port}/sdk");
    let sts = format!("https://localhost:{port}/sts/STSService");
    assert_eq!(
        v["service_registration"],
        json!(["LookupServiceRegistration", "ServiceRegistration"])
    );
    assert_eq!(v["node_id"], json!(node), "found by instance name");
    assert_eq!(v["vapi_url"], json!(api));
    assert_eq!(v["vapi_count"], 1);
    assert_eq!(v["vapi_ssl_trust"], 1, "the server certificate");
    assert_eq!(v["vim_url"], json!(sdk));
    assert_eq!(v["vim_count"], 1);
    assert_eq!(v["sso_count"], 1, "the security token service");
    assert_eq!(v["sso_url"], json!(sts));
    assert_eq!(v["other_node_count"], 0);
    assert_eq!(
        v["all"],
        json!([
            ["com.vmware.cis", "cs.identity", "wsTrust", sts],
            ["com.vmware.cis", "cs.vapi", "vapi.json.https.public", api],
            ["com.vmware.cis", "vcenterserver", "vmomi", sdk],
        ])
    );
    assert_eq!(
        v["get"],
        json!({"service_id": node, "type": "vcenterserver", "node_id": node,
               "site_id": "default-first-site", "url": sdk})
    );
    assert_eq!(
        v["missing_fault"],
        json!({"faultstring": "service registration 'no-such-service' was not found",
               "detail": ["LookupFaultEntryNotFoundFaultFault"]})
    );
    assert_eq!(v["site_id"], "default-first-site");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn registrations_default_to_the_main_listeners_address_and_the_wsdl_names_it() {
    let ts = TestServer::start().await;
    let origin = format!("https://127.0.0.1:{}", api_port(&ts));
    let r = ts
        .client
        .get(ts.api("/lookupservice/wsdl/lookup.wsdl"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/xml"));
    let wsdl = r.text().await.unwrap();
    assert!(
        wsdl.contains(&format!(r#"location="{origin}/lookupservice/sdk""#)),
        "{wsdl}"
    );
    let (status, ct, body) = post(
        &ts,
        envelope(
            r#"<List xmlns="urn:lookup"><_this type="LookupServiceRegistration">ServiceRegistration</_this><filterCriteria><serviceType><product>com.vmware.cis</product><type>cs.vapi</type></serviceType></filterCriteria></List>"#,
        ),
    )
    .await;
    assert_eq!(
        (status, ct.as_str()),
        (200, "text/xml; charset=utf-8"),
        "{body}"
    );
    assert!(body.contains(&format!("<url>{origin}/api</url>")), "{body}");
    assert!(!body.contains("vcenterserver"), "{body}");
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_answers_soap_faults() {
    let ts = TestServer::start().await;
    let reg = r#"<_this type="LookupServiceRegistration">ServiceRegistration</_this>"#;
    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    let bomb = format!(
        r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>{}"#,
        envelope(&format!(
            r#"<Get xmlns="urn:lookup">{reg}<serviceId>&lol3;</serviceId></Get>"#
        ))
    );
    let cases: Vec<(&str, String, &str, Option<&str>)> = vec![
        ("malformed", "<s:Envelope".into(), "not well-formed", Some("InvalidRequestFault")),
        ("empty", String::new(), "no element", Some("InvalidRequestFault")),
        ("not an envelope", "<List/>".into(), "not a SOAP Envelope", None),
        (
            "no body",
            format!(r#"<s:Envelope xmlns:s="{SOAPENV}"/>"#),
            "has no Body",
            None,
        ),
        ("empty body", envelope(""), "Body is empty", None),
        (
            "soap 1.2",
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>"#.into(),
            "SOAP 1.2",
            None,
        ),
        (
            "unknown method",
            envelope(&format!(r#"<Frobnicate xmlns="urn:lookup">{reg}</Frobnicate>"#)),
            "Frobnicate",
            Some("MethodNotFoundFault"),
        ),
        (
            "not served",
            envelope(&format!(r#"<Delete xmlns="urn:lookup">{reg}<serviceId>x</serviceId></Delete>"#)),
            "Delete is not supported",
            Some("NotSupportedFault"),
        ),
        (
            "missing parameter",
            envelope(&format!(r#"<Get xmlns="urn:lookup">{reg}</Get>"#)),
            "Get.serviceId",
            Some("InvalidArgumentFault"),
        ),
        (
            "undeclared field",
            envelope(&format!(
                r#"<List xmlns="urn:lookup">{reg}<filterCriteria><color>red</color></filterCriteria></List>"#
            )),
            "List.filterCriteria.color",
            Some("InvalidArgumentFault"),
        ),
        (
            "unknown object",
            envelope(r#"<List xmlns="urn:lookup"><_this type="LookupServiceRegistration">x</_this></List>"#),
            "does not exist",
            Some("ManagedObjectNotFoundFault"),
        ),
        (
            "unknown service id",
            envelope(&format!(r#"<Get xmlns="urn:lookup">{reg}<serviceId>nope</serviceId></Get>"#)),
            "<name>nope</name>",
            Some("LookupFaultEntryNotFoundFaultFault"),
        ),
        (
            "huge service id",
            envelope(&format!(
                r#"<Get xmlns="urn:lookup">{reg}<serviceId>{}</serviceId></Get>"#,
                "x".repeat(100_000)
            )),
            "<invalidProperty>serviceId</invalidProperty>",
            Some("InvalidArgumentFault"),
        ),
        ("entity bomb", bomb, "document type declarations", None),
        ("deep", envelope(&deep), "nests deeper than 16", None),
    ];
    for (what, body, says, detail) in cases {
        let (status, ct, reply) = post(&ts, body).await;
        assert_eq!(status, 500, "{what}: {reply}");
        assert_eq!(ct, "text/xml; charset=utf-8", "{what}");
        assert!(
            reply.len() < 4096,
            "{what}: a fault echoes at most a clipped request"
        );
        assert!(reply.contains("<soapenv:Fault>"), "{what}: {reply}");
        assert!(reply.contains(says), "{what}: {reply}");
        if let Some(d) = detail {
            assert!(reply.contains(&format!("<{d} ")), "{what}: {reply}");
        }
        for internal in ["panicked", "src/", ".rs:", "sqlx", "thread '"] {
            assert!(!reply.contains(internal), "{what}: {reply}");
        }
    }
    let r = ts
        .client
        .get(ts.api("/lookupservice/sdk"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    ts.stop().await;
}
