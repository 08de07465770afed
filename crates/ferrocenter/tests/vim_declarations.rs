//! The vim binding's declarations tell the truth: every value the real server renders (every
//! property of every object it serves, the service content, the session, events, tasks that
//! succeeded and failed, a host's connection info, property updates, faults) is described by
//! the declared types, with the declared fields and array-ness (`ferrocenter_vim::undeclared`).
//! The WSDL is written from the same declarations, so this is also the WSDL's check.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::vim::{self, path_of};
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

struct Env {
    ts: TestServer,
    token: String,
    /// Every `Type.field` found undeclared, with where.
    problems: Vec<String>,
}

impl Env {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        vim::call(&self.ts, Some(&self.token), method, path, body).await
    }

    /// A call that must succeed; its value is checked.
    async fn ok(&mut self, path: &str, body: Value) -> Value {
        let (s, v) = self.call(Method::POST, path, Some(body)).await;
        assert_eq!(s, 200, "{path}: {v}");
        self.check(path, &v);
        v
    }

    async fn prop(&mut self, obj: &Value, name: &str) -> Value {
        let path = format!("{}/{name}", path_of(obj));
        let (s, v) = self.call(Method::GET, &path, None).await;
        assert_eq!(s, 200, "{path}: {v}");
        self.check(&path, &v);
        v
    }

    fn check(&mut self, at: &str, v: &Value) {
        for p in ferrocenter_vim::undeclared(v) {
            self.problems.push(format!("{at}: {p}"));
        }
    }

    /// The finished task's info, checked.
    async fn wait(&mut self, task: &Value) -> Value {
        let info = vim::finished_task(&self.ts, &self.token, task).await;
        self.check(&format!("{}/info", path_of(task)), &info);
        info
    }
}

/// Every MoRef anywhere in `v`.
fn morefs(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(o) if o.get("_typeName") == Some(&json!("ManagedObjectReference")) => {
            out.push(v.clone());
        }
        Value::Object(o) => o.values().for_each(|x| morefs(x, out)),
        Value::Array(a) => a.iter().for_each(|x| morefs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_rendered_value_is_declared() {
    let fleet = sim_fleet(2, 2, 23, 7).await;
    let ts = TestServer::start().await;
    let token = ts.login(ADMIN).await;
    let mut e = Env {
        ts,
        token,
        problems: Vec::new(),
    };
    let content = e
        .ok(
            "ServiceInstance/ServiceInstance/RetrieveServiceContent",
            json!({}),
        )
        .await;
    let pc = content["propertyCollector"].clone();
    e.prop(&content["sessionManager"], "currentSession").await;

    // An inventory: a datacenter, a cluster with a host, a standalone host.
    let root = content["rootFolder"].clone();
    let dc = e
        .ok(
            &format!("{}/CreateDatacenter", path_of(&root)),
            json!({"name": "DC0"}),
        )
        .await;
    let hf = e.prop(&dc, "hostFolder").await;
    let cluster = e
        .ok(
            &format!("{}/CreateClusterEx", path_of(&hf)),
            json!({"name": "C0", "spec": {"_typeName": "ClusterConfigSpecEx"}}),
        )
        .await;
    let spec = |i: usize, thumbprint: bool| {
        let h = &fleet.manifest.hosts[i];
        let mut s = json!({"_typeName": "HostConnectSpec", "hostName": h.address, "port": h.port,
            "userName": "root", "password": ROOT_PW, "force": false});
        if thumbprint {
            s["sslThumbprint"] = json!(h.thumbprint);
        }
        s
    };
    // A failed task first: its info carries the fault.
    let failed = e
        .ok(
            &format!("{}/AddHost_Task", path_of(&cluster)),
            json!({"spec": spec(0, false), "asConnected": true}),
        )
        .await;
    let info = e.wait(&failed).await;
    assert_eq!(info["error"]["_typeName"], "SSLVerifyFault", "{info}");
    let t = e
        .ok(
            &format!("{}/AddHost_Task", path_of(&cluster)),
            json!({"spec": spec(0, true), "asConnected": true}),
        )
        .await;
    let host = e.wait(&t).await["result"].clone();
    let t = e
        .ok(
            &format!("{}/AddStandaloneHost_Task", path_of(&hf)),
            json!({"spec": spec(1, true), "addConnected": true}),
        )
        .await;
    assert_eq!(e.wait(&t).await["state"], "success");
    // A custom value, so customValue has one.
    let _ = e
        .call(
            Method::POST,
            &format!("{}/setCustomValue", path_of(&host)),
            Some(json!({"key": "owner", "value": "ops"})),
        )
        .await;

    e.ok(
        &format!("{}/QueryHostConnectionInfo", path_of(&host)),
        json!({}),
    )
    .await;
    let events = e
        .ok(
            "EventManager/EventManager/QueryEvents",
            json!({"filter": {"_typeName": "EventFilterSpec"}}),
        )
        .await;
    assert!(events.as_array().is_some_and(|a| !a.is_empty()), "{events}");

    // Every property of every served object reachable from the service content, type by type.
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut todo = Vec::new();
    morefs(&content, &mut todo);
    todo.extend([
        vim::moref("ServiceInstance", "ServiceInstance"),
        failed.clone(),
        host.clone(),
    ]);
    let mut types_read = BTreeSet::new();
    while !todo.is_empty() {
        let mut by_type: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for r in todo.drain(..) {
            let t = r["type"].as_str().unwrap().to_string();
            if ferrocenter_vim::properties(&t).is_empty()
                || !seen.insert(format!("{t}:{}", r["value"]))
            {
                continue;
            }
            by_type.entry(t).or_default().push(r);
        }
        for (t, objs) in by_type {
            let spec = json!({"_typeName": "PropertyFilterSpec",
                "propSet": [{"_typeName": "PropertySpec", "type": t, "pathSet": ferrocenter_vim::properties(&t)}],
                "objectSet": objs.iter().map(|o| json!({"_typeName": "ObjectSpec", "obj": o, "skip": false})).collect::<Vec<_>>()});
            let r = e
                .ok(
                    &format!("{}/RetrievePropertiesEx", path_of(&pc)),
                    json!({"specSet": [spec], "options": {"_typeName": "RetrieveOptions"}}),
                )
                .await;
            morefs(&r, &mut todo);
            types_read.insert(t);
        }
    }
    for t in [
        "ServiceInstance",
        "SessionManager",
        "Folder",
        "Datacenter",
        "ClusterComputeResource",
        "ComputeResource",
        "ResourcePool",
        "HostSystem",
        "VirtualMachine",
        "Datastore",
        "Network",
        "Task",
    ] {
        assert!(types_read.contains(t), "{t} was not read: {types_read:?}");
    }

    // PropertySpec.all over a ContainerView of everything, and the same as updates.
    let view = e
        .ok(
            "ViewManager/ViewManager/CreateContainerView",
            json!({"container": root, "type": [], "recursive": true}),
        )
        .await;
    let all_spec = json!({"_typeName": "PropertyFilterSpec",
        "propSet": types_read.iter().filter(|t| *t != "ServiceInstance" && *t != "SessionManager" && *t != "Task")
            .map(|t| json!({"_typeName": "PropertySpec", "type": t, "all": true})).collect::<Vec<_>>(),
        "objectSet": [{"_typeName": "ObjectSpec", "obj": view, "skip": true, "selectSet": [
            {"_typeName": "TraversalSpec", "type": "ContainerView", "path": "view", "skip": false}]}]});
    let r = e
        .ok(
            &format!("{}/RetrievePropertiesEx", path_of(&pc)),
            json!({"specSet": [all_spec.clone()], "options": {}}),
        )
        .await;
    assert!(r["objects"].as_array().is_some_and(|a| a.len() > 5), "{r}");
    e.ok(
        &format!("{}/CreateFilter", path_of(&pc)),
        json!({"spec": all_spec, "partialUpdates": false}),
    )
    .await;
    let first = e
        .ok(
            &format!("{}/WaitForUpdatesEx", path_of(&pc)),
            json!({"version": "", "options": {"_typeName": "WaitOptions", "maxWaitSeconds": 0}}),
        )
        .await;
    let t = e
        .ok(
            &format!("{}/Rename_Task", path_of(&host)),
            json!({"newName": "renamed"}),
        )
        .await;
    e.wait(&t).await;
    let next = e
        .ok(
            &format!("{}/WaitForUpdatesEx", path_of(&pc)),
            json!({"version": first["version"], "options": {"maxWaitSeconds": 5}}),
        )
        .await;
    assert!(next["filterSet"].is_array(), "{next}");

    // Faults as the binding answers them.
    let (s, f) = e
        .call(Method::GET, &format!("{}/nope", path_of(&host)), None)
        .await;
    assert_eq!(s, 500);
    e.check("InvalidProperty", &f);
    let (s, f) = e
        .call(
            Method::POST,
            &format!("{}/Nope", path_of(&host)),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 500);
    e.check("MethodNotFound", &f);

    assert!(
        e.problems.is_empty(),
        "undeclared:\n{}",
        e.problems.join("\n")
    );
}
