//! The WSDL the real server serves at /sdk: every file in vCenter's layout is there, the
//! service's address is the one the client asked, and a WSDL-driven client (suds) builds its
//! client from it alone and calls RetrieveServiceContent, Login and RetrievePropertiesEx.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::sdk::{run_soap_script, soap_python};
use common::*;
use reqwest::Method;

const FILES: &[&str] = &[
    "vimService.wsdl",
    "vim.wsdl",
    "vim-messagetypes.xsd",
    "vim-types.xsd",
    "core-types.xsd",
    "query-types.xsd",
];

#[tokio::test]
async fn every_file_is_served_as_xml() {
    let ts = TestServer::start().await;
    for f in FILES {
        let r = ts.call(Method::GET, &format!("/sdk/{f}"), None, None).await;
        assert_eq!(r.status(), 200, "{f}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/xml"),
            "{f}"
        );
        let text = r.text().await.unwrap();
        assert!(text.starts_with("<?xml"), "{f}");
        assert!(text.trim_end().ends_with('>'), "{f}");
    }
    let service = ts
        .call(Method::GET, "/sdk/vimService.wsdl", None, None)
        .await;
    let here = reqwest::Url::parse(&ts.api("/")).unwrap();
    let text = service.text().await.unwrap();
    let addr = format!(
        r#"location="https://{}:{}/sdk""#,
        here.host_str().unwrap(),
        here.port().unwrap()
    );
    assert!(text.contains(&addr), "{addr} not in {text}");
    let none = ts.call(Method::GET, "/sdk/nothing.xsd", None, None).await;
    assert_ne!(none.status(), 200);
}

#[tokio::test]
async fn suds_builds_a_client_from_the_wsdl_and_calls() {
    let Some(python) = soap_python() else {
        eprintln!("SKIPPED: FERROCENTER_SOAP_PYTHON is not set");
        return;
    };
    let ts = TestServer::start().await;
    let base = ts.api("");
    let ca = ts.dir.path().join("tls/server.crt");
    let out = run_soap_script(
        &python,
        "wsdl_client.py",
        &[&base, ca.to_str().unwrap(), ADMIN, PASSWORD],
    )
    .await;
    assert_eq!(out["apiType"], "VirtualCenter", "{out}");
    // vim's domain-qualified form of the user who logged in.
    assert_eq!(
        out["sessionUser"].as_str().unwrap().to_lowercase(),
        "vsphere.local\\administrator"
    );
    assert_eq!(out["rootFolder"]["type"], "Folder");
    assert_eq!(out["root"]["obj"], out["rootFolder"]["value"]);
    assert_eq!(out["root"]["name"], "name");
    assert_eq!(out["root"]["val"], "Datacenters");
    assert!(out["operations"].as_u64().unwrap() > 40, "{out}");
}
