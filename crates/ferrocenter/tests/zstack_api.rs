//! ZStack REST: LogInByAccount with the SHA-512 digest, session checks, and QueryHost with the
//! query language over hosts added through the core (the same inventory every surface shows).
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::zstack::{uuid_hex, ZsClient, SEED_HOST_FIELDS};
use common::*;
use ferrocenter_core::hosts::AddHostSpec;
use ferrocenter_core::inventory::AutomationLevel;
use ferrocenter_core::tasks::TaskState;
use reqwest::Method;
use serde_json::{json, Value};

struct Zs {
    ts: TestServer,
    fleet: ferrocenter_agent::simulate::Fleet,
    session: String,
    hosts: Vec<String>,
    zc: ZsClient,
}

impl Zs {
    async fn call(
        &self,
        method: Method,
        path: &str,
        session: Option<&str>,
        body: Option<Value>,
    ) -> (u16, String, String) {
        self.zc.call(method, path, session, body).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.zc.get(path).await
    }

    async fn sdk(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.zc.sdk(method, path, body).await
    }

    async fn names(&self, query: &str) -> Vec<String> {
        self.zc
            .inventories(&format!("/zstack/v1/hosts?{query}"))
            .await
            .iter()
            .map(|h| h["name"].as_str().unwrap().to_string())
            .collect()
    }
}

async fn login(ts: &TestServer, account: &str, password: &str) -> (u16, Value) {
    ZsClient::login(&ts.client, &ts.api(""), account, password).await
}

/// Three hosts: two in cluster "web" (zone "zone-a"), one standalone in "zone-b".
async fn zs() -> Zs {
    let fleet = sim_fleet(3, 1, 4, 9).await;
    let ts = TestServer::start().await;
    let (core, admin) = ts.core_admin().await;
    let a = core.create_datacenter(&admin, "zone-a", "").await.unwrap();
    let b = core.create_datacenter(&admin, "zone-b", "").await.unwrap();
    let c = core
        .create_cluster(&admin, &a.id, "web", AutomationLevel::Manual, "")
        .await
        .unwrap();
    let mut hosts = Vec::new();
    for (i, name) in ["web-01", "web-02", "db-01"].into_iter().enumerate() {
        let h = &fleet.manifest.hosts[i];
        let spec = AddHostSpec {
            cluster_id: (i < 2).then(|| c.id.clone()),
            datacenter_id: (i == 2).then(|| b.id.clone()),
            host_name: h.address.clone(),
            port: Some(h.port),
            ssl_thumbprint: Some(h.thumbprint.clone()),
            user_name: "root".into(),
            password: ROOT_PW.into(),
            name: Some(name.into()),
            ..Default::default()
        };
        let t = core.add_host(&admin, spec).await.unwrap();
        let t = loop {
            let t = core.tasks.get(&t.id).await.unwrap();
            if t.state.is_finished() {
                break t;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        assert_eq!(t.state, TaskState::Success, "{:?}", t.error);
        hosts.push(t.result.unwrap().host().unwrap().to_string());
    }
    let zc = ZsClient::new(ts.client.clone(), &ts.api(""), "admin", PASSWORD).await;
    Zs {
        session: zc.session.clone(),
        ts,
        fleet,
        hosts,
        zc,
    }
}

#[tokio::test]
async fn sessions_by_account_with_the_password_digest() {
    let z = zs().await;
    let (s, v) = login(&z.ts, "admin", PASSWORD).await;
    assert_eq!(s, 200);
    let inv = &v["inventory"];
    assert_eq!(inv["uuid"].as_str().unwrap().len(), 32);
    for f in ["accountUuid", "userUuid", "expiredDate", "createDate"] {
        assert!(inv[f].is_string(), "{f}: {inv}");
    }
    // Wrong password: 503 ID.1000.
    let (s, v) = login(&z.ts, "admin", "wrong").await;
    assert_eq!((s, v["error"]["code"].as_str()), (503, Some("ID.1000")));
    // Other accounts are ferrocenter identities.
    z.ts.user("ops", ferrocenter_core::auth::Role::Operator)
        .await;
    let (s, _) = login(&z.ts, "ops@vsphere.local", PASSWORD).await;
    assert_eq!(s, 200);
    // ValidateSession and LogOut need no session of their own.
    let valid = |sid: String| {
        let z = &z;
        async move {
            let (_, _, b) = z
                .call(
                    Method::GET,
                    &format!("/zstack/v1/accounts/sessions/{sid}/valid"),
                    None,
                    None,
                )
                .await;
            serde_json::from_str::<Value>(&b).unwrap()["valid"].clone()
        }
    };
    assert_eq!(valid(z.session.clone()).await, true);
    // The session header: missing → 400 plain text; unknown → 503 ID.1001.
    let (s, ct, b) = z.call(Method::GET, "/zstack/v1/hosts", None, None).await;
    assert_eq!((s, b.as_str()), (400, "missing header 'Authorization'"));
    assert!(ct.starts_with("text/plain"));
    let (s, _, b) = z
        .call(
            Method::GET,
            "/zstack/v1/hosts",
            Some("0123456789abcdef0123456789abcdef"),
            None,
        )
        .await;
    assert_eq!(s, 503);
    assert_eq!(
        serde_json::from_str::<Value>(&b).unwrap()["error"]["code"],
        "ID.1001"
    );
    let (s, _, b) = z
        .call(
            Method::DELETE,
            &format!("/zstack/v1/accounts/sessions/{}", z.session),
            None,
            None,
        )
        .await;
    assert_eq!((s, b.as_str()), (200, "{}"));
    assert_eq!(valid(z.session.clone()).await, false);
    let (s, _, _) = z
        .call(Method::GET, "/zstack/v1/hosts", Some(&z.session), None)
        .await;
    assert_eq!(s, 503);
    z.ts.stop().await;
}

#[tokio::test]
async fn query_host_with_the_query_language() {
    let z = zs().await;
    // Every inventory field seeds/004 lists that ferrocenter knows.
    let (s, v) = z
        .get(&format!("/zstack/v1/hosts?q=uuid={}", z.hosts[0]))
        .await;
    assert_eq!(s, 200);
    let h = &v["inventories"][0];
    for f in SEED_HOST_FIELDS {
        assert!(!h[f].is_null(), "{f} in {h}");
    }
    assert_eq!(
        (h["state"].as_str(), h["status"].as_str()),
        (Some("Enabled"), Some("Connected"))
    );
    assert_eq!(h["totalCpuCapacity"], h["cpuNum"].as_u64().unwrap() * 10);
    assert_eq!(
        v["schema"]["inventories[0]"],
        "org.zstack.kvm.KVMHostInventory"
    );
    assert!(h.get("password").is_none());
    // GET by uuid: a list of one; an unknown uuid is an empty list, not a 404.
    let (s, v) = z.get(&format!("/zstack/v1/hosts/{}", z.hosts[1])).await;
    assert_eq!(
        (s, v["inventories"][0]["name"].as_str()),
        (200, Some("web-02"))
    );
    let (s, v) = z
        .get("/zstack/v1/hosts/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!((s, v["inventories"].as_array().unwrap().len()), (200, 0));
    // Operators, a cross-resource field, sorting and paging.
    assert_eq!(
        z.names("q=cluster.name=web&sort=-name").await,
        ["web-02", "web-01"]
    );
    assert_eq!(z.names("q=zone.name=zone-b").await, ["db-01"]);
    assert_eq!(
        z.names("q=name~=web%25&sort=name").await,
        ["web-01", "web-02"]
    );
    assert_eq!(z.names("q=name!~=web%25").await, ["db-01"]);
    assert_eq!(
        z.names("q=name!=db-01&sort=name&limit=1&start=1").await,
        ["web-02"]
    );
    assert_eq!(
        z.names("q=name?=db-01,web-02&sort=name").await,
        ["db-01", "web-02"]
    );
    assert_eq!(z.names("q=name!?=db-01,web-02").await, ["web-01"]);
    assert_eq!(z.names("q=clusterUuid is null").await, ["db-01"]);
    assert_eq!(
        z.names("q=clusterUuid not null&q=status=Connected&sort=name")
            .await,
        ["web-01", "web-02"]
    );
    assert_eq!(
        z.names("q=createDate>=Jan 1, 2020 12:00:00 AM&q=hypervisorType=KVM")
            .await
            .len(),
        3
    );
    // Counting, and the fields projection.
    let (_, v) = z
        .get("/zstack/v1/hosts?q=cluster.name=web&count=true")
        .await;
    assert_eq!(
        (v["total"].as_u64(), v.get("inventories").is_none()),
        (Some(2), true)
    );
    let (_, v) = z
        .get("/zstack/v1/hosts?limit=1&replyWithCount=true&fields=uuid,name")
        .await;
    assert_eq!(v["total"], 3);
    let inv = v["inventories"][0].as_object().unwrap();
    assert_eq!(inv.keys().collect::<Vec<_>>(), ["name", "uuid"]);
    // Malformed conditions: 400 naming the problem; an unknown field: 503 SYS.1007 naming it.
    let (s, _, b) = z
        .call(
            Method::GET,
            "/zstack/v1/hosts?q=name",
            Some(&z.session),
            None,
        )
        .await;
    assert_eq!(s, 400);
    assert!(b.contains("'name'") && b.contains("query operator"), "{b}");
    let (s, _, b) = z
        .call(
            Method::GET,
            "/zstack/v1/hosts?limit=ten",
            Some(&z.session),
            None,
        )
        .await;
    assert_eq!(s, 400);
    assert!(b.contains("limit"), "{b}");
    let (s, v) = z.get("/zstack/v1/hosts?q=color=red").await;
    assert_eq!((s, v["error"]["code"].as_str()), (503, Some("SYS.1007")));
    assert!(v["error"]["details"].as_str().unwrap().contains("color"));
    z.ts.stop().await;
}

/// An SDK-like client drives maintain → enable → reconnect → delete through jobs.
#[tokio::test]
async fn host_actions_and_delete_through_jobs() {
    let z = zs().await;
    let web1 = z.hosts[0].clone();
    // The cluster is manual: power web-01's VM off so maintenance completes.
    let a = z.fleet.agent(0);
    for v in a.vms() {
        let _ = a
            .power(&v.uuid, ferrocenter_agent_client::wire::PowerAction::Off)
            .await;
    }
    let act = |body: Value| {
        let (z, p) = (&z, format!("/zstack/v1/hosts/{web1}/actions"));
        async move { z.sdk(Method::PUT, &p, Some(body)).await }
    };
    let (s, v) = act(json!({"changeHostState": {"stateEvent": "maintain"}})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["inventory"]["state"], "Maintenance");
    // Maintaining again fails inside the job, wrapped as ZStack wraps it.
    let (s, v) = act(json!({"changeHostState": {"stateEvent": "maintain"}})).await;
    assert_eq!((s, v["error"]["code"].as_str()), (503, Some("HOST.1001")));
    assert!(v["error"]["cause"]["code"].is_string());
    // Disabling a host in maintenance leaves maintenance into Disabled, as in ZStack.
    let (s, v) = act(json!({"changeHostState": {"stateEvent": "disable"}})).await;
    assert_eq!(
        (s, v["inventory"]["state"].as_str()),
        (200, Some("Disabled")),
        "{v}"
    );
    let (s, v) = act(json!({"changeHostState": {"stateEvent": "enable"}})).await;
    assert_eq!(
        (s, v["inventory"]["state"].as_str()),
        (200, Some("Enabled")),
        "{v}"
    );
    let (s, v) = act(json!({"changeHostState": {"stateEvent": "disable"}})).await;
    assert_eq!(
        (s, v["inventory"]["state"].as_str()),
        (200, Some("Disabled"))
    );
    let (s, v) = act(json!({"changeHostState": {"stateEvent": "enable"}})).await;
    assert_eq!(
        (s, v["inventory"]["state"].as_str()),
        (200, Some("Enabled"))
    );
    let (s, v) = act(json!({"changeHostState": {"stateEvent": "explode"}})).await;
    assert_eq!((s, v["error"]["code"].as_str()), (503, Some("SYS.1007")));
    assert!(
        v["error"]["details"]
            .as_str()
            .unwrap()
            .contains("stateEvent"),
        "{v}"
    );
    let (s, v) = act(json!({"reconnectHost": {}})).await;
    assert_eq!(
        (s, v["inventory"]["status"].as_str()),
        (200, Some("Connected")),
        "{v}"
    );
    // REST-layer errors: an unknown action key, a bad or reused X-Job-UUID (400, plain text).
    let (s, _, b) = z
        .call(
            Method::PUT,
            &format!("/zstack/v1/hosts/{web1}/actions"),
            Some(&z.session),
            Some(json!({"fly": {}})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(b.contains("action mapping"), "{b}");
    let put = |job: &str| {
        z.ts.client
            .put(z.ts.api(&format!("/zstack/v1/hosts/{web1}/actions")))
            .header("X-Job-UUID", job.to_string())
            .header("Authorization", format!("OAuth {}", z.session))
            .json(&json!({"reconnectHost": {}}))
            .send()
    };
    assert_eq!(put("short").await.unwrap().status(), 400);
    let job = uuid_hex();
    assert_eq!(put(&job).await.unwrap().status(), 202);
    let r = put(&job).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("duplicate job"));
    // An unknown job is expired: 404 in plain text.
    let (s, _, b) = z
        .call(
            Method::GET,
            &format!("/zstack/v1/api-jobs/{}", uuid_hex()),
            None,
            None,
        )
        .await;
    assert_eq!((s, b.as_str()), (404, "the job has been expired"));
    // A bad session on an async call is answered ID.1001 at once, without a job (ZStack would
    // accept the job and fail it: jobs from callers who cannot act would only fill memory).
    let r =
        z.ts.client
            .delete(z.ts.api(&format!("/zstack/v1/hosts/{web1}")))
            .header("Authorization", "OAuth 0123456789abcdef0123456789abcdef")
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "ID.1001");
    // DeleteHost, seeds/004's curl form; an unknown uuid succeeds too.
    let (s, v) = z
        .sdk(
            Method::DELETE,
            &format!("/zstack/v1/hosts/{web1}?deleteMode=Permissive"),
            None,
        )
        .await;
    assert_eq!((s, v), (200, json!({})));
    assert_eq!(z.names("sort=name").await, ["db-01", "web-02"]);
    let (s, v) = z
        .sdk(
            Method::DELETE,
            "/zstack/v1/hosts/0123456789abcdef0123456789abcdef",
            None,
        )
        .await;
    assert_eq!((s, v), (200, json!({})));
    let (s, v) = z
        .sdk(
            Method::DELETE,
            &format!("/zstack/v1/hosts/{}?deleteMode=Sideways", z.hosts[1]),
            None,
        )
        .await;
    assert_eq!((s, v["error"]["code"].as_str()), (503, Some("SYS.1007")));
    assert!(
        v["error"]["details"]
            .as_str()
            .unwrap()
            .contains("deleteMode"),
        "{v}"
    );
    z.ts.stop().await;
}

/// DeleteHost (Permissive, the default) removes a disconnected host whose agent is gone, as
/// ZStack does; the skipped release of the agent is recorded as a warning event.
#[tokio::test]
async fn deleting_a_disconnected_host_whose_agent_is_gone() {
    let z = zs().await;
    let web1 = z.hosts[0].clone();
    z.fleet
        .agent(0)
        .faults
        .unreachable
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (core, admin) = z.ts.core_admin().await;
    let t = core
        .disconnect_host(&admin, &web1, ferrocenter_core::hosts::IfAlready::StartTask)
        .await
        .unwrap();
    for _ in 0..200 {
        if core.tasks.get(&t.id).await.unwrap().state.is_finished() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (s, v) = z
        .sdk(Method::DELETE, &format!("/zstack/v1/hosts/{web1}"), None)
        .await;
    assert_eq!((s, &v), (200, &json!({})), "{v}");
    assert_eq!(z.names("sort=name").await, ["db-01", "web-02"]);
    let events = core
        .list_events(
            &admin,
            &ferrocenter_core::inventory::EventFilter {
                entity_id: Some(web1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        events.iter().any(|e| e.kind == "GeneralHostWarningEvent"),
        "{events:?}"
    );
    z.ts.stop().await;
}

/// ZStack stores null for a description never given: `is null` finds those hosts, `not null`
/// the others, and the inventory leaves the field out.
#[tokio::test]
async fn description_is_null_until_given() {
    let z = zs().await;
    assert_eq!(
        z.names("q=description is null&sort=name").await,
        ["db-01", "web-01", "web-02"]
    );
    assert!(z.names("q=description not null").await.is_empty());
    let (_, v) = z.get(&format!("/zstack/v1/hosts/{}", z.hosts[0])).await;
    assert!(v["inventories"][0].get("description").is_none(), "{v}");
    let (s, v) = z
        .sdk(
            Method::PUT,
            &format!("/zstack/v1/hosts/{}/actions", z.hosts[0]),
            Some(json!({"updateHost": {"description": "rack 4"}})),
        )
        .await;
    assert_eq!((s, &v["inventory"]["description"]), (200, &json!("rack 4")));
    assert_eq!(z.names("q=description not null").await, ["web-01"]);
    assert_eq!(
        z.names("q=description is null&sort=name").await,
        ["db-01", "web-02"]
    );
    assert_eq!(z.names("q=description=rack 4").await, ["web-01"]);
    z.ts.stop().await;
}

/// Capacity fields live in the read model, so QueryHost filters and sorts by them, and a VM
/// powered on is seen in the next listing's available capacity.
#[tokio::test]
async fn capacity_fields_filter_and_sort() {
    const FIELDS: [&str; 5] = [
        "cpuNum",
        "totalCpuCapacity",
        "availableCpuCapacity",
        "totalMemoryCapacity",
        "availableMemoryCapacity",
    ];
    let z = zs().await;
    let (core, admin) = z.ts.core_admin().await;
    let int = |h: &Value, f: &str| h[f].as_i64().unwrap();
    let web01 =
        |hosts: &[Value], f: &str| int(hosts.iter().find(|h| h["name"] == "web-01").unwrap(), f);
    // The simulated VMs run: web-01's powered off gives its vCPUs and memory back, and the
    // next listing says so.
    let before = z.zc.inventories("/zstack/v1/hosts").await;
    let vm = core
        .list_vms(&admin, Some(&z.hosts[0]))
        .await
        .unwrap()
        .remove(0);
    core.power_vm(&admin, &vm.id, ferrocenter_core::ports::PowerAction::Off)
        .await
        .unwrap();
    let hosts = z.zc.inventories("/zstack/v1/hosts").await;
    assert_eq!(
        web01(&hosts, "availableMemoryCapacity") - web01(&before, "availableMemoryCapacity"),
        vm.memory_bytes as i64
    );
    assert_eq!(
        web01(&hosts, "availableCpuCapacity") - web01(&before, "availableCpuCapacity"),
        i64::from(vm.vcpus)
    );
    for f in FIELDS {
        for h in &hosts {
            let v = int(h, f);
            // Each comparison finds exactly the hosts whose rendered value satisfies it.
            for (op, keep) in [
                ("=", (|a: i64, b: i64| a == b) as fn(i64, i64) -> bool),
                ("<", |a, b| a < b),
                (">=", |a, b| a >= b),
            ] {
                let mut want: Vec<String> = hosts
                    .iter()
                    .filter(|o| keep(int(o, f), v))
                    .map(|o| o["name"].as_str().unwrap().to_string())
                    .collect();
                want.sort();
                let got = z.names(&format!("q={f}{op}{v}&sort=name")).await;
                assert_eq!(got, want, "{f}{op}{v}");
            }
        }
        // Sorted by the field, descending: the values do not increase.
        let sorted =
            z.zc.inventories(&format!("/zstack/v1/hosts?sort=-{f}"))
                .await;
        let values: Vec<i64> = sorted.iter().map(|h| int(h, f)).collect();
        assert!(values.windows(2).all(|w| w[0] >= w[1]), "{f}: {values:?}");
    }
    z.ts.stop().await;
}
