//! VI/JSON against a real server and simulated agents: the curl user's flow, inventory and
//! traversal, every HostSystem operation and property, the PropertyCollector, privileges, and
//! every fault of seeds/000 and seeds/001.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::vim::{self, moref, path_of, BASE};
use common::*;
use ferrocenter::config::ServeArgs;
use ferrocenter_agent::simulate::Fleet;
use ferrocenter_agent_client::wire::PowerAction;
use ferrocenter_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

struct Env {
    ts: TestServer,
    fleet: Fleet,
    token: String,
}

async fn env_with(hosts: usize, vms: usize, tweak: impl FnOnce(&mut ServeArgs, &Fleet)) -> Env {
    let fleet = sim_fleet(hosts, vms, 2, 11).await;
    // Every VM starts powered on, so maintenance has something to wait for or move.
    for i in 0..hosts {
        let a = fleet.agent(i);
        for v in a.vms() {
            let _ = a.power(&v.uuid, PowerAction::On).await;
        }
    }
    let ts = TestServer::start_with(|a| tweak(a, &fleet)).await;
    let token = ts.login(ADMIN).await;
    Env { ts, fleet, token }
}

async fn env(hosts: usize, vms: usize) -> Env {
    env_with(hosts, vms, |_, _| {}).await
}

impl Env {
    async fn call_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        vim::call(&self.ts, token, method, path, body).await
    }

    /// A method call; `Value::Null` sends no body at all, as vim_rs does for methods without
    /// parameters.
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let body = (!body.is_null()).then_some(body);
        self.call_as(Some(&self.token), Method::POST, path, body)
            .await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call_as(Some(&self.token), Method::GET, path, None)
            .await
    }

    /// The value of a call that must succeed.
    async fn ok(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.post(path, body).await;
        assert_eq!(s, 200, "{path}: {v}");
        v
    }

    async fn prop(&self, obj: &Value, name: &str) -> Value {
        let (s, v) = self.get(&format!("{}/{name}", path_of(obj))).await;
        assert_eq!(s, 200, "{name}: {v}");
        v
    }

    /// A fault answer: HTTP 500 with the bare fault object.
    async fn fault(&self, path: &str, body: Value) -> Value {
        vim::fault(&self.ts, &self.token, path, body).await
    }

    /// Polls Task.info until the task finishes.
    async fn wait(&self, task: &Value) -> Value {
        vim::finished_task(&self.ts, &self.token, task).await
    }

    async fn succeed(&self, path: &str, body: Value) -> Value {
        let task = self.ok(path, body).await;
        let info = self.wait(&task).await;
        assert_eq!(info["state"], "success", "{path}: {info}");
        info
    }

    fn spec(&self, i: usize, thumbprint: bool) -> Value {
        let h = &self.fleet.manifest.hosts[i];
        let mut s = json!({
            "_typeName": "HostConnectSpec",
            "hostName": h.address,
            "port": h.port,
            "userName": "root",
            "password": ROOT_PW,
            "force": false,
        });
        if thumbprint {
            s["sslThumbprint"] = json!(h.thumbprint);
        }
        s
    }

    async fn datacenter(&self, name: &str) -> (Value, Value) {
        let content = self.get("ServiceInstance/ServiceInstance/content").await.1;
        let dc = self
            .ok(
                &format!("{}/CreateDatacenter", path_of(&content["rootFolder"])),
                json!({"_typeName": "CreateDatacenterRequestType", "name": name}),
            )
            .await;
        let host_folder = self.prop(&dc, "hostFolder").await;
        (dc, host_folder)
    }

    async fn cluster(&self, host_folder: &Value, name: &str, level: &str) -> Value {
        self.ok(
            &format!("{}/CreateClusterEx", path_of(host_folder)),
            json!({"name": name, "spec": {"_typeName": "ClusterConfigSpecEx", "drsConfig": {"_typeName": "ClusterDrsConfigInfo", "enabled": true, "defaultVmBehavior": level}}}),
        )
        .await
    }

    async fn add(&self, cluster: &Value, i: usize) -> Value {
        let info = self
            .succeed(
                &format!("{}/AddHost_Task", path_of(cluster)),
                json!({"spec": self.spec(i, true), "asConnected": true}),
            )
            .await;
        info["result"].clone()
    }

    async fn agent_fault(&self, i: usize, body: Value) {
        let r = reqwest::Client::new()
            .post(format!(
                "http://{}/agents/{i}/faults",
                self.fleet.manifest.control
            ))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
}

/// The flow of the reference's curl user, verbatim: content, login, datacenter, cluster, an add
/// refused for its certificate and retried with the thumbprint the fault carried, maintenance.
#[tokio::test]
async fn curl_flow_from_login_to_maintenance() {
    let e = env(2, 2).await;
    let (s, content) = e
        .call_as(
            None,
            Method::GET,
            "ServiceInstance/ServiceInstance/content",
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(content["about"]["apiType"], "VirtualCenter");
    // Login answers the session in the header (TestServer::login used it); a second login too.
    let r =
        e.ts.call(
            Method::POST,
            &format!("{BASE}/SessionManager/SessionManager/Login"),
            None,
            Some(json!({"_typeName": "Login", "userName": ADMIN, "password": PASSWORD})),
        )
        .await;
    assert!(r.headers().get("vmware-api-session-id").is_some());
    let (_, host_folder) = e.datacenter("DC0").await;
    let cluster = e.cluster(&host_folder, "C0", "fullyAutomated").await;
    assert_eq!(cluster["type"], "ClusterComputeResource");

    // Without a thumbprint: SSLVerifyFault in the task, carrying the thumbprint.
    let add = format!("{}/AddHost_Task", path_of(&cluster));
    let task = e
        .ok(&add, json!({"_typeName": "AddHost_TaskRequestType", "spec": e.spec(0, false), "asConnected": true}))
        .await;
    let info = e.wait(&task).await;
    assert_eq!(info["state"], "error");
    assert_eq!(info["error"]["_typeName"], "SSLVerifyFault");
    let thumbprint = info["error"]["thumbprint"].as_str().unwrap().to_string();
    assert_eq!(thumbprint, e.fleet.manifest.hosts[0].thumbprint);
    assert_eq!(info["error"]["selfSigned"], true);
    assert_eq!(info["name"], "AddHost_Task");
    assert_eq!(info["descriptionId"], "ClusterComputeResource.addHost");
    // Retried with it: success, the result is the new HostSystem.
    let mut spec = e.spec(0, false);
    spec["sslThumbprint"] = json!(thumbprint);
    let info = e
        .succeed(&add, json!({"spec": spec, "asConnected": true}))
        .await;
    let host = info["result"].clone();
    assert_eq!(host["type"], "HostSystem");
    for field in [
        "key",
        "task",
        "descriptionId",
        "state",
        "cancelled",
        "cancelable",
        "reason",
        "queueTime",
        "eventChainId",
        "startTime",
        "completeTime",
        "progress",
        "description",
    ] {
        assert!(!info[field].is_null(), "TaskInfo.{field} is set: {info}");
    }
    assert_eq!(
        info["reason"],
        json!({"_typeName": "TaskReasonUser", "userName": ADMIN})
    );
    let other = e.add(&cluster, 1).await;

    let summary = e.prop(&host, "summary").await;
    assert_eq!(summary["config"]["sslThumbprint"], thumbprint);
    assert_eq!(summary["runtime"]["connectionState"], "connected");
    assert_eq!(e.prop(&host, "parent").await, cluster);
    assert_eq!(e.prop(&host, "vm").await.as_array().unwrap().len(), 2);

    // Maintenance: the fully automated cluster moves both VMs to the other host.
    let info = e
        .succeed(
            &format!("{}/EnterMaintenanceMode_Task", path_of(&host)),
            json!({"_typeName": "EnterMaintenanceModeRequestType", "timeout": 0}),
        )
        .await;
    assert_eq!(info["descriptionId"], "HostSystem.enterMaintenanceMode");
    assert_eq!(info["entity"], host);
    assert_eq!(e.prop(&host, "runtime").await["inMaintenanceMode"], true);
    assert_eq!(e.prop(&host, "vm").await, json!([]));
    assert_eq!(e.prop(&other, "vm").await.as_array().unwrap().len(), 4);
    e.succeed(
        &format!("{}/ExitMaintenanceMode_Task", path_of(&host)),
        json!({"timeout": 0}),
    )
    .await;
    assert_eq!(e.prop(&host, "runtime").await["inMaintenanceMode"], false);
    e.ts.stop().await;
}

#[tokio::test]
async fn inventory_objects_and_vms() {
    let e = env(3, 1).await;
    let (dc, host_folder) = e.datacenter("DC0").await;
    let content = e.get("ServiceInstance/ServiceInstance/content").await.1;
    let root = content["rootFolder"].clone();
    assert_eq!(e.prop(&root, "childEntity").await, json!([dc.clone()]));
    assert_eq!(
        e.prop(&root, "childType").await,
        json!(["Folder", "Datacenter"])
    );
    assert_eq!(e.prop(&dc, "parent").await, root);
    assert_eq!(e.prop(&host_folder, "parent").await, dc);
    let vm_folder = e.prop(&dc, "vmFolder").await;
    for p in ["datastoreFolder", "networkFolder"] {
        assert_eq!(e.prop(&dc, p).await["type"], "Folder");
    }
    let sub = e
        .ok(
            &format!("{}/CreateFolder", path_of(&host_folder)),
            json!({"name": "rack-1"}),
        )
        .await;
    assert_eq!(e.prop(&sub, "parent").await, host_folder);
    // Duplicate names: DuplicateName.
    let f = e
        .fault(
            &format!("{}/CreateFolder", path_of(&host_folder)),
            json!({"name": "rack-1"}),
        )
        .await;
    assert_eq!(f["_typeName"], "DuplicateName");
    let cluster = e.cluster(&host_folder, "C0", "manual").await;
    let a = e.add(&cluster, 0).await;
    let b = e.add(&cluster, 1).await;

    // A standalone host: its own ComputeResource, which is what the task answers.
    let info = e
        .succeed(
            &format!("{}/AddStandaloneHost_Task", path_of(&host_folder)),
            json!({"spec": e.spec(2, true), "addConnected": true}),
        )
        .await;
    assert_eq!(info["name"], "AddStandaloneHost_Task");
    let cr = info["result"].clone();
    assert_eq!(cr["type"], "ComputeResource");
    let hosts = e.prop(&cr, "host").await;
    let standalone = hosts[0].clone();
    assert_eq!(e.prop(&standalone, "parent").await, cr);
    let children = e.prop(&host_folder, "childEntity").await;
    for x in [&sub, &cluster, &cr] {
        assert!(
            children.as_array().unwrap().contains(x),
            "{x} in {children}"
        );
    }
    // Clusters: hosts, the minimal resource pool, DRS settings, summary.
    assert_eq!(
        e.prop(&cluster, "host").await,
        json!([a.clone(), b.clone()])
    );
    let pool = e.prop(&cluster, "resourcePool").await;
    assert_eq!(e.prop(&pool, "owner").await, cluster);
    assert_eq!(e.prop(&pool, "vm").await.as_array().unwrap().len(), 2);
    assert_eq!(
        e.prop(&cluster, "configurationEx").await["drsConfig"]["defaultVmBehavior"],
        "manual"
    );
    let sum = e.prop(&cluster, "summary").await;
    assert_eq!(
        (sum["numHosts"].as_u64(), sum["numEffectiveHosts"].as_u64()),
        (Some(2), Some(2))
    );
    let info = e
        .succeed(
            &format!("{}/ReconfigureComputeResource_Task", path_of(&cluster)),
            json!({"spec": {"_typeName": "ClusterConfigSpecEx", "drsConfig": {"defaultVmBehavior": "fullyAutomated"}}, "modify": true}),
        )
        .await;
    assert_eq!(info["entity"], cluster);
    assert_eq!(
        e.prop(&cluster, "configurationEx").await["drsConfig"]["defaultVmBehavior"],
        "fullyAutomated"
    );
    // Datastores and networks of the datacenter, with the hosts that see them.
    let ds = e.prop(&dc, "datastore").await;
    let ds0 = ds[0].clone();
    let dss = e.prop(&ds0, "summary").await;
    assert_eq!(dss["_typeName"], "DatastoreSummary");
    assert!(dss["capacity"].as_u64().unwrap() > 0);
    assert!(!e.prop(&ds0, "host").await.as_array().unwrap().is_empty());
    let net = e.prop(&dc, "network").await[0].clone();
    assert_eq!(
        e.prop(&net, "summary").await["name"],
        e.prop(&net, "name").await
    );
    assert!(!e.prop(&net, "host").await.as_array().unwrap().is_empty());
    // VMs: in the vm folder, runtime with host and power state; power off and on; migrate.
    let vms = e.prop(&vm_folder, "childEntity").await;
    assert_eq!(vms.as_array().unwrap().len(), 3);
    let vm = e.prop(&a, "vm").await[0].clone();
    let rt = e.prop(&vm, "runtime").await;
    assert_eq!(
        (rt["powerState"].as_str(), &rt["host"]),
        (Some("poweredOn"), &a)
    );
    assert_eq!(
        e.prop(&vm, "summary").await["config"]["name"],
        e.prop(&vm, "name").await
    );
    e.succeed(&format!("{}/PowerOffVM_Task", path_of(&vm)), json!({}))
        .await;
    assert_eq!(e.prop(&vm, "runtime").await["powerState"], "poweredOff");
    let f = e
        .fault(&format!("{}/PowerOffVM_Task", path_of(&vm)), json!({}))
        .await;
    assert_eq!(f["_typeName"], "InvalidState");
    e.succeed(&format!("{}/PowerOnVM_Task", path_of(&vm)), json!({}))
        .await;
    let info = e
        .succeed(
            &format!("{}/MigrateVM_Task", path_of(&vm)),
            json!({"host": b, "priority": "defaultPriority"}),
        )
        .await;
    assert_eq!(info["entity"], vm);
    assert_eq!(e.prop(&vm, "runtime").await["host"], b);
    // Events of the host.
    let events = e
        .ok(
            "EventManager/EventManager/QueryEvents",
            json!({"filter": {"_typeName": "EventFilterSpec", "entity": {"_typeName": "EventFilterSpecByEntity", "entity": a, "recursion": "self"}}}),
        )
        .await;
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["_typeName"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"HostConnectedEvent"), "{kinds:?}");
    assert_eq!(events[0]["host"]["host"], a);
    // Events of the cluster: with recursion "all", its hosts' and their VMs' too; with
    // "self", only the cluster's own.
    let of_cluster = |recursion: &str| json!({"filter": {"_typeName": "EventFilterSpec", "entity": {"_typeName": "EventFilterSpecByEntity", "entity": cluster, "recursion": recursion}}});
    let kinds_of = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["_typeName"].as_str().unwrap().to_string())
            .collect()
    };
    let all = e
        .ok("EventManager/EventManager/QueryEvents", of_cluster("all"))
        .await;
    let all_kinds = kinds_of(&all);
    assert!(
        all_kinds.iter().any(|k| k == "HostConnectedEvent")
            && all_kinds.iter().any(|k| k == "VmMigratedEvent"),
        "{all_kinds:?}"
    );
    let own = e
        .ok("EventManager/EventManager/QueryEvents", of_cluster("self"))
        .await;
    assert!(
        !kinds_of(&own).iter().any(|k| k == "HostConnectedEvent"),
        "{own}"
    );
    let latest = e.get("EventManager/EventManager/latestEvent").await.1;
    assert!(latest["key"].as_i64().unwrap() >= events[0]["key"].as_i64().unwrap());
    // Destroying the standalone host goes through its ComputeResource.
    let f = e
        .fault(&format!("{}/Destroy_Task", path_of(&standalone)), json!({}))
        .await;
    assert_eq!(f["_typeName"], "NotSupported");
    e.succeed(&format!("{}/Destroy_Task", path_of(&cr)), json!({}))
        .await;
    let (s, f) = e.get(&format!("{}/name", path_of(&standalone))).await;
    assert_eq!(
        (s, f["_typeName"].as_str()),
        (500, Some("ManagedObjectNotFound"))
    );
    e.ts.stop().await;
}

/// Every HostSystem method of seeds/000: implemented ones behave; the others are NotSupported
/// naming themselves. Every property reads.
#[tokio::test]
async fn every_host_system_method_and_property() {
    let e = env(2, 1).await;
    let (_, hf) = e.datacenter("DC0").await;
    let cluster = e.cluster(&hf, "C0", "fullyAutomated").await;
    let h = e.add(&cluster, 0).await;
    let h2 = e.add(&cluster, 1).await;
    let m = |name: &str| format!("{}/{name}", path_of(&h));

    let props = [
        "name",
        "runtime",
        "summary",
        "hardware",
        "capability",
        "config",
        "configManager",
        "configStatus",
        "configIssue",
        "datastore",
        "network",
        "vm",
        "parent",
        "overallStatus",
        "recentTask",
        "permission",
        "effectiveRole",
        "disabledMethod",
        "triggeredAlarmState",
        "declaredAlarmState",
        "customValue",
        "value",
        "availableField",
        "tag",
        "alarmActionsEnabled",
        "licensableResource",
        "systemResources",
        "datastoreBrowser",
    ];
    for p in props {
        let v = e.prop(&h, p).await;
        assert!(!v.is_null(), "{p} is set on a connected host");
    }
    for p in [
        "answerFileValidationState",
        "complianceCheckState",
        "remediationState",
        "precheckRemediationResult",
    ] {
        let (s, v) = e.get(&m(p)).await;
        assert_eq!((s, v), (200, Value::Null), "{p} is unset");
    }
    let hw = e.prop(&h, "hardware").await;
    assert!(hw["memorySize"].as_u64().unwrap() > 0);
    assert_eq!(
        e.prop(&h, "capability").await["maintenanceModeSupported"],
        true
    );
    assert_eq!(e.prop(&h, "overallStatus").await, "green");
    assert!(e
        .prop(&h, "disabledMethod")
        .await
        .as_array()
        .unwrap()
        .contains(&json!("ExitMaintenanceMode_Task")));
    let (s, f) = e.get(&m("noSuchProperty")).await;
    assert_eq!((s, f["_typeName"].as_str()), (500, Some("InvalidProperty")));

    // Methods that answer at once.
    let up = e.ok(&m("RetrieveHardwareUptime"), Value::Null).await;
    assert!(up.is_u64(), "{up}");
    let ci = e.ok(&m("QueryHostConnectionInfo"), json!({})).await;
    assert_eq!(ci["_typeName"], "HostConnectInfo");
    assert_eq!(ci["host"]["host"], h);
    assert_eq!(ci["vm"].as_array().unwrap().len(), 1);
    assert_eq!(e.post(&m("Reload"), json!({})).await.0, 204);
    assert_eq!(
        e.post(&m("UpdateFlags"), json!({"_typeName": "UpdateFlagsRequestType", "flagInfo": {"_typeName": "HostFlagInfo", "backgroundSnapshotsEnabled": true}})).await.0,
        204
    );
    assert_eq!(
        e.prop(&h, "config").await["flags"]["backgroundSnapshotsEnabled"],
        true
    );
    assert_eq!(
        e.post(
            &m("setCustomValue"),
            json!({"key": "owner", "value": "ops"})
        )
        .await
        .0,
        204
    );
    let fields = e.prop(&h, "availableField").await;
    assert_eq!(fields[0]["name"], "owner");
    let key = fields[0]["key"].clone();
    assert_eq!(
        e.prop(&h, "customValue").await,
        json!([{"_typeName": "CustomFieldStringValue", "key": key, "value": "ops"}])
    );
    assert_eq!(
        e.post(
            "CustomFieldsManager/CustomFieldsManager/SetField",
            json!({"entity": h, "key": key, "value": "infra"})
        )
        .await
        .0,
        204
    );
    assert_eq!(e.prop(&h, "value").await[0]["value"], "infra");
    assert_eq!(e.prop(&h2, "customValue").await, json!([]));
    // Alarm actions, through the AlarmManager.
    assert_eq!(e.prop(&h, "alarmActionsEnabled").await, true);
    assert_eq!(
        e.post(
            "AlarmManager/AlarmManager/EnableAlarmActions",
            json!({"entity": h, "enabled": false})
        )
        .await
        .0,
        204
    );
    assert_eq!(e.prop(&h, "alarmActionsEnabled").await, false);
    assert_eq!(
        e.ok(
            "AlarmManager/AlarmManager/AreAlarmActionsEnabled",
            json!({"entity": h})
        )
        .await,
        false
    );
    assert_eq!(e.prop(&h2, "alarmActionsEnabled").await, true);
    // Lockdown: AdminNotDisabled / AdminDisabled when already in the asked state.
    assert_eq!(
        e.fault(&m("ExitLockdownMode"), json!({})).await["_typeName"],
        "AdminNotDisabled"
    );
    assert_eq!(e.post(&m("EnterLockdownMode"), Value::Null).await.0, 204);
    assert_eq!(e.prop(&h, "config").await["adminDisabled"], true);
    assert_eq!(
        e.fault(&m("EnterLockdownMode"), json!({})).await["_typeName"],
        "AdminDisabled"
    );
    assert_eq!(e.post(&m("ExitLockdownMode"), json!({})).await.0, 204);
    // Rename (InvalidName for a bad one).
    let info = e
        .succeed(&m("Rename_Task"), json!({"newName": "esx-renamed"}))
        .await;
    assert_eq!(info["descriptionId"], "HostSystem.rename");
    assert_eq!(e.prop(&h, "name").await, "esx-renamed");
    let f = e
        .fault(&m("Rename_Task"), json!({"newName": "bad/name"}))
        .await;
    assert_eq!(
        (f["_typeName"].as_str(), f["name"].as_str()),
        (Some("InvalidName"), Some("bad/name"))
    );
    // Reboot and shutdown need maintenance mode or force.
    for op in ["RebootHost_Task", "ShutdownHost_Task"] {
        assert_eq!(
            e.fault(&m(op), json!({"force": false})).await["_typeName"],
            "InvalidState"
        );
    }
    // Standby: down waits for the VMs (the cluster moves none, so power the VM off first).
    let vm = e.prop(&h, "vm").await[0].clone();
    e.succeed(&format!("{}/PowerOffVM_Task", path_of(&vm)), json!({}))
        .await;
    e.succeed(&m("PowerDownHostToStandBy_Task"), json!({"timeoutSec": 30}))
        .await;
    let rt = e.prop(&h, "runtime").await;
    assert_eq!(
        (rt["powerState"].as_str(), rt["standbyMode"].as_str()),
        (Some("standBy"), Some("in"))
    );
    assert_eq!(
        e.fault(&m("PowerDownHostToStandBy_Task"), json!({"timeoutSec": 0}))
            .await["_typeName"],
        "InvalidState"
    );
    e.succeed(&m("PowerUpHostFromStandBy_Task"), json!({"timeoutSec": 30}))
        .await;
    assert_eq!(e.prop(&h, "runtime").await["powerState"], "poweredOn");
    // Reboot in maintenance mode.
    e.succeed(&m("EnterMaintenanceMode_Task"), json!({"timeout": 0}))
        .await;
    e.succeed(&m("RebootHost_Task"), json!({"force": false}))
        .await;
    // The task ends when the host has gone away: not responding, it cannot leave maintenance
    // mode until it is connected again (InvalidState naming its state; disabledMethod says so).
    let f = e
        .fault(&m("ExitMaintenanceMode_Task"), json!({"timeout": 0}))
        .await;
    assert_eq!(f["_typeName"], "InvalidState", "{f}");
    let msg = vim::message(&f);
    assert!(
        msg.contains("is notResponding") || msg.contains("is connecting"),
        "{f}"
    );
    assert!(e
        .prop(&h, "disabledMethod")
        .await
        .as_array()
        .unwrap()
        .contains(&json!("ExitMaintenanceMode_Task")));
    // The simulated host is back 100 + 300 ms later; reconnected, it leaves maintenance.
    let mut tries = 0;
    while e.prop(&h, "runtime").await["connectionState"] != "connected" {
        // A heartbeat may reconnect it first, and then the call is refused.
        let (s, task) = e.post(&m("ReconnectHost_Task"), json!({})).await;
        if s == 200 {
            e.wait(&task).await;
        }
        tries += 1;
        assert!(tries < 50, "the rebooted host never reconnected");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    e.succeed(&m("ExitMaintenanceMode_Task"), json!({"timeout": 0}))
        .await;
    // Disconnect: connection state, config unset; reconnect.
    e.succeed(&m("DisconnectHost_Task"), json!({})).await;
    assert_eq!(
        e.prop(&h, "runtime").await["connectionState"],
        "disconnected"
    );
    assert_eq!(e.get(&m("config")).await, (200, Value::Null));
    assert!(e
        .prop(&h, "disabledMethod")
        .await
        .as_array()
        .unwrap()
        .contains(&json!("EnterMaintenanceMode_Task")));
    e.succeed(
        &m("ReconnectHost_Task"),
        json!({"reconnectSpec": {"_typeName": "HostSystemReconnectSpec", "syncState": true}}),
    )
    .await;
    assert_eq!(e.prop(&h, "runtime").await["connectionState"], "connected");
    let recent = e.prop(&h, "recentTask").await;
    assert!(recent.as_array().unwrap().len() >= 5, "{recent}");
    let all_recent = e.get("TaskManager/TaskManager/recentTask").await.1;
    assert!(all_recent.as_array().unwrap().len() > recent.as_array().unwrap().len());
    // Everything else seeds/000 lists is NotSupported, naming the method.
    for op in [
        "AcquireCimServicesTicket",
        "ConfigureCryptoKey",
        "EnableCrypto",
        "PrepareCrypto",
        "QueryMemoryOverhead",
        "QueryMemoryOverheadEx",
        "QueryProductLockerLocation",
        "QueryTpmAttestationReport",
        "ReconfigureHostForDAS_Task",
        "RetrieveFreeEpcMemory",
        "UpdateIpmi",
        "UpdateProductLockerLocation_Task",
        "UpdateSystemResources",
        "UpdateSystemSwapConfiguration",
    ] {
        let f = e.fault(&m(op), json!({})).await;
        assert_eq!(f["_typeName"], "NotSupported", "{op}");
        assert!(
            f["faultMessage"][0]["message"]
                .as_str()
                .unwrap()
                .contains(op),
            "{f}"
        );
    }
    // Bad or missing parameters name the parameter path.
    for (method, body, field) in [
        ("EnterMaintenanceMode_Task", json!({}), "timeout"),
        (
            "EnterMaintenanceMode_Task",
            json!({"timeout": "soon"}),
            "timeout",
        ),
        ("RebootHost_Task", json!({"force": 1}), "force"),
        (
            "ReconnectHost_Task",
            json!({"cnxSpec": {"force": false, "port": 70000}}),
            "cnxSpec.port",
        ),
        ("Rename_Task", json!({}), "newName"),
    ] {
        let f = e.fault(&m(method), body).await;
        assert_eq!(
            (f["_typeName"].as_str(), f["invalidProperty"].as_str()),
            (Some("InvalidArgument"), Some(field)),
            "{method}"
        );
    }
    let add = format!("{}/AddHost_Task", path_of(&cluster));
    for (spec, field) in [
        (
            json!({"force": false, "userName": "root", "password": "x"}),
            "spec.hostName",
        ),
        (
            json!({"force": false, "hostName": "h", "port": 70000, "userName": "root", "password": "x"}),
            "spec.port",
        ),
        (
            json!({"force": false, "hostName": "h", "sslThumbprint": "zz", "userName": "root", "password": "x"}),
            "spec.sslThumbprint",
        ),
    ] {
        let f = e
            .fault(&add, json!({"spec": spec, "asConnected": true}))
            .await;
        assert_eq!(f["invalidProperty"], field, "{f}");
    }
    let f = e
        .fault(
            &format!("{}/CreateClusterEx", path_of(&hf)),
            json!({"name": "C9", "spec": {"drsConfig": {"defaultVmBehavior": "sometimes"}}}),
        )
        .await;
    assert_eq!(f["invalidProperty"], "spec.drsConfig.defaultVmBehavior");
    let f = e.fault(&m("Fly_Task"), json!({})).await;
    assert_eq!(
        (f["_typeName"].as_str(), f["method"].as_str()),
        (Some("MethodNotFound"), Some("Fly_Task"))
    );
    // Destroy a cluster host.
    e.succeed(&format!("{}/Destroy_Task", path_of(&h2)), json!({}))
        .await;
    assert_eq!(e.prop(&cluster, "host").await, json!([h]));
    e.ts.stop().await;
}

/// The PropertyCollector the way govmomi waits on a task, and RetrievePropertiesEx with
/// traversal and paging.
#[tokio::test]
async fn property_collector_waits_and_retrieves() {
    let e = env(2, 1).await;
    let (dc, hf) = e.datacenter("DC0").await;
    let cluster = e.cluster(&hf, "C0", "fullyAutomated").await;
    let h = e.add(&cluster, 0).await;
    e.add(&cluster, 1).await;
    let content = e.get("ServiceInstance/ServiceInstance/content").await.1;
    let pc_default = content["propertyCollector"].clone();

    // Retrieve from the root folder down to every host: name and a nested path.
    let traverse = json!([
        {"_typeName": "TraversalSpec", "name": "folderChildren", "type": "Folder", "path": "childEntity", "skip": false,
         "selectSet": [{"_typeName": "SelectionSpec", "name": "folderChildren"}, {"_typeName": "SelectionSpec", "name": "dcHosts"}, {"_typeName": "SelectionSpec", "name": "crHosts"}]},
        {"_typeName": "TraversalSpec", "name": "dcHosts", "type": "Datacenter", "path": "hostFolder", "skip": false,
         "selectSet": [{"_typeName": "SelectionSpec", "name": "folderChildren"}]},
        {"_typeName": "TraversalSpec", "name": "crHosts", "type": "ComputeResource", "path": "host", "skip": false},
    ]);
    let spec = json!({"_typeName": "PropertyFilterSpec",
        "propSet": [{"_typeName": "PropertySpec", "type": "HostSystem", "pathSet": ["name", "summary.runtime.connectionState", "runtime.inMaintenanceMode"]}],
        "objectSet": [{"_typeName": "ObjectSpec", "obj": content["rootFolder"], "skip": true, "selectSet": traverse}]});
    let r = e
        .ok(
            &format!("{}/RetrievePropertiesEx", path_of(&pc_default)),
            json!({"specSet": [spec.clone()], "options": {"_typeName": "RetrieveOptions"}}),
        )
        .await;
    let objs = r["objects"].as_array().unwrap();
    assert_eq!(objs.len(), 2, "{r}");
    let props: Vec<&Value> = objs[0]["propSet"].as_array().unwrap().iter().collect();
    let by_name = |n: &str| props.iter().find(|p| p["name"] == n).unwrap()["val"].clone();
    assert_eq!(
        by_name("summary.runtime.connectionState"),
        json!({"_typeName": "HostSystemConnectionState", "_value": "connected"})
    );
    assert_eq!(
        by_name("runtime.inMaintenanceMode"),
        json!({"_typeName": "boolean", "_value": false})
    );
    assert_eq!(by_name("name")["_typeName"], "string");
    // Paged: one object, a token, the rest.
    let r = e
        .ok(
            &format!("{}/RetrievePropertiesEx", path_of(&pc_default)),
            json!({"specSet": [spec.clone()], "options": {"maxObjects": 1}}),
        )
        .await;
    assert_eq!(r["objects"].as_array().unwrap().len(), 1);
    let token = r["token"].as_str().unwrap().to_string();
    let r2 = e
        .ok(
            &format!("{}/ContinueRetrievePropertiesEx", path_of(&pc_default)),
            json!({"token": token}),
        )
        .await;
    assert_eq!(r2["objects"].as_array().unwrap().len(), 1);
    assert_ne!(r2["objects"][0]["obj"], r["objects"][0]["obj"]);
    assert!(r2.get("token").is_none());
    assert_eq!(
        e.fault(
            &format!("{}/ContinueRetrievePropertiesEx", path_of(&pc_default)),
            json!({"token": token})
        )
        .await["_typeName"],
        "InvalidArgument"
    );
    // A property the type does not have; an object that does not exist.
    let mut bad = spec.clone();
    bad["propSet"][0]["pathSet"] = json!(["nope"]);
    let f = e
        .fault(
            &format!("{}/RetrievePropertiesEx", path_of(&pc_default)),
            json!({"specSet": [bad], "options": {}}),
        )
        .await;
    assert_eq!(
        (f["_typeName"].as_str(), f["name"].as_str()),
        (Some("InvalidProperty"), Some("nope"))
    );
    let mut gone = spec.clone();
    gone["objectSet"][0]["obj"] = moref("HostSystem", "host-999");
    gone["objectSet"][0]["skip"] = json!(false);
    let f = e
        .fault(
            &format!("{}/RetrievePropertiesEx", path_of(&pc_default)),
            json!({"specSet": [gone], "options": {}}),
        )
        .await;
    assert_eq!(f["_typeName"], "ManagedObjectNotFound");
    // Nothing matching: an unset result.
    let none = json!({"propSet": [{"type": "VirtualMachine", "pathSet": ["name"]}], "objectSet": [{"obj": dc, "skip": false}]});
    assert_eq!(
        e.post(
            &format!("{}/RetrievePropertiesEx", path_of(&pc_default)),
            json!({"specSet": [none], "options": {}})
        )
        .await,
        (200, Value::Null)
    );

    // govmomi's wait: a private collector, a filter on the task's info, WaitForUpdatesEx.
    let pc = e
        .ok(
            &format!("{}/CreatePropertyCollector", path_of(&pc_default)),
            json!({}),
        )
        .await;
    let task = e
        .ok(
            &format!("{}/EnterMaintenanceMode_Task", path_of(&h)),
            json!({"timeout": 0}),
        )
        .await;
    let filter = e
        .ok(
            &format!("{}/CreateFilter", path_of(&pc)),
            json!({"spec": {"propSet": [{"type": "Task", "pathSet": ["info"]}], "objectSet": [{"obj": task, "skip": false}]}, "partialUpdates": false}),
        )
        .await;
    assert_eq!(filter["type"], "PropertyFilter");
    assert_eq!(e.prop(&pc, "filter").await, json!([filter.clone()]));
    let mut version = String::new();
    let mut kinds = Vec::new();
    let mut state = String::new();
    for _ in 0..200 {
        let (s, set) = e
            .post(&format!("{}/WaitForUpdatesEx", path_of(&pc)), json!({"version": version, "options": {"_typeName": "WaitOptions", "maxWaitSeconds": 5}}))
            .await;
        assert_eq!(s, 200);
        if set.is_null() {
            continue;
        }
        assert_eq!(set["_typeName"], "UpdateSet");
        version = set["version"].as_str().unwrap().to_string();
        for fu in set["filterSet"].as_array().into_iter().flatten() {
            assert_eq!(fu["filter"], filter);
            for ou in fu["objectSet"].as_array().unwrap() {
                kinds.push(ou["kind"].as_str().unwrap().to_string());
                let info = &ou["changeSet"][0]["val"];
                assert_eq!(info["_typeName"], "TaskInfo");
                state = info["state"].as_str().unwrap().to_string();
            }
        }
        if state == "success" || state == "error" {
            break;
        }
    }
    assert_eq!(state, "success");
    assert_eq!(kinds[0], "enter");
    // Nothing changes now: a zero wait answers unset; an old version is refused.
    assert_eq!(
        e.post(
            &format!("{}/WaitForUpdatesEx", path_of(&pc)),
            json!({"version": version, "options": {"maxWaitSeconds": 0}})
        )
        .await,
        (200, Value::Null)
    );
    let f = e
        .fault(
            &format!("{}/WaitForUpdatesEx", path_of(&pc)),
            json!({"version": "0"}),
        )
        .await;
    assert_eq!(f["_typeName"], "InvalidCollectorVersion");
    // CancelWaitForUpdates ends a wait with RequestCanceled.
    let waiter = {
        let url =
            e.ts.api(&format!("{BASE}/{}/WaitForUpdatesEx", path_of(&pc)));
        let (client, token, version) = (e.ts.client.clone(), e.token.clone(), version.clone());
        tokio::spawn(async move {
            client
                .post(url)
                .header("vmware-api-session-id", token)
                .json(&json!({"version": version}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        e.post(&format!("{}/CancelWaitForUpdates", path_of(&pc)), json!({}))
            .await
            .0,
        204
    );
    assert_eq!(waiter.await.unwrap()["_typeName"], "RequestCanceled");
    assert_eq!(
        e.post(
            &format!("{}/DestroyPropertyFilter", path_of(&filter)),
            json!({})
        )
        .await
        .0,
        204
    );
    assert_eq!(
        e.fault(
            &format!("{}/DestroyPropertyFilter", path_of(&filter)),
            json!({})
        )
        .await["_typeName"],
        "ManagedObjectNotFound"
    );
    assert_eq!(
        e.post(
            &format!("{}/DestroyPropertyCollector", path_of(&pc)),
            json!({})
        )
        .await
        .0,
        204
    );

    // vim_rs's way: a ListView of tasks traversed by `view`.
    let lv = e
        .ok(
            "ViewManager/ViewManager/CreateListView",
            json!({"obj": [task]}),
        )
        .await;
    assert_eq!(e.prop(&lv, "view").await, json!([task.clone()]));
    let r = e
        .ok(
            &format!("{}/RetrievePropertiesEx", path_of(&pc_default)),
            json!({"specSet": [{"propSet": [{"type": "Task", "pathSet": ["info.state"]}], "objectSet": [{"obj": lv, "skip": true, "selectSet": [{"_typeName": "TraversalSpec", "type": "ListView", "path": "view", "skip": false}]}]}], "options": {}}),
        )
        .await;
    assert_eq!(
        r["objects"][0]["propSet"][0]["val"],
        json!({"_typeName": "TaskInfoState", "_value": "success"})
    );
    let unresolved = e
        .ok(
            &format!("{}/ModifyListView", path_of(&lv)),
            json!({"add": [moref("Task", "task-99999")], "remove": [task]}),
        )
        .await;
    assert_eq!(unresolved, json!([moref("Task", "task-99999")]));
    assert_eq!(e.prop(&lv, "view").await, json!([]));
    assert_eq!(
        e.post(&format!("{}/DestroyView", path_of(&lv)), json!({}))
            .await
            .0,
        204
    );
    // A ContainerView follows the inventory under its container.
    let cv = e
        .ok(
            "ViewManager/ViewManager/CreateContainerView",
            json!({"container": content["rootFolder"], "type": ["HostSystem"], "recursive": true}),
        )
        .await;
    assert_eq!(cv["type"], "ContainerView");
    assert_eq!(e.prop(&cv, "view").await.as_array().unwrap().len(), 2);
    let shallow = e
        .ok(
            "ViewManager/ViewManager/CreateContainerView",
            json!({"container": content["rootFolder"], "recursive": false}),
        )
        .await;
    assert_eq!(e.prop(&shallow, "view").await, json!([dc]));
    let clusters = e
        .ok(
            "ViewManager/ViewManager/CreateContainerView",
            json!({"container": dc, "type": ["ComputeResource"], "recursive": true}),
        )
        .await;
    assert_eq!(e.prop(&clusters, "view").await, json!([cluster]));
    assert_eq!(
        e.post(&format!("{}/DestroyView", path_of(&cv)), json!({}))
            .await
            .0,
        204
    );
    // Session-private: another session does not see this session's objects.
    let other = e.ts.login(ADMIN).await;
    let (s, f) = e
        .call_as(
            Some(&other),
            Method::GET,
            &format!("{}/filter", path_of(&pc)),
            None,
        )
        .await;
    assert_eq!(
        (s, f["_typeName"].as_str()),
        (500, Some("ManagedObjectNotFound"))
    );
    e.ts.stop().await;
}

/// Every fault seeds/000 (ReconnectHost_Task) and seeds/001 (EnterMaintenanceMode_Task) lists,
/// provoked through VI/JSON.
#[tokio::test]
async fn seed_faults_through_vi_json() {
    let e = env_with(3, 1, |a, fleet| {
        // Room for the larger of hosts 0 and 1, not for both.
        let p = |i: usize| fleet.sim(i).discovered().hardware.cpu_packages;
        a.license_cpu_packages = Some(p(0).max(p(1)).to_string());
        // A host that stops answering is NoHost after this long.
        a.agent_request_timeout_secs = Some("2".into());
    })
    .await;
    let (_, hf) = e.datacenter("DC0").await;
    let cluster = e.cluster(&hf, "C0", "manual").await;
    let h = e.add(&cluster, 0).await;
    let m = |name: &str| format!("{}/{name}", path_of(&h));
    let reconnect_error = |body: Value| {
        let m = m("ReconnectHost_Task");
        let e = &e;
        async move {
            let t = e.ok(&m, body).await;
            let info = e.wait(&t).await;
            assert_eq!(info["state"], "error", "{info}");
            info["error"].clone()
        }
    };
    // InvalidState: a connected host is not reconnected to another address.
    let f = reconnect_error(
        json!({"cnxSpec": {"force": false, "hostName": e.fleet.manifest.hosts[1].address}}),
    )
    .await;
    assert_eq!(f["_typeName"], "InvalidState");
    e.succeed(&m("DisconnectHost_Task"), json!({})).await;
    // InvalidName.
    let f = e
        .fault(
            &m("ReconnectHost_Task"),
            json!({"cnxSpec": {"hostName": "bad host!", "force": false}}),
        )
        .await;
    assert_eq!(
        (f["_typeName"].as_str(), f["name"].as_str()),
        (Some("InvalidName"), Some("bad host!"))
    );
    // NotSupported: a host gateway.
    let f = e.fault(&m("ReconnectHost_Task"), json!({"cnxSpec": {"force": false, "hostGateway": {"gatewayType": "x", "gatewayId": "y"}}})).await;
    assert_eq!(f["_typeName"], "NotSupported");
    // InvalidLogin: new credentials the host refuses.
    let f = reconnect_error(
        json!({"cnxSpec": {"force": false, "userName": "root", "password": "wrong"}}),
    )
    .await;
    assert_eq!(f["_typeName"], "InvalidLogin");
    // SSLVerifyFault: a thumbprint that is not the host's.
    let f = reconnect_error(
        json!({"cnxSpec": {"force": false, "sslThumbprint": e.fleet.manifest.hosts[1].thumbprint}}),
    )
    .await;
    assert_eq!(
        (f["_typeName"].as_str(), f["thumbprint"].as_str()),
        (
            Some("SSLVerifyFault"),
            Some(e.fleet.manifest.hosts[0].thumbprint.as_str())
        )
    );
    // NoHost.
    e.agent_fault(0, json!({"fault": "stop_answering", "enabled": true}))
        .await;
    assert_eq!(reconnect_error(json!({})).await["_typeName"], "NoHost");
    e.agent_fault(0, json!({"fault": "clear"})).await;
    // NotSupportedHost.
    e.agent_fault(0, json!({"fault": "api_version", "api_version": 0}))
        .await;
    assert_eq!(
        reconnect_error(json!({})).await["_typeName"],
        "NotSupportedHost"
    );
    e.agent_fault(0, json!({"fault": "clear"})).await;
    // HostConnectFault: what answers at the new address is not an agent (the server itself).
    let api = e.ts.server.as_ref().unwrap().addrs.api;
    let to_server =
        json!({"cnxSpec": {"force": false, "hostName": api.ip().to_string(), "port": api.port()}});
    let f = reconnect_error(to_server.clone()).await;
    assert_eq!(f["_typeName"], "SSLVerifyFault");
    let mut with_tp = to_server.clone();
    with_tp["cnxSpec"]["sslThumbprint"] = f["thumbprint"].clone();
    assert_eq!(
        reconnect_error(with_tp).await["_typeName"],
        "HostConnectFault"
    );
    // AlreadyBeingManaged unless force.
    e.fleet
        .agent(0)
        .claim(&ferrocenter_agent_client::wire::ClaimRequest {
            server_uuid: "another-server".into(),
            server_address: "10.1.1.1".into(),
            force: true,
        })
        .unwrap();
    let f = reconnect_error(json!({})).await;
    assert_eq!(
        (f["_typeName"].as_str(), f["ipAddress"].as_str()),
        (Some("AlreadyBeingManaged"), Some("10.1.1.1"))
    );
    e.succeed(
        &m("ReconnectHost_Task"),
        json!({"cnxSpec": {"force": true}}),
    )
    .await;
    // NotEnoughLicenses: host 1 takes the licenses while host 0 is away.
    e.succeed(&m("DisconnectHost_Task"), json!({})).await;
    e.add(&cluster, 1).await;
    assert_eq!(
        reconnect_error(json!({})).await["_typeName"],
        "NotEnoughLicenses"
    );
    assert_eq!(
        e.prop(&h, "runtime").await["connectionState"],
        "disconnected"
    );
    let other = e.prop(&cluster, "host").await[1].clone();
    e.succeed(&format!("{}/Destroy_Task", path_of(&other)), json!({}))
        .await;
    e.succeed(&m("ReconnectHost_Task"), json!({})).await;

    // seeds/001: Timedout (a manual cluster moves nothing, the VM stays on).
    let t = e
        .ok(&m("EnterMaintenanceMode_Task"), json!({"timeout": 1}))
        .await;
    let info = e.wait(&t).await;
    assert_eq!(info["error"]["_typeName"], "Timedout");
    assert_eq!(e.prop(&h, "runtime").await["inMaintenanceMode"], false);
    // RequestCanceled.
    let t = e
        .ok(&m("EnterMaintenanceMode_Task"), json!({"timeout": 0}))
        .await;
    assert_eq!(e.prop(&t, "info").await["cancelable"], true);
    assert_eq!(
        e.post(&format!("{}/CancelTask", path_of(&t)), json!({}))
            .await
            .0,
        204
    );
    let info = e.wait(&t).await;
    assert_eq!(
        (
            info["error"]["_typeName"].as_str(),
            info["cancelled"].as_bool()
        ),
        (Some("RequestCanceled"), Some(true))
    );
    assert_eq!(
        e.fault(&format!("{}/CancelTask", path_of(&t)), json!({}))
            .await["_typeName"],
        "InvalidState"
    );
    // InvalidState: already in maintenance mode (power the VM off so entering completes).
    let vm = e.prop(&h, "vm").await[0].clone();
    e.succeed(&format!("{}/PowerOffVM_Task", path_of(&vm)), json!({}))
        .await;
    e.succeed(&m("EnterMaintenanceMode_Task"), json!({"timeout": 0}))
        .await;
    assert_eq!(
        e.fault(&m("EnterMaintenanceMode_Task"), json!({"timeout": 0}))
            .await["_typeName"],
        "InvalidState"
    );
    // Power-on is refused in maintenance mode.
    assert_eq!(
        e.fault(&format!("{}/PowerOnVM_Task", path_of(&vm)), json!({}))
            .await["_typeName"],
        "InvalidState"
    );
    e.ts.stop().await;
}

/// Privileges per method: an operator reads but changes nothing; no session is NotAuthenticated.
#[tokio::test]
async fn privileges_per_method() {
    let e = env(1, 1).await;
    let (_, hf) = e.datacenter("DC0").await;
    let cluster = e.cluster(&hf, "C0", "manual").await;
    let h = e.add(&cluster, 0).await;
    let user = e.ts.user("viewer", Role::Operator).await;
    let op = e.ts.login(&user).await;
    let as_op = |path: String, body: Value| {
        let (e, op) = (&e, op.clone());
        async move { e.call_as(Some(&op), Method::POST, &path, Some(body)).await }
    };
    let (s, name) = e
        .call_as(
            Some(&op),
            Method::GET,
            &format!("{}/name", path_of(&h)),
            None,
        )
        .await;
    assert_eq!((s, name.is_string()), (200, true));
    for (method, body, privilege) in [
        ("ReconnectHost_Task", json!({}), "Host.Config.Connection"),
        ("DisconnectHost_Task", json!({}), "Host.Config.Connection"),
        (
            "EnterMaintenanceMode_Task",
            json!({"timeout": 0}),
            "Host.Config.Maintenance",
        ),
        (
            "ExitMaintenanceMode_Task",
            json!({"timeout": 0}),
            "Host.Config.Maintenance",
        ),
        (
            "RebootHost_Task",
            json!({"force": true}),
            "Host.Config.Power",
        ),
        (
            "ShutdownHost_Task",
            json!({"force": true}),
            "Host.Config.Power",
        ),
        (
            "PowerDownHostToStandBy_Task",
            json!({"timeoutSec": 0}),
            "Host.Config.Power",
        ),
        (
            "UpdateFlags",
            json!({"flagInfo": {}}),
            "Host.Config.Settings",
        ),
        (
            "setCustomValue",
            json!({"key": "k", "value": "v"}),
            "Global.SetCustomField",
        ),
        (
            "Destroy_Task",
            json!({}),
            "Host.Inventory.RemoveHostFromCluster",
        ),
    ] {
        let (s, f) = as_op(format!("{}/{method}", path_of(&h)), body).await;
        assert_eq!(
            (s, f["_typeName"].as_str()),
            (500, Some("NoPermission")),
            "{method}"
        );
        assert_eq!(f["privilegeId"], privilege, "{method}");
    }
    let (_, f) = as_op(
        "AlarmManager/AlarmManager/EnableAlarmActions".into(),
        json!({"entity": h, "enabled": false}),
    )
    .await;
    assert_eq!(f["privilegeId"], "Alarm.ToggleEnableOnEntity");
    let (_, f) = as_op(
        format!("{}/AddHost_Task", path_of(&cluster)),
        json!({"spec": e.spec(0, true), "asConnected": true}),
    )
    .await;
    assert_eq!(f["privilegeId"], "Host.Inventory.AddHostToCluster");
    let (_, f) = as_op(
        format!("{}/CreateClusterEx", path_of(&hf)),
        json!({"name": "x", "spec": {}}),
    )
    .await;
    assert_eq!(f["privilegeId"], "Host.Inventory.CreateCluster");
    let (s, f) = e
        .call_as(
            None,
            Method::POST,
            &format!("{}/EnterMaintenanceMode_Task", path_of(&h)),
            Some(json!({"timeout": 0})),
        )
        .await;
    assert_eq!(
        (s, f["_typeName"].as_str()),
        (500, Some("NotAuthenticated"))
    );
    e.ts.stop().await;
}

/// The host's boot time as its agent reports it (`HostRuntimeInfo.bootTime`, Unix seconds).
fn boot_time(rt: &Value) -> i64 {
    let s = rt["bootTime"]
        .as_str()
        .unwrap_or_else(|| panic!("no bootTime in {rt}"));
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

/// A reboot or shutdown through the server shows at once (vim: notResponding, powerState
/// unknown while rebooting, poweredOff after a shutdown the server asked for), not only when
/// heartbeats notice; the host's boot time is shown, and a new one after the reboot.
#[tokio::test]
async fn boot_time_and_server_power_operations_show_at_once() {
    let e = env_with(2, 0, |a, _| a.heartbeat_interval_secs = Some("1".into())).await;
    let (_, folder) = e.datacenter("dc-power").await;
    let c = e.cluster(&folder, "c-power", "manual").await;
    let h = e.add(&c, 0).await;
    let rt = e.prop(&h, "runtime").await;
    let booted = boot_time(&rt);
    assert_eq!(booted, e.fleet.agent(0).runtime().boot_time, "{rt}");

    let m = |h: &Value, op: &str| format!("{}/{op}", path_of(h));
    e.succeed(&m(&h, "RebootHost_Task"), json!({"force": true}))
        .await;
    let rt = e.prop(&h, "runtime").await;
    assert_eq!(
        (rt["connectionState"].as_str(), rt["powerState"].as_str()),
        (Some("notResponding"), Some("unknown")),
        "rebooting, at once: {rt}"
    );
    // vAPI shows the same at once: NOT_RESPONDING, and (the union rule) no power state.
    let r =
        e.ts.call(
            Method::GET,
            &format!("/api/vcenter/host?hosts={}", h["value"].as_str().unwrap()),
            Some(&e.token),
            None,
        )
        .await;
    let list: Value = r.json().await.unwrap();
    assert_eq!(list[0]["connection_state"], "NOT_RESPONDING", "{list}");
    assert!(list[0].get("power_state").is_none(), "{list}");
    // Back after the simulated reboot: heartbeats reconnect it, with its new boot time.
    let mut back = Value::Null;
    for _ in 0..300 {
        back = e.prop(&h, "runtime").await;
        if back["connectionState"] == "connected"
            && back["bootTime"].is_string()
            && boot_time(&back) > booted
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(back["connectionState"], "connected", "{back}");
    assert_eq!(back["powerState"], "poweredOn");
    assert!(boot_time(&back) > booted, "a new boot time: {back}");

    let h2 = e.add(&c, 1).await;
    e.succeed(&m(&h2, "ShutdownHost_Task"), json!({"force": true}))
        .await;
    let rt = e.prop(&h2, "runtime").await;
    assert_eq!(
        (rt["connectionState"].as_str(), rt["powerState"].as_str()),
        (Some("notResponding"), Some("poweredOff")),
        "shut down, at once: {rt}"
    );
}

/// A host whose agent is gone is removed once it is disconnected or not responding, as vCenter
/// removes it: the agent's release is tried and, unreachable, skipped with a warning event.
#[tokio::test]
async fn a_host_whose_agent_is_gone_is_removed_once_disconnected_or_not_responding() {
    use std::sync::atomic::Ordering;
    let e = env(2, 1).await;
    let (_, folder) = e.datacenter("dc-gone").await;
    let c = e.cluster(&folder, "c-gone", "manual").await;
    let h = e.add(&c, 0).await;
    let m = |h: &Value, op: &str| format!("{}/{op}", path_of(h));
    // The agent goes away for good (connections refused), then the host is disconnected.
    e.fleet
        .agent(0)
        .faults
        .unreachable
        .store(true, Ordering::SeqCst);
    e.succeed(&m(&h, "DisconnectHost_Task"), json!({})).await;
    e.succeed(&m(&h, "Destroy_Task"), json!({})).await;
    let (s, f) = e.get(&format!("{}/name", path_of(&h))).await;
    assert_eq!(
        (s, f["_typeName"].as_str()),
        (500, Some("ManagedObjectNotFound")),
        "{f}"
    );
    let (core, admin) = e.ts.core_admin().await;
    let warned = core
        .list_events(&admin, &ferrocenter_core::inventory::EventFilter::default())
        .await
        .unwrap()
        .into_iter()
        .any(|ev| {
            ev.kind == "GeneralHostWarningEvent" && ev.message.contains("could not be reached")
        });
    assert!(warned, "the skipped release is recorded");

    // A host shut down through the server is not responding; it is removed too.
    let h2 = e.add(&c, 1).await;
    e.succeed(&m(&h2, "ShutdownHost_Task"), json!({"force": true}))
        .await;
    // Let the simulated host go away (it answers for 100 ms after accepting).
    tokio::time::sleep(Duration::from_millis(500)).await;
    e.succeed(&m(&h2, "Destroy_Task"), json!({})).await;
    let (s, _) = e.get(&format!("{}/name", path_of(&h2))).await;
    assert_eq!(s, 500);
}
