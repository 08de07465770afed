//! One home per rule: each input rule moved into the core (or, for the DNS host-name grammar,
//! into the crate the server, the agent and the client library share) refuses the same bad
//! value with the same message through every surface that accepts it.
//!
//! The surfaces: the shared grammar (host names only), the client library (host names only),
//! the core, vAPI, VI/JSON and ZStack. VI/JSON answers a bad entity or host name with
//! InvalidName carrying the name (its own fault for names) and any other bad value with
//! InvalidArgument naming the field in `invalidProperty`; ZStack answers 503 SYS.1007. Both carry
//! the core's message, the field spelled as that surface's caller spelled it.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::sync::Arc;

use common::vim::{self, moref, path_of};
use common::zstack::{code, details, ZsClient};
use common::*;
use ferrocenter_agent::simulate::Fleet;
use ferrocenter_core::auth::Caller;
use ferrocenter_core::hosts::AddHostSpec;
use ferrocenter_core::inventory::{AutomationLevel, Cluster, Datacenter, Host};
use ferrocenter_core::{Core, CoreError};
use reqwest::Method;
use serde_json::{json, Value};

/// A label may not end in '-' (RFC 1123); the core accepted it before the grammar had one home.
const BAD_HOST: &str = "kvm-.lab";
const HOST_RULE: &str = "must be an IP address or a DNS name";
const PORT_RULE: &str = "must be between 1 and 65535";
const NAME_RULE: &str =
    "must not contain '/', '\\', '%', control characters or bidirectional overrides";
const THUMBPRINT_RULE: &str = "must be a SHA-256 thumbprint (32 hex bytes)";
const UUID_RULE: &str = "must be 32 lower-case hex digits";

fn vapi_message(v: &Value) -> String {
    v["messages"][0]["default_message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The core's message for a bad value of `field`: every surface shows this text.
fn rule_message(field: &str, rule: &str) -> String {
    CoreError::invalid(field, rule).to_string()
}

/// A server with one simulated host added to cluster "c" of datacenter "dc", and a session on
/// each surface.
struct World {
    ts: TestServer,
    _fleet: Fleet,
    core: Arc<Core>,
    admin: Caller,
    /// The vAPI session, which is also a VI/JSON session.
    token: String,
    zs: ZsClient,
    dc: Datacenter,
    cluster: Cluster,
    host: Host,
}

impl World {
    async fn start(seed: u64) -> World {
        let fleet = sim_fleet(1, 0, 13, seed).await;
        let ts = TestServer::start().await;
        let (core, admin) = ts.core_admin().await;
        let dc = core.create_datacenter(&admin, "dc", "").await.unwrap();
        let cluster = core
            .create_cluster(&admin, &dc.id, "c", AutomationLevel::FullyAutomated, "")
            .await
            .unwrap();
        let h = &fleet.manifest.hosts[0];
        let t = core
            .add_host(
                &admin,
                AddHostSpec {
                    cluster_id: Some(cluster.id.clone()),
                    host_name: h.address.clone(),
                    port: Some(h.port),
                    ssl_thumbprint: Some(h.thumbprint.clone()),
                    user_name: "root".into(),
                    password: ROOT_PW.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let t = core.tasks.wait(&t.id).await.unwrap();
        assert!(t.error.is_none(), "{:?}", t.error);
        let host = core
            .store
            .find_host_by_address(&h.address, h.port)
            .await
            .unwrap()
            .unwrap();
        let token = ts.login(ADMIN).await;
        let zs = ZsClient::new(ts.client.clone(), &ts.api(""), "admin", PASSWORD).await;
        World {
            ts,
            _fleet: fleet,
            core,
            admin,
            token,
            zs,
            dc,
            cluster,
            host,
        }
    }

    fn vim_cluster(&self) -> Value {
        moref("ClusterComputeResource", &self.cluster.moid)
    }

    fn vim_host(&self) -> Value {
        moref("HostSystem", &self.host.moid)
    }

    async fn vim_host_folder(&self) -> Value {
        let dc = moref("Datacenter", &self.dc.moid);
        let (s, v) = vim::call(
            &self.ts,
            Some(&self.token),
            Method::GET,
            &format!("{}/hostFolder", path_of(&dc)),
            None,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        v
    }

    async fn vim_root_folder(&self) -> Value {
        let (s, v) = vim::call(
            &self.ts,
            None,
            Method::GET,
            "ServiceInstance/ServiceInstance/content",
            None,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        v["rootFolder"].clone()
    }

    /// A VI/JSON method on `on` that must fault.
    async fn vim_fault(&self, on: &Value, method: &str, body: Value) -> Value {
        vim::fault(
            &self.ts,
            &self.token,
            &format!("{}/{method}", path_of(on)),
            body,
        )
        .await
    }

    /// Asserts a ZStack call is refused as an argument error with the core's message.
    async fn zs_refuses(&self, method: Method, path: &str, body: Value, field: &str, rule: &str) {
        let (s, v) = self.zs.sdk(method, path, Some(body)).await;
        assert_eq!((s, code(&v)), (503, "SYS.1007"), "{path}: {v}");
        assert_eq!(details(&v), rule_message(field, rule), "{path}: {v}");
    }

    async fn stop(self) {
        self.ts.stop().await;
    }
}

/// VI/JSON's InvalidArgument naming the field, with the core's message.
fn assert_invalid_argument(f: &Value, field: &str, rule: &str) {
    assert_eq!(
        (f["_typeName"].as_str(), f["invalidProperty"].as_str()),
        (Some("InvalidArgument"), Some(field)),
        "{f}"
    );
    assert_eq!(vim::message(f), rule_message(field, rule), "{f}");
}

/// VI/JSON's InvalidName carrying the name, with the core's message naming the field.
fn assert_invalid_name(f: &Value, name: &str, field: &str, rule: &str) {
    assert_eq!(
        (f["_typeName"].as_str(), f["name"].as_str()),
        (Some("InvalidName"), Some(name)),
        "{f}"
    );
    assert_eq!(vim::message(f), rule_message(field, rule), "{f}");
}

/// A HostConnectSpec for a host add on VI/JSON.
fn connect_spec(fields: Value) -> Value {
    let mut spec = json!({"_typeName": "HostConnectSpec", "hostName": "kvm-1.lab",
                          "userName": "root", "password": "x", "force": false});
    for (k, v) in fields.as_object().unwrap() {
        spec[k] = v.clone();
    }
    spec
}

/// AddKVMHost params on ZStack, good but for `fields`.
fn kvm_host(cluster: &str, fields: Value) -> Value {
    let mut params = json!({"name": "kvm-1", "managementIp": "10.0.0.9", "clusterUuid": cluster,
                            "username": "root", "password": "x"});
    for (k, v) in fields.as_object().unwrap() {
        params[k] = v.clone();
    }
    json!({"params": params})
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

    let w = World::start(61).await;
    // The core, which every surface's host add calls.
    let e = w
        .core
        .add_host(
            &w.admin,
            AddHostSpec {
                datacenter_id: Some(w.dc.id.clone()),
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
    let r =
        w.ts.call(
            Method::POST,
            "/api/vcenter/host",
            Some(&w.token),
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
    // VI/JSON: a standalone add, a cluster add and a reconnect to a new address.
    let spec = connect_spec(json!({"hostName": BAD_HOST}));
    let f = w
        .vim_fault(
            &w.vim_host_folder().await,
            "AddStandaloneHost_Task",
            json!({"spec": spec, "addConnected": true}),
        )
        .await;
    assert_invalid_name(&f, BAD_HOST, "spec.hostName", HOST_RULE);
    let f = w
        .vim_fault(
            &w.vim_cluster(),
            "AddHost_Task",
            json!({"spec": spec, "asConnected": true}),
        )
        .await;
    assert_invalid_name(&f, BAD_HOST, "spec.hostName", HOST_RULE);
    let f = w
        .vim_fault(
            &w.vim_host(),
            "ReconnectHost_Task",
            json!({"cnxSpec": {"hostName": BAD_HOST, "force": false}}),
        )
        .await;
    assert_invalid_name(&f, BAD_HOST, "cnxSpec.hostName", HOST_RULE);
    // ZStack: AddKVMHost and UpdateHost, both as managementIp.
    w.zs_refuses(
        Method::POST,
        "/zstack/v1/hosts/kvm",
        kvm_host(&w.cluster.id, json!({"managementIp": BAD_HOST})),
        "managementIp",
        HOST_RULE,
    )
    .await;
    w.zs_refuses(
        Method::PUT,
        &format!("/zstack/v1/hosts/{}/actions", w.host.id),
        json!({"updateHost": {"managementIp": BAD_HOST}}),
        "managementIp",
        HOST_RULE,
    )
    .await;
    w.stop().await;
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
    let w = World::start(62).await;
    // The vAPI surface.
    let r =
        w.ts.call(
            Method::POST,
            "/api/vcenter/host",
            Some(&w.token),
            Some(
                json!({"spec": {"hostname": "kvm-1.lab", "port": 70000, "user_name": "root",
                                 "password": "x", "thumbprint_verification": "NONE"}}),
            ),
        )
        .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(vapi_message(&v).contains(PORT_RULE), "{v}");
    // VI/JSON: HostConnectSpec.port in a standalone add, a cluster add and a reconnect.
    let spec = connect_spec(json!({"port": 70000}));
    let f = w
        .vim_fault(
            &w.vim_host_folder().await,
            "AddStandaloneHost_Task",
            json!({"spec": spec, "addConnected": true}),
        )
        .await;
    assert_invalid_argument(&f, "spec.port", PORT_RULE);
    let f = w
        .vim_fault(
            &w.vim_cluster(),
            "AddHost_Task",
            json!({"spec": spec, "asConnected": true}),
        )
        .await;
    assert_invalid_argument(&f, "spec.port", PORT_RULE);
    let f = w
        .vim_fault(
            &w.vim_host(),
            "ReconnectHost_Task",
            json!({"cnxSpec": {"port": 70000, "force": false}}),
        )
        .await;
    assert_invalid_argument(&f, "cnxSpec.port", PORT_RULE);
    // ZStack: sshPort in AddKVMHost and UpdateKVMHost.
    w.zs_refuses(
        Method::POST,
        "/zstack/v1/hosts/kvm",
        kvm_host(&w.cluster.id, json!({"sshPort": 70000})),
        "sshPort",
        PORT_RULE,
    )
    .await;
    w.zs_refuses(
        Method::PUT,
        &format!("/zstack/v1/hosts/kvm/{}/actions", w.host.id),
        json!({"updateKVMHost": {"sshPort": 70000}}),
        "sshPort",
        PORT_RULE,
    )
    .await;
    w.stop().await;
}

#[tokio::test]
async fn names_thumbprints_and_ids_are_refused_naming_the_field() {
    use ferrocenter_core::validate;
    assert_eq!(
        validate::entity_name("newName", "a/b").unwrap_err(),
        CoreError::invalid("newName", NAME_RULE)
    );
    assert_eq!(
        validate::thumbprint("sslThumbprint", Some("AB:CD")).unwrap_err(),
        CoreError::invalid("sslThumbprint", THUMBPRINT_RULE)
    );
    assert_eq!(
        validate::uuid("resourceUuid", "NOT-A-UUID").unwrap_err(),
        CoreError::invalid("resourceUuid", UUID_RULE)
    );
    // Through the core's operations the bindings call: a datacenter and a host add.
    let w = World::start(63).await;
    let (core, admin) = (&w.core, &w.admin);
    assert_eq!(
        core.create_datacenter(admin, "a/b", "").await.unwrap_err(),
        CoreError::invalid("name", NAME_RULE)
    );
    let add = |spec: AddHostSpec| async move { core.add_host(admin, spec).await.unwrap_err() };
    let base = AddHostSpec {
        datacenter_id: Some(w.dc.id.clone()),
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
        CoreError::invalid("sslThumbprint", THUMBPRINT_RULE)
    );
    assert_eq!(
        add(AddHostSpec {
            resource_uuid: Some("NOT-A-UUID".into()),
            ..base.clone()
        })
        .await,
        CoreError::invalid("resourceUuid", UUID_RULE)
    );
    assert_eq!(
        add(AddHostSpec {
            port: Some(0),
            ..base
        })
        .await,
        CoreError::invalid("port", PORT_RULE)
    );

    // VI/JSON names: a datacenter, a cluster and a host rename.
    let f = w
        .vim_fault(
            &w.vim_root_folder().await,
            "CreateDatacenter",
            json!({"_typeName": "CreateDatacenterRequestType", "name": "a/b"}),
        )
        .await;
    assert_invalid_name(&f, "a/b", "name", NAME_RULE);
    let f = w
        .vim_fault(
            &w.vim_host_folder().await,
            "CreateClusterEx",
            json!({"name": "a/b", "spec": {"_typeName": "ClusterConfigSpecEx"}}),
        )
        .await;
    assert_invalid_name(&f, "a/b", "name", NAME_RULE);
    let f = w
        .vim_fault(&w.vim_host(), "Rename_Task", json!({"newName": "a/b"}))
        .await;
    assert_invalid_name(&f, "a/b", "newName", NAME_RULE);
    // VI/JSON thumbprints: a cluster add and a reconnect. VI/JSON has no client-chosen ids.
    let f = w
        .vim_fault(
            &w.vim_cluster(),
            "AddHost_Task",
            json!({"spec": connect_spec(json!({"sslThumbprint": "AB:CD"})), "asConnected": true}),
        )
        .await;
    assert_invalid_argument(&f, "spec.sslThumbprint", THUMBPRINT_RULE);
    let f = w
        .vim_fault(
            &w.vim_host(),
            "ReconnectHost_Task",
            json!({"cnxSpec": {"sslThumbprint": "AB:CD", "force": false}}),
        )
        .await;
    assert_invalid_argument(&f, "cnxSpec.sslThumbprint", THUMBPRINT_RULE);

    // ZStack names: a zone, a cluster, a host added and a host renamed.
    w.zs_refuses(
        Method::POST,
        "/zstack/v1/zones",
        json!({"params": {"name": "a/b"}}),
        "name",
        NAME_RULE,
    )
    .await;
    w.zs_refuses(
        Method::POST,
        "/zstack/v1/clusters",
        json!({"params": {"zoneUuid": w.dc.id, "name": "a/b", "hypervisorType": "KVM"}}),
        "name",
        NAME_RULE,
    )
    .await;
    w.zs_refuses(
        Method::POST,
        "/zstack/v1/hosts/kvm",
        kvm_host(&w.cluster.id, json!({"name": "a/b"})),
        "name",
        NAME_RULE,
    )
    .await;
    w.zs_refuses(
        Method::PUT,
        &format!("/zstack/v1/hosts/{}/actions", w.host.id),
        json!({"updateHost": {"name": "a/b"}}),
        "name",
        NAME_RULE,
    )
    .await;
    // ZStack thumbprints: the system tag that pins the agent's certificate.
    let mut body = kvm_host(&w.cluster.id, json!({}));
    body["systemTags"] = json!(["sslThumbprint::AB:CD"]);
    w.zs_refuses(
        Method::POST,
        "/zstack/v1/hosts/kvm",
        body,
        "sslThumbprint",
        THUMBPRINT_RULE,
    )
    .await;
    // ZStack ids: resourceUuid of a zone, a cluster and a host.
    w.zs_refuses(
        Method::POST,
        "/zstack/v1/zones",
        json!({"params": {"name": "z", "resourceUuid": "NOT-A-UUID"}}),
        "resourceUuid",
        UUID_RULE,
    )
    .await;
    w.zs_refuses(
        Method::POST,
        "/zstack/v1/clusters",
        json!({"params": {"zoneUuid": w.dc.id, "name": "c2", "hypervisorType": "KVM",
                           "resourceUuid": "NOT-A-UUID"}}),
        "resourceUuid",
        UUID_RULE,
    )
    .await;
    w.zs_refuses(
        Method::POST,
        "/zstack/v1/hosts/kvm",
        kvm_host(&w.cluster.id, json!({"resourceUuid": "NOT-A-UUID"})),
        "resourceUuid",
        UUID_RULE,
    )
    .await;
    w.stop().await;
}
