//! The vcenter inventory services as curl users call them (`/api` and `/rest`), and the
//! standard errors of reference §7 that real requests produce, each through JSON-RPC and REST.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;
use ferrocenter_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

struct Api<'a> {
    ts: &'a TestServer,
    token: String,
}

impl Api<'_> {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let r = self.ts.call(method, path, Some(&self.token), body).await;
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A JSON-RPC call as the SDK sends it: typed input, the session in the security context.
    async fn rpc(
        &self,
        service: &str,
        operation: &str,
        input: Value,
        session: Option<&str>,
    ) -> Value {
        let ctx = match session {
            Some(s) => {
                json!({"securityCtx": {"schemeId": "com.vmware.vapi.std.security.session_id", "sessionId": s}})
            }
            None => json!({}),
        };
        let r = self
            .ts
            .client
            .post(self.ts.api("/api"))
            .json(
                &json!({"jsonrpc": "2.0", "method": "invoke", "id": "7", "params": {
                "serviceId": service, "operationId": operation,
                "input": {"STRUCTURE": {"operation-input": input}}, "ctx": ctx}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "JSON-RPC answers errors inside HTTP 200");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["id"], "7");
        v["result"].clone()
    }
}

/// The standard error id of a JSON-RPC result.
fn rpc_error(result: &Value) -> String {
    result["error"]["ERROR"]
        .as_object()
        .and_then(|o| o.keys().next())
        .map(|k| {
            k.trim_start_matches("com.vmware.vapi.std.errors.")
                .to_string()
        })
        .unwrap_or_else(|| format!("no error in {result}"))
}

#[tokio::test]
async fn vcenter_services_over_api_and_rest() {
    let fleet = sim_fleet(2, 2, 8, 41).await;
    let ts = TestServer::start().await;
    let api = Api {
        token: ts.login(ADMIN).await,
        ts: &ts,
    };
    // Datacenters: create, list with a filter, get (its four folders).
    let (s, dc) = api
        .call(
            Method::POST,
            "/api/vcenter/datacenter",
            Some(json!({"spec": {"name": "DC0"}})),
        )
        .await;
    assert_eq!(s, 200, "{dc}");
    let dc = dc.as_str().unwrap().to_string();
    assert!(dc.starts_with("datacenter-"));
    let (s, v) = api
        .call(Method::GET, "/api/vcenter/datacenter?names=DC0", None)
        .await;
    assert_eq!((s, v), (200, json!([{"datacenter": dc, "name": "DC0"}])));
    let (_, v) = api
        .call(Method::GET, "/api/vcenter/datacenter?names=other", None)
        .await;
    assert_eq!(v, json!([]));
    let (s, info) = api
        .call(Method::GET, &format!("/api/vcenter/datacenter/{dc}"), None)
        .await;
    assert_eq!(s, 200);
    let host_folder = info["host_folder"].as_str().unwrap().to_string();
    assert!(host_folder.starts_with("group-h"));
    // Folders: filtered by type and datacenter.
    let (_, v) = api
        .call(
            Method::GET,
            &format!("/api/vcenter/folder?type=HOST&datacenters={dc}"),
            None,
        )
        .await;
    assert_eq!(
        v,
        json!([{"folder": host_folder, "name": "host", "type": "HOST"}])
    );
    // Hosts: POST /api/vcenter/host with the thumbprint, as a curl user would.
    let h = &fleet.manifest.hosts[0];
    let (s, host) = api
        .call(
            Method::POST,
            "/api/vcenter/host",
            Some(
                json!({"spec": {"hostname": h.address, "port": h.port, "user_name": "root",
                "password": ROOT_PW, "folder": host_folder,
                "thumbprint_verification": "THUMBPRINT", "thumbprint": h.thumbprint}}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{host}");
    let host = host.as_str().unwrap().to_string();
    let (s, v) = api.call(Method::GET, "/api/vcenter/host", None).await;
    assert_eq!(s, 200);
    assert_eq!(v[0]["host"], json!(host));
    assert_eq!(v[0]["connection_state"], "CONNECTED");
    assert_eq!(v[0]["power_state"], "POWERED_ON");
    let (_, v) = api
        .call(
            Method::GET,
            "/api/vcenter/host?connection_states=DISCONNECTED",
            None,
        )
        .await;
    assert_eq!(v, json!([]));
    // The /rest forms: the {"value": …} wrapper and dotted filter keys; the second host by
    // certificate-less trust ("NONE").
    let h2 = &fleet.manifest.hosts[1];
    let (s, v) = api
        .call(
            Method::POST,
            "/rest/vcenter/host",
            Some(
                json!({"spec": {"hostname": h2.address, "port": h2.port, "user_name": "root",
                "password": ROOT_PW, "folder": host_folder, "thumbprint_verification": "NONE"}}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let host2 = v["value"].as_str().unwrap().to_string();
    let (s, v) = api
        .call(
            Method::GET,
            &format!("/rest/vcenter/host?filter.hosts.1={host2}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["value"][0]["host"], json!(host2));
    // Datacenter and cluster filters name moIds; one that names nothing matches nothing.
    let hosts_of = |v: Value| {
        let mut h: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["host"].as_str().unwrap().to_string())
            .collect();
        h.sort();
        h
    };
    let mut both = vec![host.clone(), host2.clone()];
    both.sort();
    let (_, v) = api
        .call(
            Method::GET,
            &format!("/api/vcenter/host?datacenters={dc}"),
            None,
        )
        .await;
    assert_eq!(hosts_of(v), both);
    for other in ["datacenters=datacenter-999", "clusters=domain-c999"] {
        let (s, v) = api
            .call(Method::GET, &format!("/api/vcenter/host?{other}"), None)
            .await;
        assert_eq!((s, v), (200, json!([])), "{other}");
    }
    // VMs: list, get, power; relocate as a task with vmw-task=true, polled on /api/cis/tasks.
    let (_, vms) = api
        .call(Method::GET, &format!("/api/vcenter/vm?hosts={host}"), None)
        .await;
    assert_eq!(vms.as_array().unwrap().len(), 2);
    // The datacenter and cluster filters narrow VMs as they narrow hosts.
    let count = |v: &Value| v.as_array().map(Vec::len);
    let (_, v) = api.call(Method::GET, "/api/vcenter/vm", None).await;
    assert_eq!(count(&v), Some(4), "{v}");
    let (_, v) = api
        .call(
            Method::GET,
            &format!("/api/vcenter/vm?datacenters={dc}"),
            None,
        )
        .await;
    assert_eq!(count(&v), Some(4), "{v}");
    for other in [
        "datacenters=datacenter-999",
        "clusters=domain-c999",
        &format!("hosts={host}&datacenters=datacenter-999"),
    ] {
        let (s, v) = api
            .call(Method::GET, &format!("/api/vcenter/vm?{other}"), None)
            .await;
        assert_eq!((s, v), (200, json!([])), "{other}");
    }
    let vm = vms[0]["vm"].as_str().unwrap().to_string();
    let (s, v) = api
        .call(Method::GET, &format!("/api/vcenter/vm/{vm}"), None)
        .await;
    assert_eq!((s, &v["name"]), (200, &vms[0]["name"]));
    assert!(v["cpu"]["count"].as_u64().unwrap() > 0);
    let (s, task) = api
        .call(
            Method::POST,
            &format!("/api/vcenter/vm/{vm}?action=relocate&vmw-task=true"),
            Some(json!({"spec": {"placement": {"host": host2}}})),
        )
        .await;
    assert_eq!(s, 202, "{task}");
    let task = task.as_str().unwrap().to_string();
    let mut status = Value::Null;
    for _ in 0..200 {
        let (_, info) = api
            .call(Method::GET, &format!("/api/cis/tasks/{task}"), None)
            .await;
        status = info["status"].clone();
        if status == "SUCCEEDED" || status == "FAILED" {
            assert_eq!(info["operation"], "relocate");
            assert_eq!(info["service"], "com.vmware.vcenter.VM");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "SUCCEEDED");
    let (_, v) = api
        .call(Method::GET, &format!("/api/vcenter/vm?hosts={host2}"), None)
        .await;
    assert!(v.as_array().unwrap().iter().any(|x| x["vm"] == json!(vm)));
    // Power through /rest: stop, then the state.
    let (s, _) = api
        .call(
            Method::POST,
            &format!("/rest/vcenter/vm/{vm}/power/stop"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (_, v) = api
        .call(Method::GET, &format!("/rest/vcenter/vm/{vm}/power"), None)
        .await;
    assert_eq!(v["value"]["state"], "POWERED_OFF");
    // Clusters and the system hello (a body parameter).
    let (s, v) = api
        .call(
            Method::POST,
            "/api/vcenter/system?action=hello",
            Some(json!({"api_releases": ["1.0.0.0", "9.0.0.0"]})),
        )
        .await;
    assert_eq!((s, v), (200, json!({"api_release": "9.0.0.0"})));
    // A host disconnected and connected again; delete it.
    let (s, _) = api
        .call(
            Method::POST,
            &format!("/api/vcenter/host/{host2}/disconnect"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (_, v) = api
        .call(
            Method::GET,
            &format!("/api/vcenter/host?hosts={host2}"),
            None,
        )
        .await;
    assert_eq!(v[0]["connection_state"], "DISCONNECTED");
    assert!(
        v[0].get("power_state").is_none(),
        "the union rule: no power state"
    );
    let (s, _) = api
        .call(
            Method::POST,
            &format!("/api/vcenter/host/{host2}/connect"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = api
        .call(Method::DELETE, &format!("/api/vcenter/host/{host2}"), None)
        .await;
    assert_eq!(s, 204);
    let (_, v) = api.call(Method::GET, "/api/vcenter/host", None).await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    ts.stop().await;
}

#[tokio::test]
async fn standard_errors_through_json_rpc_and_rest() {
    let fleet = sim_fleet(1, 1, 9, 43).await;
    let ts = TestServer::start().await;
    let api = Api {
        token: ts.login(ADMIN).await,
        ts: &ts,
    };
    let session = api.token.clone();
    let op = ts.user("op", Role::Operator).await;
    let op_token = ts.login(&op).await;
    let (_, dc) = api
        .call(
            Method::POST,
            "/api/vcenter/datacenter",
            Some(json!({"spec": {"name": "DC0"}})),
        )
        .await;
    let dc = dc.as_str().unwrap().to_string();
    let (_, info) = api
        .call(Method::GET, &format!("/api/vcenter/datacenter/{dc}"), None)
        .await;
    let folder = info["host_folder"].as_str().unwrap().to_string();
    let h = &fleet.manifest.hosts[0];
    let spec = |thumb: &str| {
        json!({"hostname": h.address, "port": h.port, "user_name": "root", "password": ROOT_PW,
               "folder": folder, "thumbprint_verification": "THUMBPRINT", "thumbprint": thumb})
    };
    let rpc_spec = |thumb: &str| {
        json!({"STRUCTURE": {"com.vmware.vcenter.host.create_spec": {
            "hostname": h.address, "port": {"OPTIONAL": h.port}, "user_name": "root",
            "password": {"SECRET": ROOT_PW}, "folder": {"OPTIONAL": folder},
            "thumbprint_verification": "THUMBPRINT", "thumbprint": {"OPTIONAL": thumb},
            "ssl_certificate": {"OPTIONAL": null}, "force_add": {"OPTIONAL": null}}}})
    };
    let (s, host) = api
        .call(
            Method::POST,
            "/api/vcenter/host",
            Some(json!({"spec": spec(&h.thumbprint)})),
        )
        .await;
    assert_eq!(s, 200, "{host}");
    let host = host.as_str().unwrap().to_string();

    struct Case {
        error: &'static str,
        status: u16,
        rest: (Method, String, Option<Value>, Option<String>),
        rpc: (&'static str, &'static str, Value, Option<String>),
    }
    let admin = Some(session.clone());
    let cases = vec![
        Case {
            error: "unauthenticated",
            status: 401,
            rest: (Method::GET, "/api/vcenter/host".into(), None, None),
            rpc: (
                "com.vmware.vcenter.host",
                "list",
                json!({"filter": {"OPTIONAL": null}}),
                None,
            ),
        },
        Case {
            error: "unauthorized",
            status: 403,
            rest: (
                Method::POST,
                "/api/vcenter/datacenter".into(),
                Some(json!({"spec": {"name": "nope"}})),
                Some(op_token.clone()),
            ),
            rpc: (
                "com.vmware.vcenter.datacenter",
                "create",
                json!({"spec": {"STRUCTURE": {"x": {"name": "nope", "folder": {"OPTIONAL": null}}}}}),
                Some(op_token.clone()),
            ),
        },
        Case {
            error: "not_found",
            status: 404,
            rest: (
                Method::GET,
                "/api/vcenter/datacenter/datacenter-999".into(),
                None,
                admin.clone(),
            ),
            rpc: (
                "com.vmware.vcenter.datacenter",
                "get",
                json!({"datacenter": "datacenter-999"}),
                admin.clone(),
            ),
        },
        Case {
            error: "operation_not_found",
            status: 404,
            rest: (
                Method::GET,
                "/api/vcenter/nothing".into(),
                None,
                admin.clone(),
            ),
            rpc: (
                "com.vmware.vcenter.nothing",
                "get",
                json!({}),
                admin.clone(),
            ),
        },
        Case {
            error: "invalid_argument",
            status: 400,
            rest: (
                Method::GET,
                "/api/vcenter/host?connection_states=ASLEEP".into(),
                None,
                admin.clone(),
            ),
            rpc: (
                "com.vmware.vcenter.host",
                "list",
                json!({"filter": {"OPTIONAL": {"STRUCTURE": {"x": {"connection_states": {"OPTIONAL": ["ASLEEP"]}}}}}}),
                admin.clone(),
            ),
        },
        Case {
            error: "already_exists",
            status: 400,
            rest: (
                Method::POST,
                "/api/vcenter/datacenter".into(),
                Some(json!({"spec": {"name": "DC0"}})),
                admin.clone(),
            ),
            rpc: (
                "com.vmware.vcenter.datacenter",
                "create",
                json!({"spec": {"STRUCTURE": {"x": {"name": "DC0", "folder": {"OPTIONAL": null}}}}}),
                admin.clone(),
            ),
        },
        Case {
            error: "already_in_desired_state",
            status: 400,
            rest: (
                Method::POST,
                format!("/api/vcenter/host/{host}/connect"),
                None,
                admin.clone(),
            ),
            rpc: (
                "com.vmware.vcenter.host",
                "connect",
                json!({"host": host}),
                admin.clone(),
            ),
        },
        Case {
            error: "not_allowed_in_current_state",
            status: 400,
            rest: (
                Method::DELETE,
                format!("/api/vcenter/datacenter/{dc}"),
                None,
                admin.clone(),
            ),
            rpc: (
                "com.vmware.vcenter.datacenter",
                "delete",
                json!({"datacenter": dc, "force": {"OPTIONAL": null}}),
                admin.clone(),
            ),
        },
        Case {
            error: "unsupported",
            status: 400,
            rest: (
                Method::POST,
                "/api/vcenter/vm/vm-1?action=relocate".into(),
                Some(json!({"spec": {"placement": {"host": host, "datastore": "datastore-1"}}})),
                admin.clone(),
            ),
            rpc: (
                "com.vmware.vcenter.VM",
                "relocate",
                json!({"vm": "vm-1", "spec": {"STRUCTURE": {"x": {"placement": {"OPTIONAL": {"STRUCTURE": {"y": {
                    "host": {"OPTIONAL": host}, "datastore": {"OPTIONAL": "datastore-1"}}}}}}}}}),
                admin.clone(),
            ),
        },
        Case {
            error: "already_exists",
            status: 400,
            rest: (
                Method::POST,
                "/api/vcenter/host".into(),
                Some(json!({"spec": spec(&h.thumbprint)})),
                admin.clone(),
            ),
            rpc: (
                "com.vmware.vcenter.host",
                "create",
                json!({"spec": rpc_spec(&h.thumbprint)}),
                admin.clone(),
            ),
        },
        Case {
            error: "invalid_request",
            status: 400,
            rest: (
                Method::POST,
                "/api/vcenter/datacenter".into(),
                None,
                admin.clone(),
            ),
            rpc: (
                "com.vmware.vcenter.host",
                "list",
                json!({}),
                Some("__bad_scheme__".into()),
            ),
        },
    ];
    for c in cases {
        let (method, path, body, token) = c.rest;
        let r = if c.error == "invalid_request" {
            // A body that is not JSON at all.
            ts.client
                .request(method.clone(), ts.api(&path))
                .header("vmware-api-session-id", token.clone().unwrap_or_default())
                .header("content-type", "application/json")
                .body("{\"spec\": ")
                .send()
                .await
                .unwrap()
        } else {
            ts.call(method.clone(), &path, token.as_deref(), body).await
        };
        assert_eq!(
            r.status().as_u16(),
            c.status,
            "{} via REST {method} {path}",
            c.error
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error_type"], c.error.to_ascii_uppercase(), "{v}");
        let (service, operation, input, who) = c.rpc;
        let result = if who.as_deref() == Some("__bad_scheme__") {
            let r = ts
                .client
                .post(ts.api("/api"))
                .json(
                    &json!({"jsonrpc": "2.0", "method": "invoke", "id": "7", "params": {
                    "serviceId": service, "operationId": operation,
                    "input": {"STRUCTURE": {"operation-input": input}},
                    "ctx": {"securityCtx": {"schemeId": "com.example.unknown"}}}}),
                )
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()["result"].clone()
        } else {
            api.rpc(service, operation, input, who.as_deref()).await
        };
        assert_eq!(
            rpc_error(&result),
            c.error,
            "via JSON-RPC {service}.{operation}: {result}"
        );
    }
    // The session header overrides the body's security context, as the vAPI runtime's server.
    let r = ts
        .client
        .post(ts.api("/api"))
        .header("vmware-api-session-id", &session)
        .json(
            &json!({"jsonrpc": "2.0", "method": "invoke", "id": "7", "params": {
            "serviceId": "com.vmware.vcenter.datacenter", "operationId": "list",
            "input": {"STRUCTURE": {"operation-input": {"filter": {"OPTIONAL": null}}}},
            "ctx": {"securityCtx": {"schemeId": "com.vmware.vapi.std.security.session_id",
                                    "sessionId": "not-a-session"}}}}),
        )
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["result"]["output"][0]["STRUCTURE"]["com.vmware.vcenter.datacenter.summary"]["name"],
        "DC0",
        "{v}"
    );
    // A SAML context whose token is no signed assertion of this domain is refused.
    let r = ts
        .client
        .post(ts.api("/api"))
        .json(
            &json!({"jsonrpc": "2.0", "method": "invoke", "id": "7", "params": {
            "serviceId": "com.vmware.cis.session", "operationId": "create",
            "input": {"STRUCTURE": {"operation-input": {}}},
            "ctx": {"securityCtx": {"schemeId": "com.vmware.vapi.std.security.saml_bearer_token",
                                    "samlToken": "<Assertion/>"}}}}),
        )
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(rpc_error(&v["result"]), "unauthenticated");
    ts.stop().await;
}

/// `DELETE /api/vcenter/host/{host}` while a VM migrates to the host (relocate as a task, the
/// destination's agent slowed through the fleet's fault) answers vCenter's refusal:
/// `NOT_ALLOWED_IN_CURRENT_STATE` naming the migration; once the migration has ended the host
/// goes.
#[tokio::test]
async fn removing_a_host_a_migration_reaches_is_not_allowed_in_current_state() {
    let fleet = sim_fleet(2, 1, 10, 47).await;
    let ts = TestServer::start().await;
    let api = Api {
        token: ts.login(ADMIN).await,
        ts: &ts,
    };
    let (_, dc) = api
        .call(
            Method::POST,
            "/api/vcenter/datacenter",
            Some(json!({"spec": {"name": "DC0"}})),
        )
        .await;
    let (_, info) = api
        .call(
            Method::GET,
            &format!("/api/vcenter/datacenter/{}", dc.as_str().unwrap()),
            None,
        )
        .await;
    let folder = info["host_folder"].as_str().unwrap().to_string();
    let mut hosts = Vec::new();
    for h in &fleet.manifest.hosts {
        let (s, host) = api
            .call(
                Method::POST,
                "/api/vcenter/host",
                Some(
                    json!({"spec": {"hostname": h.address, "port": h.port, "user_name": "root",
                "password": ROOT_PW, "folder": folder,
                "thumbprint_verification": "THUMBPRINT", "thumbprint": h.thumbprint}}),
                ),
            )
            .await;
        assert_eq!(s, 200, "{host}");
        hosts.push(host.as_str().unwrap().to_string());
    }
    let (_, vms) = api
        .call(
            Method::GET,
            &format!("/api/vcenter/vm?hosts={}", hosts[0]),
            None,
        )
        .await;
    let (vm, vm_name) = (
        vms[0]["vm"].as_str().unwrap().to_string(),
        vms[0]["name"].as_str().unwrap().to_string(),
    );
    fleet
        .agent(1)
        .faults
        .slow_ms
        .store(3000, std::sync::atomic::Ordering::SeqCst);
    let (s, task) = api
        .call(
            Method::POST,
            &format!("/api/vcenter/vm/{vm}?action=relocate&vmw-task=true"),
            Some(json!({"spec": {"placement": {"host": hosts[1]}}})),
        )
        .await;
    assert_eq!(s, 202, "{task}");
    let task = task.as_str().unwrap().to_string();
    let mut waited = 0;
    while !fleet
        .agent(0)
        .vms()
        .iter()
        .any(|v| v.migrating_to.is_some())
    {
        assert!(waited < 600, "the migration never started");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    let (s, v) = api
        .call(
            Method::DELETE,
            &format!("/api/vcenter/host/{}", hosts[1]),
            None,
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error_type"], "NOT_ALLOWED_IN_CURRENT_STATE", "{v}");
    let message = v["messages"][0]["default_message"].as_str().unwrap_or("");
    assert!(
        message.contains(&format!("VM {vm_name} is migrating to it")),
        "{v}"
    );
    fleet.agent(1).faults.clear();
    let mut status = Value::Null;
    for _ in 0..600 {
        let (_, info) = api
            .call(Method::GET, &format!("/api/cis/tasks/{task}"), None)
            .await;
        status = info["status"].clone();
        if status == "SUCCEEDED" || status == "FAILED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "SUCCEEDED");
    let (s, v) = api
        .call(
            Method::DELETE,
            &format!("/api/vcenter/host/{}", hosts[1]),
            None,
        )
        .await;
    assert_eq!(s, 204, "{v}");
    ts.stop().await;
}
