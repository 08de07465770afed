//! Both vim doors give the same answers. The same reads (every property of every served type,
//! the PropertyCollector, events, connection info) and the same faults go through VI/JSON and
//! through SOAP against one server, and the same operations run through each door on twin
//! objects; the answers are compared after a normalisation written here, independent of the
//! server's encoder: data objects by type and fields, MoRefs as `type:value`, `Any` values with
//! their type, a fault inside a value unwrapped from SOAP's LocalizedMethodFault, scalars as
//! text. Fields that move between two reads (times, counters, tokens) are compared by presence;
//! between twins, so are identities, names and messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::collections::BTreeMap;

use common::soap_wire::{self, call_body, SoapAnswer};
use common::vim::{self as vj, moref, path_of};
use common::*;
use ferrocenter_agent::simulate::Fleet;
use ferrocenter_core::auth::Role;
use ferrocenter_http::soap::Element;
use reqwest::Method;
use serde_json::{json, Value};

/// A door-independent form of an answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Norm {
    Text(String),
    MoRef(String, String),
    /// A type (if stated) and fields, each a list of values (a one-element array and a single
    /// value are the same on SOAP's wire).
    Obj(Option<String>, BTreeMap<String, Vec<Norm>>),
    Masked,
}

/// Fields that differ between two reads of the same object.
const VOLATILE: &[&str] = &[
    "lastActiveTime",
    "uptime",
    "overallCpuUsage",
    "overallMemoryUsage",
    "currentTime",
    "serverClock",
    "callCount",
    "userAgent",
    "token",
    "loginTime",
];

/// What twin objects may differ in, beyond VOLATILE: their identities and names.
const IDENTITY: &[&str] = &[
    "key",
    "task",
    "entity",
    "entityName",
    "eventChainId",
    "queueTime",
    "startTime",
    "completeTime",
    "createdTime",
    "result",
    "name",
    "host",
    "vm",
    "chainId",
    "fullFormattedMessage",
    "changeTag",
    "thumbprint",
    "message",
    "faultMessage",
    "ipAddress",
    "localizedMessage",
    "locked",
    "obj",
    "receiver",
    "filter",
];

fn strip_xsd(t: &str) -> String {
    t.trim_start_matches("xsd:").to_string()
}

fn norm_json(v: &Value, mask: &[&str]) -> Vec<Norm> {
    match v {
        Value::Null => vec![],
        Value::Array(a) => a.iter().flat_map(|x| norm_json(x, mask)).collect(),
        Value::Object(o) => {
            let t = o.get("_typeName").and_then(Value::as_str);
            if t == Some("ManagedObjectReference") && o.contains_key("type") {
                return vec![Norm::MoRef(
                    o["type"].as_str().unwrap().into(),
                    o["value"].as_str().unwrap().into(),
                )];
            }
            if let (Some(t), Some(inner)) = (t, o.get("_value")) {
                // A boxed Any: its type and its value(s).
                let mut f = BTreeMap::new();
                let items = norm_json(inner, mask);
                if !items.is_empty() {
                    f.insert("_value".into(), items);
                }
                return vec![Norm::Obj(Some(strip_xsd(t)), f)];
            }
            let mut f = BTreeMap::new();
            for (k, val) in o.iter().filter(|(k, _)| *k != "_typeName") {
                let n = if mask.contains(&k.as_str()) {
                    if norm_json(val, &[]).is_empty() {
                        vec![]
                    } else {
                        vec![Norm::Masked]
                    }
                } else {
                    norm_json(val, mask)
                };
                if !n.is_empty() {
                    f.insert(k.clone(), n);
                }
            }
            vec![Norm::Obj(t.map(String::from), f)]
        }
        Value::String(s) => vec![Norm::Text(s.clone())],
        other => vec![Norm::Text(other.to_string())],
    }
}

fn xsi_type(e: &Element) -> Option<String> {
    e.xsi_type.as_ref().map(|(_, t)| t.clone())
}

fn norm_xml(e: &Element, mask: &[&str]) -> Vec<Norm> {
    if e.is_nil() {
        return vec![];
    }
    let t = xsi_type(e);
    if t.as_deref() == Some("LocalizedMethodFault") {
        return norm_xml(e.child("fault").expect("LocalizedMethodFault.fault"), mask);
    }
    if let Some(mt) = e.attr("type") {
        if e.children.is_empty() {
            return vec![Norm::MoRef(mt.into(), e.text.trim().into())];
        }
    }
    if let Some(t) = t.as_deref().filter(|t| t.starts_with("ArrayOf")) {
        let mut f = BTreeMap::new();
        let items: Vec<Norm> = e.children.iter().flat_map(|c| norm_xml(c, mask)).collect();
        if !items.is_empty() {
            f.insert("_value".into(), items);
        }
        return vec![Norm::Obj(Some(t.into()), f)];
    }
    if e.children.is_empty() {
        let text = Norm::Text(e.text.clone());
        return match t {
            // A typed primitive in an Any slot (xsd:string, an enum).
            Some(t) if !t.is_empty() => {
                let mut f = BTreeMap::new();
                f.insert("_value".into(), vec![text]);
                vec![Norm::Obj(Some(t), f)]
            }
            _ => vec![text],
        };
    }
    let mut f: BTreeMap<String, Vec<Norm>> = BTreeMap::new();
    for c in &e.children {
        let n = if mask.contains(&c.name.as_str()) {
            vec![Norm::Masked]
        } else {
            norm_xml(c, mask)
        };
        if mask.contains(&c.name.as_str()) {
            f.insert(c.name.clone(), n);
        } else {
            f.entry(c.name.clone()).or_default().extend(n);
        }
    }
    vec![Norm::Obj(t, f)]
}

/// An answer of either door: a value (None: unset or void) or a fault.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Value(Vec<Norm>),
    Fault(String, Vec<Norm>),
}

fn from_vi_json(status: u16, v: &Value, mask: &[&str]) -> Answer {
    if status == 500 {
        let t = v["_typeName"].as_str().unwrap().to_string();
        return Answer::Fault(t, norm_json(v, mask));
    }
    assert!(status == 200 || status == 204, "{status}: {v}");
    Answer::Value(norm_json(v, mask))
}

fn from_soap(a: &SoapAnswer, mask: &[&str]) -> Answer {
    let body = a.body();
    if body.name == "Fault" {
        assert_eq!(a.status, 500, "{}", a.text);
        let d = body.child("detail").unwrap().children[0].clone();
        let t = xsi_type(&d).unwrap();
        // The detail element stands for the fault object itself.
        return Answer::Fault(t.clone(), norm_xml(&d, mask));
    }
    assert_eq!(a.status, 200, "{}", a.text);
    Answer::Value(
        body.children_named("returnval")
            .flat_map(|r| norm_xml(r, mask))
            .collect(),
    )
}

/// A JSON parameter value as a SOAP client writes it (every data object typed).
fn xml_value(tag: &str, v: &Value, out: &mut String) {
    match v {
        Value::Null => {}
        Value::Array(a) => a.iter().for_each(|x| xml_value(tag, x, out)),
        Value::Object(o) => {
            let t = o.get("_typeName").and_then(Value::as_str);
            if t == Some("ManagedObjectReference") {
                out.push_str(&format!(
                    r#"<{tag} type="{}">{}</{tag}>"#,
                    o["type"].as_str().unwrap(),
                    o["value"].as_str().unwrap()
                ));
                return;
            }
            match t {
                Some(t) => out.push_str(&format!(r#"<{tag} xsi:type="{t}">"#)),
                None => out.push_str(&format!("<{tag}>")),
            }
            for (k, val) in o.iter().filter(|(k, _)| *k != "_typeName") {
                xml_value(k, val, out);
            }
            out.push_str(&format!("</{tag}>"));
        }
        Value::String(s) => out.push_str(&format!(
            "<{tag}>{}</{tag}>",
            s.replace('&', "&amp;").replace('<', "&lt;")
        )),
        other => out.push_str(&format!("<{tag}>{other}</{tag}>")),
    }
}

struct Env {
    ts: TestServer,
    fleet: Fleet,
    token: String,
    cookie: String,
}

impl Env {
    async fn json(
        &self,
        token: Option<&str>,
        verb: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        vj::call(&self.ts, token, verb, path, body).await
    }

    /// A method through VI/JSON.
    async fn vj_call(&self, obj: &Value, method: &str, params: &Value, mask: &[&str]) -> Answer {
        let body = (!params.is_null()).then(|| params.clone());
        let (s, v) = self
            .json(
                Some(&self.token),
                Method::POST,
                &format!("{}/{method}", path_of(obj)),
                body,
            )
            .await;
        from_vi_json(s, &v, mask)
    }

    /// The same method through SOAP.
    async fn soap_call(
        &self,
        cookie: Option<&str>,
        obj: &Value,
        method: &str,
        params: &Value,
        mask: &[&str],
    ) -> Answer {
        let mut xml = String::new();
        if let Value::Object(o) = params {
            for (k, v) in o {
                xml_value(k, v, &mut xml);
            }
        }
        let body = call_body(
            method,
            obj["type"].as_str().unwrap(),
            obj["value"].as_str().unwrap(),
            &xml,
        );
        from_soap(&soap_wire::post(&self.ts, body, cookie).await, mask)
    }

    /// Asserts both doors answer `method` on `obj` alike; the answer.
    async fn same_call(&self, obj: &Value, method: &str, params: Value) -> Answer {
        let a = self.vj_call(obj, method, &params, VOLATILE).await;
        let b = self
            .soap_call(Some(&self.cookie), obj, method, &params, VOLATILE)
            .await;
        assert_eq!(a, b, "{} {method}: VI/JSON and SOAP differ", path_of(obj));
        a
    }

    /// Asserts a property reads alike through GET and SOAP's Fetch.
    async fn same_property(&self, obj: &Value, name: &str) {
        self.same_property_but(obj, name, VOLATILE).await;
    }

    async fn same_property_but(&self, obj: &Value, name: &str, mask: &[&str]) {
        let (s, v) = self
            .json(
                Some(&self.token),
                Method::GET,
                &format!("{}/{name}", path_of(obj)),
                None,
            )
            .await;
        let a = from_vi_json(s, &v, mask);
        let b = self
            .soap_call(
                Some(&self.cookie),
                obj,
                "Fetch",
                &json!({"prop": name}),
                mask,
            )
            .await;
        assert_eq!(a, b, "{} {name}: GET and Fetch differ", path_of(obj));
    }

    async fn prop(&self, obj: &Value, name: &str) -> Value {
        let (s, v) = self
            .json(
                Some(&self.token),
                Method::GET,
                &format!("{}/{name}", path_of(obj)),
                None,
            )
            .await;
        assert_eq!(s, 200, "{name}: {v}");
        v
    }

    async fn task_info(&self, task: &Value) -> Value {
        vj::finished_task(&self.ts, &self.token, task).await
    }

    /// Runs `method` through VI/JSON on `a` and through SOAP on its twin `b`; asserts the two
    /// answers, and for tasks the two finished TaskInfos, match but for identities.
    async fn twin(
        &self,
        a: &Value,
        b: &Value,
        method: &str,
        params_a: Value,
        params_b: Value,
    ) -> (Value, Value) {
        let ra = self.vj_call(a, method, &params_a, IDENTITY).await;
        let body = (!params_b.is_null()).then(|| params_b.clone());
        let mut xml = String::new();
        if let Some(Value::Object(o)) = &body {
            for (k, v) in o {
                xml_value(k, v, &mut xml);
            }
        }
        let sa = soap_wire::post(
            &self.ts,
            call_body(
                method,
                b["type"].as_str().unwrap(),
                b["value"].as_str().unwrap(),
                &xml,
            ),
            Some(&self.cookie),
        )
        .await;
        let rb = from_soap(&sa, IDENTITY);
        assert_eq!(
            anon(&ra),
            anon(&rb),
            "{method}: VI/JSON on {a} and SOAP on {b} differ"
        );
        // Tasks: compare how they ended.
        let task_of = |ans: &Answer| match ans {
            Answer::Value(v) => v.iter().find_map(|n| match n {
                Norm::MoRef(t, id) if t == "Task" => Some(moref("Task", id)),
                _ => None,
            }),
            Answer::Fault(..) => None,
        };
        let (ta, tb) = (task_of(&ra), task_of(&rb));
        match (ta, tb) {
            (Some(ta), Some(tb)) => {
                let (ia, ib) = (self.task_info(&ta).await, self.task_info(&tb).await);
                let mask = [
                    IDENTITY,
                    VOLATILE,
                    &["descriptionId", "description", "reason", "progress"],
                ]
                .concat();
                assert_eq!(
                    norm_json(&ia, &mask),
                    norm_json(&ib, &mask),
                    "{method}: the tasks ended differently:\n{ia}\n{ib}"
                );
                (ia, ib)
            }
            _ => (Value::Null, Value::Null),
        }
    }
}

/// An answer with its top-level MoRefs reduced to their type: twins' results are different
/// objects of the same kind.
fn anon(a: &Answer) -> Answer {
    let strip = |v: &Vec<Norm>| {
        v.iter()
            .map(|n| match n {
                Norm::MoRef(t, _) => Norm::MoRef(t.clone(), String::new()),
                other => other.clone(),
            })
            .collect()
    };
    match a {
        Answer::Value(v) => Answer::Value(strip(v)),
        Answer::Fault(t, v) => Answer::Fault(t.clone(), strip(v)),
    }
}

const HOST_PROPERTIES: &[&str] = &[
    "name",
    "parent",
    "overallStatus",
    "configStatus",
    "runtime",
    "summary",
    "hardware",
    "capability",
    "config",
    "configManager",
    "datastore",
    "network",
    "vm",
    "recentTask",
    "disabledMethod",
    "customValue",
    "value",
    "availableField",
    "alarmActionsEnabled",
    "effectiveRole",
    "configIssue",
    "permission",
    "triggeredAlarmState",
    "declaredAlarmState",
    "tag",
    "licensableResource",
    "systemResources",
    "datastoreBrowser",
    "answerFileValidationState",
    "complianceCheckState",
];

#[tokio::test]
async fn both_doors_answer_alike() {
    let fleet = sim_fleet(4, 2, 31, 5).await;
    let ts = TestServer::start().await;
    let token = ts.login(ADMIN).await;
    let cookie = soap_wire::login(&ts).await;
    let env = Env {
        ts,
        fleet,
        token,
        cookie,
    };
    let si = moref("ServiceInstance", "ServiceInstance");

    // Service content, without a session, both ways.
    let content = env
        .same_call(&si, "RetrieveServiceContent", Value::Null)
        .await;
    let (_, content_json) = env
        .json(
            None,
            Method::GET,
            "ServiceInstance/ServiceInstance/content",
            None,
        )
        .await;
    assert!(matches!(content, Answer::Value(ref v) if !v.is_empty()));
    let root = content_json["rootFolder"].clone();

    // Inventory: a datacenter and a fully automated cluster; two hosts through each door.
    let dc = env.prop(&root, "childEntity").await;
    assert_eq!(dc, json!([]));
    let dc_a = env
        .vj_call(&root, "CreateDatacenter", &json!({"name": "DC-A"}), &[])
        .await;
    let dc = match dc_a {
        Answer::Value(ref v) => match &v[0] {
            Norm::MoRef(t, id) => moref(t, id),
            other => panic!("{other:?}"),
        },
        ref f => panic!("{f:?}"),
    };
    let host_folder = env.prop(&dc, "hostFolder").await;
    let cl_params = |name: &str| json!({"name": name, "spec": {"_typeName": "ClusterConfigSpecEx", "drsConfig": {"_typeName": "ClusterDrsConfigInfo", "enabled": true, "defaultVmBehavior": "fullyAutomated"}}});
    env.twin(
        &host_folder,
        &host_folder,
        "CreateClusterEx",
        cl_params("CA"),
        cl_params("CB"),
    )
    .await;
    let clusters = env.prop(&host_folder, "childEntity").await;
    let (ca, cb) = (clusters[0].clone(), clusters[1].clone());
    let spec = |i: usize, thumb: bool| {
        let h = &env.fleet.manifest.hosts[i];
        let mut s = json!({"_typeName": "HostConnectSpec", "hostName": h.address, "port": h.port, "userName": "root", "password": ROOT_PW, "force": false});
        if thumb {
            s["sslThumbprint"] = json!(h.thumbprint);
        }
        s
    };
    // Without the thumbprint: SSLVerifyFault in the task, alike but for the thumbprint.
    let (ia, ib) = env
        .twin(
            &ca,
            &cb,
            "AddHost_Task",
            json!({"spec": spec(0, false), "asConnected": true}),
            json!({"spec": spec(2, false), "asConnected": true}),
        )
        .await;
    assert_eq!(ia["error"]["_typeName"], "SSLVerifyFault");
    assert_eq!(
        ib["error"]["thumbprint"],
        json!(env.fleet.manifest.hosts[2].thumbprint)
    );
    for (i, j) in [(0, 2), (1, 3)] {
        env.twin(
            &ca,
            &cb,
            "AddHost_Task",
            json!({"spec": spec(i, true), "asConnected": true}),
            json!({"spec": spec(j, true), "asConnected": true}),
        )
        .await;
    }
    let hosts_a = env.prop(&ca, "host").await;
    let hosts_b = env.prop(&cb, "host").await;
    let (h0, h2) = (hosts_a[0].clone(), hosts_b[0].clone());

    // Every property of the objects the inventory now holds, GET against Fetch.
    for p in HOST_PROPERTIES {
        env.same_property(&h0, p).await;
    }
    let vm = env.prop(&h0, "vm").await[0].clone();
    let ds = env.prop(&h0, "datastore").await[0].clone();
    let net = env.prop(&h0, "network").await[0].clone();
    let pool = env.prop(&ca, "resourcePool").await;
    let objects: Vec<(Value, &[&str])> = vec![
        (si.clone(), &["content", "capability"]),
        (
            root.clone(),
            &["name", "parent", "childType", "childEntity"],
        ),
        (
            dc.clone(),
            &[
                "name",
                "hostFolder",
                "vmFolder",
                "datastoreFolder",
                "networkFolder",
                "datastore",
                "network",
                "parent",
            ],
        ),
        (
            ca.clone(),
            &[
                "name",
                "host",
                "resourcePool",
                "datastore",
                "network",
                "summary",
                "configurationEx",
                "parent",
                "environmentBrowser",
            ],
        ),
        (
            vm.clone(),
            &[
                "name",
                "runtime",
                "summary",
                "parent",
                "resourcePool",
                "datastore",
                "network",
                "config",
            ],
        ),
        (ds, &["name", "summary", "info", "host", "vm", "parent"]),
        (net, &["name", "summary", "host", "vm", "parent"]),
        (pool, &["name", "owner", "parent", "vm", "resourcePool"]),
        (
            moref("TaskManager", "TaskManager"),
            &["recentTask", "maxCollector"],
        ),
        (
            moref("EventManager", "EventManager"),
            &["latestEvent", "maxCollector"],
        ),
        (
            moref("SessionManager", "SessionManager"),
            &[
                "defaultLocale",
                "supportedLocaleList",
                "messageLocaleList",
                "message",
            ],
        ),
        (
            moref("CustomFieldsManager", "CustomFieldsManager"),
            &["field"],
        ),
    ];
    for (obj, props) in &objects {
        for p in *props {
            env.same_property(obj, p).await;
        }
    }
    // Each door's own session: alike but for its key.
    let session_mask = [VOLATILE, &["key"]].concat();
    env.same_property_but(
        &moref("SessionManager", "SessionManager"),
        "currentSession",
        &session_mask,
    )
    .await;

    // Methods that read: the collector (a container view of everything, all properties),
    // events, connection info, alarm actions, session checks.
    let spec_all = |t: &str| json!({"_typeName": "PropertySpec", "type": t, "all": true});
    let pc = moref("PropertyCollector", "propertyCollector");
    // Collectors, filters and views belong to a session, so both doors walk the inventory
    // from the root folder with a traversal.
    let walk = json!({"_typeName": "PropertyFilterSpec",
        "propSet": [spec_all("HostSystem"), spec_all("Datacenter")],
        "objectSet": [{"_typeName": "ObjectSpec", "obj": root, "skip": false, "selectSet": [
            {"_typeName": "TraversalSpec", "name": "f", "type": "Folder", "path": "childEntity", "skip": false, "selectSet": [{"_typeName": "SelectionSpec", "name": "f"}, {"_typeName": "SelectionSpec", "name": "d"}, {"_typeName": "SelectionSpec", "name": "c"}]},
            {"_typeName": "TraversalSpec", "name": "d", "type": "Datacenter", "path": "hostFolder", "skip": false, "selectSet": [{"_typeName": "SelectionSpec", "name": "f"}]},
            {"_typeName": "TraversalSpec", "name": "c", "type": "ComputeResource", "path": "host", "skip": false}]}]});
    let listing = env.same_call(&pc, "RetrievePropertiesEx", json!({"specSet": [walk.clone()], "options": {"_typeName": "RetrieveOptions", "maxObjects": 2}})).await;
    assert!(matches!(listing, Answer::Value(ref v) if !v.is_empty()));
    env.same_call(&pc, "RetrieveProperties", json!({"specSet": [walk]}))
        .await;
    env.same_call(&moref("EventManager", "EventManager"), "QueryEvents",
        json!({"filter": {"_typeName": "EventFilterSpec", "entity": {"_typeName": "EventFilterSpecByEntity", "entity": h0, "recursion": "self"}, "maxCount": 20}})).await;
    env.same_call(&h0, "QueryHostConnectionInfo", Value::Null)
        .await;
    env.same_call(
        &moref("AlarmManager", "AlarmManager"),
        "AreAlarmActionsEnabled",
        json!({"entity": h0}),
    )
    .await;

    // Faults, alike: unknown and unserved methods, an unknown property, a gone object, bad
    // parameters, no session, and a refused privilege.
    for (obj, method, params) in [
        (h0.clone(), "NoSuchMethod", Value::Null),
        (h0.clone(), "QueryTpmAttestationReport", Value::Null),
        (
            moref("HostSystem", "host-999"),
            "EnterMaintenanceMode_Task",
            json!({"timeout": 0}),
        ),
        (h0.clone(), "EnterMaintenanceMode_Task", Value::Null),
        (h0.clone(), "Rename_Task", json!({"newName": "bad/name"})),
        (
            h0.clone(),
            "ExitMaintenanceMode_Task",
            json!({"timeout": 0}),
        ),
        (
            vm.clone(),
            "MigrateVM_Task",
            json!({"priority": "defaultPriority"}),
        ),
        (root.clone(), "CreateDatacenter", json!({"name": "DC-A"})),
        (moref("NoSuchType", "x"), "Foo", Value::Null),
    ] {
        let a = env.same_call(&obj, method, params).await;
        assert!(matches!(a, Answer::Fault(..)), "{method}: {a:?}");
    }
    let a = env.vj_call(&h0, "NoSuchProperty", &Value::Null, &[]).await;
    assert!(matches!(a, Answer::Fault(ref t, _) if t == "MethodNotFound"));
    env.same_property(&h0, "noSuchProperty").await;
    let no_session = {
        let (s, v) = env
            .json(
                None,
                Method::POST,
                &format!("{}/Reload", path_of(&h0)),
                None,
            )
            .await;
        from_vi_json(s, &v, VOLATILE)
    };
    assert_eq!(
        no_session,
        env.soap_call(None, &h0, "Reload", &Value::Null, VOLATILE)
            .await
    );
    let operator = env.ts.user("op", Role::Operator).await;
    let op_token = env.ts.login(&operator).await;
    let (s, v) = env
        .json(
            Some(&op_token),
            Method::POST,
            &format!("{}/EnterMaintenanceMode_Task", path_of(&h0)),
            Some(json!({"timeout": 0})),
        )
        .await;
    let op_json = from_vi_json(s, &v, VOLATILE);
    let op_cookie = {
        let body = call_body(
            "Login",
            "SessionManager",
            "SessionManager",
            &format!("<userName>{operator}</userName><password>{PASSWORD}</password>"),
        );
        let a = soap_wire::post(&env.ts, body, None).await;
        a.set_cookie.unwrap().split(';').next().unwrap().to_string()
    };
    let op_soap = env
        .soap_call(
            Some(&op_cookie),
            &h0,
            "EnterMaintenanceMode_Task",
            &json!({"timeout": 0}),
            VOLATILE,
        )
        .await;
    assert_eq!(op_json, op_soap);
    assert!(matches!(op_json, Answer::Fault(ref t, _) if t == "NoPermission"));

    // Operations on twins: the first host of each cluster through each door.
    let h1 = hosts_a[1].clone();
    let h3 = hosts_b[1].clone();
    env.twin(
        &h0,
        &h2,
        "EnterMaintenanceMode_Task",
        json!({"timeout": 0, "evacuatePoweredOffVms": true}),
        json!({"timeout": 0, "evacuatePoweredOffVms": true}),
    )
    .await;
    assert_eq!(env.prop(&h0, "vm").await, json!([]));
    assert_eq!(env.prop(&h2, "vm").await, json!([]));
    env.twin(
        &h0,
        &h2,
        "EnterMaintenanceMode_Task",
        json!({"timeout": 0}),
        json!({"timeout": 0}),
    )
    .await;
    env.twin(
        &h0,
        &h2,
        "ExitMaintenanceMode_Task",
        json!({"timeout": 0}),
        json!({"timeout": 0}),
    )
    .await;
    env.twin(
        &h0,
        &h2,
        "Rename_Task",
        json!({"newName": "renamed-a"}),
        json!({"newName": "renamed-b"}),
    )
    .await;
    env.twin(
        &h0,
        &h2,
        "UpdateFlags",
        json!({"flagInfo": {"_typeName": "HostFlagInfo", "backgroundSnapshotsEnabled": true}}),
        json!({"flagInfo": {"_typeName": "HostFlagInfo", "backgroundSnapshotsEnabled": true}}),
    )
    .await;
    env.twin(
        &h0,
        &h2,
        "setCustomValue",
        json!({"key": "owner", "value": "x"}),
        json!({"key": "owner", "value": "x"}),
    )
    .await;
    env.twin(&h0, &h2, "EnterLockdownMode", Value::Null, Value::Null)
        .await;
    env.twin(&h0, &h2, "EnterLockdownMode", Value::Null, Value::Null)
        .await;
    env.twin(&h0, &h2, "ExitLockdownMode", Value::Null, Value::Null)
        .await;
    env.twin(&h0, &h2, "DisconnectHost_Task", Value::Null, Value::Null)
        .await;
    env.twin(&h0, &h2, "DisconnectHost_Task", Value::Null, Value::Null)
        .await;
    env.twin(&h0, &h2, "ReconnectHost_Task", Value::Null, Value::Null)
        .await;
    // VMs: power and migrate within each cluster.
    let vm_a = env.prop(&h1, "vm").await[0].clone();
    let vm_b = env.prop(&h3, "vm").await[0].clone();
    env.twin(&vm_a, &vm_b, "PowerOffVM_Task", Value::Null, Value::Null)
        .await;
    env.twin(&vm_a, &vm_b, "PowerOffVM_Task", Value::Null, Value::Null)
        .await;
    env.twin(&vm_a, &vm_b, "PowerOnVM_Task", Value::Null, Value::Null)
        .await;
    env.twin(
        &vm_a,
        &vm_b,
        "MigrateVM_Task",
        json!({"host": h0, "priority": "defaultPriority"}),
        json!({"host": h2, "priority": "defaultPriority"}),
    )
    .await;
    env.twin(
        &h1,
        &h3,
        "RebootHost_Task",
        json!({"force": false}),
        json!({"force": false}),
    )
    .await;
    // A cluster's automation level, then the hosts removed.
    let drs = |l: &str| json!({"spec": {"_typeName": "ClusterConfigSpecEx", "drsConfig": {"_typeName": "ClusterDrsConfigInfo", "defaultVmBehavior": l}}, "modify": true});
    env.twin(
        &ca,
        &cb,
        "ReconfigureComputeResource_Task",
        drs("manual"),
        drs("manual"),
    )
    .await;
    env.twin(&h1, &h3, "Destroy_Task", Value::Null, Value::Null)
        .await;
    env.ts.stop().await;
}

/// A moref out of a one-value answer.
fn moref_of(a: &Answer) -> Value {
    match a {
        Answer::Value(v) => match v.first() {
            Some(Norm::MoRef(t, id)) => moref(t, id),
            other => panic!("not a MoRef: {other:?}"),
        },
        f => panic!("{f:?}"),
    }
}

#[tokio::test]
async fn sessions_collectors_standalone_hosts_and_power_alike() {
    let fleet = sim_fleet(2, 1, 32, 9).await;
    let ts = TestServer::start().await;
    let token = ts.login(ADMIN).await;
    let cookie = soap_wire::login(&ts).await;
    let env = Env {
        ts,
        fleet,
        token,
        cookie,
    };
    let sm = moref("SessionManager", "SessionManager");
    let root = moref("Folder", "group-d1");

    // Sessions: a clone ticket and its session, SessionIsActive, TerminateSession, Logout.
    // Tickets are secrets, different each time: both doors hand out the same kind.
    let soap_ticket = env
        .soap_call(
            Some(&env.cookie),
            &sm,
            "AcquireCloneTicket",
            &Value::Null,
            &[],
        )
        .await;
    assert!(
        matches!(soap_ticket, Answer::Value(ref v) if matches!(&v[..], [Norm::Text(t)] if t.starts_with("cst-"))),
        "{soap_ticket:?}"
    );
    let ticket_json = env
        .vj_call(&sm, "AcquireCloneTicket", &Value::Null, &[])
        .await;
    let ticket = match ticket_json {
        Answer::Value(ref v) => match &v[0] {
            Norm::Text(t) => t.clone(),
            o => panic!("{o:?}"),
        },
        ref f => panic!("{f:?}"),
    };
    // A ticket made on one door clones a session on the other; a used ticket is refused alike.
    let cloned = soap_wire::post(
        &env.ts,
        call_body(
            "CloneSession",
            "SessionManager",
            "SessionManager",
            &format!("<cloneTicket>{ticket}</cloneTicket>"),
        ),
        None,
    )
    .await;
    assert_eq!(cloned.status, 200, "{}", cloned.text);
    let clone_cookie = cloned
        .set_cookie
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let again_soap = from_soap(
        &soap_wire::post(
            &env.ts,
            call_body(
                "CloneSession",
                "SessionManager",
                "SessionManager",
                &format!("<cloneTicket>{ticket}</cloneTicket>"),
            ),
            None,
        )
        .await,
        VOLATILE,
    );
    let (s, v) = env
        .json(
            None,
            Method::POST,
            "SessionManager/SessionManager/CloneSession",
            Some(json!({"cloneTicket": ticket})),
        )
        .await;
    assert_eq!(from_vi_json(s, &v, VOLATILE), again_soap);
    assert!(matches!(again_soap, Answer::Fault(ref t, _) if t == "InvalidLogin"));
    let key_of = |v: &Value| v["key"].as_str().unwrap().to_string();
    let (_, mine) = env
        .json(
            Some(&env.token),
            Method::GET,
            "SessionManager/SessionManager/currentSession",
            None,
        )
        .await;
    let clone_view = env
        .soap_call(
            Some(&clone_cookie),
            &sm,
            "Fetch",
            &json!({"prop": "currentSession"}),
            VOLATILE,
        )
        .await;
    assert!(matches!(clone_view, Answer::Value(ref v) if !v.is_empty()));
    let active = json!({"sessionID": key_of(&mine), "userName": ADMIN});
    env.same_call(&sm, "SessionIsActive", active).await;
    env.same_call(
        &sm,
        "SessionIsActive",
        json!({"sessionID": "no-such-key", "userName": ADMIN}),
    )
    .await;
    // Terminating one's own session is refused alike; an unknown key alike.
    let own_json = env
        .vj_call(
            &sm,
            "TerminateSession",
            &json!({"sessionId": [key_of(&mine)]}),
            VOLATILE,
        )
        .await;
    assert!(
        matches!(own_json, Answer::Fault(ref t, _) if t == "InvalidArgument"),
        "{own_json:?}"
    );
    env.same_call(&sm, "TerminateSession", json!({"sessionId": ["nope"]}))
        .await;

    // Collectors, filters and views: each door makes its own, and they answer alike.
    let pc = moref("PropertyCollector", "propertyCollector");
    env.twin(
        &pc,
        &pc,
        "CreatePropertyCollector",
        Value::Null,
        Value::Null,
    )
    .await;
    let vm_mgr = moref("ViewManager", "ViewManager");
    let lv_params = json!({"obj": [root]});
    env.twin(
        &vm_mgr,
        &vm_mgr,
        "CreateListView",
        lv_params.clone(),
        lv_params.clone(),
    )
    .await;
    let lv_a = moref_of(
        &env.vj_call(&vm_mgr, "CreateListView", &lv_params, &[])
            .await,
    );
    let lv_b = moref_of(
        &env.soap_call(
            Some(&env.cookie),
            &vm_mgr,
            "CreateListView",
            &lv_params,
            &[],
        )
        .await,
    );
    let modify = json!({"add": [moref("HostSystem", "host-404")], "remove": [root]});
    env.twin(&lv_a, &lv_b, "ModifyListView", modify.clone(), modify)
        .await;
    env.twin(&lv_a, &lv_b, "DestroyView", Value::Null, Value::Null)
        .await;
    env.twin(&lv_a, &lv_b, "DestroyView", Value::Null, Value::Null)
        .await;
    let filter = json!({"spec": {"_typeName": "PropertyFilterSpec",
        "propSet": [{"_typeName": "PropertySpec", "type": "Folder", "pathSet": ["name", "childEntity"]}],
        "objectSet": [{"_typeName": "ObjectSpec", "obj": root}]}, "partialUpdates": false});
    let pc_a = moref_of(
        &env.vj_call(&pc, "CreatePropertyCollector", &Value::Null, &[])
            .await,
    );
    let pc_b = moref_of(
        &env.soap_call(
            Some(&env.cookie),
            &pc,
            "CreatePropertyCollector",
            &Value::Null,
            &[],
        )
        .await,
    );
    env.twin(&pc_a, &pc_b, "CreateFilter", filter.clone(), filter)
        .await;
    let wait0 =
        json!({"version": "", "options": {"_typeName": "WaitOptions", "maxWaitSeconds": 0}});
    env.twin(&pc_a, &pc_b, "WaitForUpdatesEx", wait0.clone(), wait0)
        .await;
    let quiet =
        json!({"version": "1", "options": {"_typeName": "WaitOptions", "maxWaitSeconds": 0}});
    env.twin(&pc_a, &pc_b, "WaitForUpdatesEx", quiet.clone(), quiet)
        .await;
    env.twin(
        &pc_a,
        &pc_b,
        "CheckForUpdates",
        json!({"version": "1"}),
        json!({"version": "1"}),
    )
    .await;
    env.twin(
        &pc_a,
        &pc_b,
        "CheckForUpdates",
        json!({"version": "7"}),
        json!({"version": "7"}),
    )
    .await;
    let filters_a = env.prop(&pc_a, "filter").await;
    let (s, v) = env
        .json(
            Some(&env.token),
            Method::GET,
            &format!("{}/filter", path_of(&pc_b)),
            None,
        )
        .await;
    assert_eq!(s, 500, "another session's collector is not found: {v}");
    let filter_b = moref_of(
        &env.soap_call(
            Some(&env.cookie),
            &pc_b,
            "Fetch",
            &json!({"prop": "filter"}),
            &[],
        )
        .await,
    );
    env.twin(
        &filters_a[0],
        &filter_b,
        "DestroyPropertyFilter",
        Value::Null,
        Value::Null,
    )
    .await;
    env.twin(
        &pc_a,
        &pc_b,
        "CancelWaitForUpdates",
        Value::Null,
        Value::Null,
    )
    .await;
    env.twin(
        &pc_a,
        &pc_b,
        "DestroyPropertyCollector",
        Value::Null,
        Value::Null,
    )
    .await;
    let paged = json!({"specSet": [{"_typeName": "PropertyFilterSpec",
        "propSet": [{"_typeName": "PropertySpec", "type": "Folder", "pathSet": ["name"]}],
        "objectSet": [{"_typeName": "ObjectSpec", "obj": root}]}], "options": {"_typeName": "RetrieveOptions", "maxObjects": 1}});
    env.same_call(&pc, "RetrievePropertiesEx", paged).await;
    env.same_call(
        &pc,
        "ContinueRetrievePropertiesEx",
        json!({"token": "no-such-token"}),
    )
    .await;
    env.same_call(
        &pc,
        "CancelRetrievePropertiesEx",
        json!({"token": "no-such-token"}),
    )
    .await;

    // Standalone hosts, folders and the older CreateCluster.
    let dc = moref_of(
        &env.vj_call(&root, "CreateDatacenter", &json!({"name": "DC"}), &[])
            .await,
    );
    let hf = env.prop(&dc, "hostFolder").await;
    env.twin(
        &hf,
        &hf,
        "CreateFolder",
        json!({"name": "fa"}),
        json!({"name": "fb"}),
    )
    .await;
    env.twin(
        &hf,
        &hf,
        "CreateCluster",
        json!({"name": "ca", "spec": {"_typeName": "ClusterConfigSpec"}}),
        json!({"name": "cb", "spec": {"_typeName": "ClusterConfigSpec"}}),
    )
    .await;
    let spec = |i: usize| {
        let h = &env.fleet.manifest.hosts[i];
        json!({"spec": {"_typeName": "HostConnectSpec", "hostName": h.address, "port": h.port, "userName": "root", "password": ROOT_PW, "force": false, "sslThumbprint": h.thumbprint}, "addConnected": true})
    };
    let (ia, ib) = env
        .twin(&hf, &hf, "AddStandaloneHost_Task", spec(0), spec(1))
        .await;
    let (cr_a, cr_b) = (ia["result"].clone(), ib["result"].clone());
    assert_eq!(cr_a["type"], "ComputeResource");
    let ha = env.prop(&cr_a, "host").await[0].clone();
    let hb = env.prop(&cr_b, "host").await[0].clone();
    let cfm = moref("CustomFieldsManager", "CustomFieldsManager");
    let am = moref("AlarmManager", "AlarmManager");
    env.twin(
        &ha,
        &hb,
        "setCustomValue",
        json!({"key": "team", "value": "a"}),
        json!({"key": "team", "value": "a"}),
    )
    .await;
    env.twin(
        &cfm,
        &cfm,
        "SetField",
        json!({"entity": ha, "key": 1, "value": "b"}),
        json!({"entity": hb, "key": 1, "value": "b"}),
    )
    .await;
    env.twin(
        &am,
        &am,
        "EnableAlarmActions",
        json!({"entity": ha, "enabled": false}),
        json!({"entity": hb, "enabled": false}),
    )
    .await;
    env.twin(
        &am,
        &am,
        "AreAlarmActionsEnabled",
        json!({"entity": ha}),
        json!({"entity": hb}),
    )
    .await;
    env.twin(&ha, &hb, "Destroy_Task", Value::Null, Value::Null)
        .await;
    // Standby waits for the host's VMs to stop: stop them first.
    let vm_a = env.prop(&ha, "vm").await[0].clone();
    let vm_b = env.prop(&hb, "vm").await[0].clone();
    env.twin(&vm_a, &vm_b, "PowerOffVM_Task", Value::Null, Value::Null)
        .await;
    env.twin(
        &ha,
        &hb,
        "PowerDownHostToStandBy_Task",
        json!({"timeoutSec": 30}),
        json!({"timeoutSec": 30}),
    )
    .await;
    env.twin(
        &ha,
        &hb,
        "PowerDownHostToStandBy_Task",
        json!({"timeoutSec": 30}),
        json!({"timeoutSec": 30}),
    )
    .await;
    env.twin(
        &ha,
        &hb,
        "PowerUpHostFromStandBy_Task",
        json!({"timeoutSec": 30}),
        json!({"timeoutSec": 30}),
    )
    .await;
    env.twin(
        &ha,
        &hb,
        "ShutdownHost_Task",
        json!({"force": true}),
        json!({"force": true}),
    )
    .await;
    env.twin(&cr_a, &cr_b, "Destroy_Task", Value::Null, Value::Null)
        .await;

    // Logout ends the session on both doors alike: the next call is NotAuthenticated.
    env.twin(&sm, &sm, "Logout", Value::Null, Value::Null).await;
    let after_json = env
        .vj_call(&root, "CreateFolder", &json!({"name": "x"}), VOLATILE)
        .await;
    let after_soap = env
        .soap_call(
            Some(&env.cookie),
            &root,
            "CreateFolder",
            &json!({"name": "x"}),
            VOLATILE,
        )
        .await;
    assert_eq!(after_json, after_soap);
    assert!(matches!(after_json, Answer::Fault(ref t, _) if t == "NotAuthenticated"));
    env.ts.stop().await;
}
