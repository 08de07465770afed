//! One home per rule: each input rule moved into the core (or, for the DNS host-name grammar,
//! into the crate the server, the agent and the client library share) refuses the same bad
//! value with the same message through every surface that accepts it.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;
use ferrocenter_core::hosts::AddHostSpec;
use ferrocenter_core::CoreError;
use reqwest::Method;
use serde_json::{json, Value};

/// A label may not end in '-' (RFC 1123); the core accepted it before the grammar had one home.
const BAD_HOST: &str = "kvm-.lab";
const HOST_RULE: &str = "must be an IP address or a DNS name";
const PORT_RULE: &str = "must be between 1 and 65535";

fn vapi_message(v: &Value) -> String {
    v["messages"][0]["default_message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn the_host_name_grammar_refuses_a_label_ending_in_a_hyphen_everywhere() {
    // The shared grammar, which the agent's rename calls.
    assert!(!ferrocenter_agent_client::is_dns_name(BAD_HOST));
    assert!(!ferrocenter_agent_client::is_dns_name("-kvm.lab"));
    assert!(ferrocenter_agent_client::is_dns_name("kvm-1.lab"));
    // The client library.
    let e =
        ferrocenter_client::Target::parse(BAD_HOST, ferrocenter_client::HostType::ManagementServer)
            .unwrap_err();
    assert!(
        e.to_string()
            .contains("neither an IP address nor a DNS name"),
        "{e}"
    );

    let ts = TestServer::start().await;
    let (core, admin) = ts.core_admin().await;
    let dc = core.create_datacenter(&admin, "dc", "").await.unwrap();
    // The core, which vim's AddStandaloneHost_Task and ZStack's AddKVMHost call.
    let e = core
        .add_host(
            &admin,
            AddHostSpec {
                datacenter_id: Some(dc.id.clone()),
                host_name: BAD_HOST.into(),
                user_name: "root".into(),
                password: "x".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e, CoreError::invalid("hostName", HOST_RULE));
    // The vAPI surface.
    let t = ts.login(ADMIN).await;
    let r = ts
        .call(
            Method::POST,
            "/api/vcenter/host",
            Some(&t),
            Some(
                json!({"spec": {"hostname": BAD_HOST, "user_name": "root", "password": "x",
                                 "thumbprint_verification": "NONE"}}),
            ),
        )
        .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error_type"], "INVALID_ARGUMENT");
    assert!(vapi_message(&v).contains(HOST_RULE), "{v}");
    ts.stop().await;
}

#[tokio::test]
async fn the_port_range_is_one_rule_with_one_message() {
    // The core's rule, which vim's cnxSpec.port, ZStack's sshPort and vAPI's spec.port call.
    for bad in [0, 65536, -5] {
        assert_eq!(
            ferrocenter_core::validate::port("spec.port", bad).unwrap_err(),
            CoreError::invalid("spec.port", PORT_RULE)
        );
    }
    let ts = TestServer::start().await;
    let (core, admin) = ts.core_admin().await;
    core.create_datacenter(&admin, "dc", "").await.unwrap();
    let t = ts.login(ADMIN).await;
    let r = ts
        .call(
            Method::POST,
            "/api/vcenter/host",
            Some(&t),
            Some(
                json!({"spec": {"hostname": "kvm-1.lab", "port": 70000, "user_name": "root",
                                 "password": "x", "thumbprint_verification": "NONE"}}),
            ),
        )
        .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(vapi_message(&v).contains(PORT_RULE), "{v}");
    ts.stop().await;
}

#[tokio::test]
async fn names_thumbprints_and_ids_are_refused_naming_the_field() {
    use ferrocenter_core::validate;
    assert_eq!(
        validate::entity_name("newName", "a/b").unwrap_err(),
        CoreError::invalid(
            "newName",
            "must not contain '/', '\\', '%' or control characters"
        )
    );
    assert_eq!(
        validate::thumbprint("sslThumbprint", Some("AB:CD")).unwrap_err(),
        CoreError::invalid(
            "sslThumbprint",
            "must be a SHA-256 thumbprint (32 hex bytes)"
        )
    );
    assert_eq!(
        validate::uuid("resourceUuid", "NOT-A-UUID").unwrap_err(),
        CoreError::invalid("resourceUuid", "must be 32 lower-case hex digits")
    );
    // Through the core's operations the bindings call: a datacenter and a host add.
    let ts = TestServer::start().await;
    let (core, admin) = ts.core_admin().await;
    assert_eq!(
        core.create_datacenter(&admin, "a/b", "").await.unwrap_err(),
        CoreError::invalid(
            "name",
            "must not contain '/', '\\', '%' or control characters"
        )
    );
    let dc = core.create_datacenter(&admin, "dc", "").await.unwrap();
    let add = |spec: AddHostSpec| {
        let core = core.clone();
        let admin = admin.clone();
        async move { core.add_host(&admin, spec).await.unwrap_err() }
    };
    let base = AddHostSpec {
        datacenter_id: Some(dc.id.clone()),
        host_name: "kvm-1.lab".into(),
        user_name: "root".into(),
        password: "x".into(),
        ..Default::default()
    };
    assert_eq!(
        add(AddHostSpec {
            ssl_thumbprint: Some("AB:CD".into()),
            ..base.clone()
        })
        .await,
        CoreError::invalid(
            "sslThumbprint",
            "must be a SHA-256 thumbprint (32 hex bytes)"
        )
    );
    assert_eq!(
        add(AddHostSpec {
            resource_uuid: Some("NOT-A-UUID".into()),
            ..base.clone()
        })
        .await,
        CoreError::invalid("resourceUuid", "must be 32 lower-case hex digits")
    );
    assert_eq!(
        add(AddHostSpec {
            port: Some(0),
            ..base
        })
        .await,
        CoreError::invalid("port", PORT_RULE)
    );
    ts.stop().await;
}
