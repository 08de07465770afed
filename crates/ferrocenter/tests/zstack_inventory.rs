//! ZStack zones, clusters, AddKVMHost, UpdateHost/UpdateKVMHost, QueryVmInstance, RenewSession
//! and web hooks, driven by a client that behaves like ZStack's Python SDK against the real
//! server and simulated agents; and seeds/004's curl examples run verbatim with curl.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::zstack::{code, details, hook_receiver, ZsClient, SEED_HOST_FIELDS};
use common::*;
use ferrocenter_testkit::free_port;
use reqwest::Method;
use serde_json::{json, Value};

const POST: Method = Method::POST;
const PUT: Method = Method::PUT;
const DELETE: Method = Method::DELETE;

fn uuids(invs: &[Value]) -> Vec<String> {
    let mut u: Vec<String> = invs
        .iter()
        .map(|i| i["uuid"].as_str().unwrap().to_string())
        .collect();
    u.sort();
    u
}

#[tokio::test]
async fn zones_clusters_and_kvm_hosts_through_the_sdk() {
    let fleet = sim_fleet(3, 3, 6, 21).await;
    let port = fleet.manifest.hosts[0].port;
    let (url, mut hooks) = hook_receiver().await;
    let ts = TestServer::start_with(|a| {
        a.agent_port = Some(port.to_string());
        a.zstack_web_hook_allow = Some(vec![url.clone()]);
    })
    .await;
    let zc = ZsClient::new(ts.client.clone(), &ts.api(""), "admin", PASSWORD).await;
    let ip = |i: usize| fleet.manifest.hosts[i].address.clone();

    // ---- zones
    let (s, v) = zc
        .sdk(
            POST,
            "/zstack/v1/zones",
            Some(
                json!({"params": {"name": "zone-a", "description": "first", "isDefault": true},
                        "userTags": ["lab"]}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let za = v["inventory"].clone();
    assert_eq!(
        (
            &za["type"],
            &za["isDefault"],
            &za["state"],
            &za["description"]
        ),
        (
            &json!("zstack"),
            &json!(true),
            &json!("Enabled"),
            &json!("first")
        )
    );
    let za = za["uuid"].as_str().unwrap().to_string();
    // CJK, inner spaces and ZStack's punctuation are allowed; the new default takes the flag.
    let (s, v) = zc
        .sdk(
            POST,
            "/zstack/v1/zones",
            Some(json!({"params": {"name": "Zone (B) 区", "isDefault": "true"}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let zb = v["inventory"]["uuid"].as_str().unwrap().to_string();
    let (s, v) = zc.get(&format!("/zstack/v1/zones/{za}")).await;
    assert_eq!((s, &v["inventories"][0]["isDefault"]), (200, &json!(false)));
    assert_eq!(
        v["schema"]["inventories[0]"],
        "org.zstack.header.zone.ZoneInventory"
    );
    let (s, v) = zc
        .sdk(
            POST,
            "/zstack/v1/zones",
            Some(json!({"params": {"name": "a/b"}})),
        )
        .await;
    assert_eq!((s, code(&v)), (503, "SYS.1007"));
    assert!(details(&v).contains("name"), "{v}");
    let (s, v) = zc
        .sdk(POST, "/zstack/v1/zones", Some(json!({"params": {}})))
        .await;
    assert_eq!((s, code(&v)), (503, "SYS.1007"));
    assert!(details(&v).contains("name"), "{v}");
    assert_eq!(
        uuids(&zc.inventories("/zstack/v1/zones?q=__userTag__=lab").await),
        [za.as_str()]
    );
    assert_eq!(
        uuids(&zc.inventories("/zstack/v1/zones?q=isDefault=true").await),
        [zb.as_str()]
    );
    let (s, v) = zc.get("/zstack/v1/zones?count=true").await;
    assert_eq!((s, &v["total"]), (200, &json!(2)));

    // ---- clusters
    let cluster_uuid = "9adf394ca46432afb1218d220bf2925e";
    let (s, v) = zc
        .sdk(
            POST,
            "/zstack/v1/clusters",
            Some(
                json!({"params": {"zoneUuid": za, "name": "web", "hypervisorType": "KVM",
                                   "resourceUuid": cluster_uuid}}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let c = &v["inventory"];
    assert_eq!(
        (&c["uuid"], &c["type"], &c["zoneUuid"], &c["hypervisorType"]),
        (
            &json!(cluster_uuid),
            &json!("zstack"),
            &json!(za),
            &json!("KVM")
        )
    );
    assert!(c.get("architecture").is_none(), "unset until a host joins");
    for (hv, field) in [("Xen", "hypervisorType"), ("baremetal", "hypervisorType")] {
        let (s, v) = zc
            .sdk(
                POST,
                "/zstack/v1/clusters",
                Some(json!({"params": {"zoneUuid": za, "name": "x", "hypervisorType": hv}})),
            )
            .await;
        assert_eq!((s, code(&v)), (503, "SYS.1007"), "{hv}");
        assert!(details(&v).contains(field), "{v}");
    }
    let (s, v) = zc
        .sdk(
            POST,
            "/zstack/v1/clusters",
            Some(
                json!({"params": {"zoneUuid": "0123456789abcdef0123456789abcdef", "name": "x",
                                   "hypervisorType": "KVM"}}),
            ),
        )
        .await;
    assert_eq!((s, code(&v)), (503, "SYS.1003"), "{v}");
    let (s, v) = zc
        .sdk(
            PUT,
            &format!("/zstack/v1/clusters/{cluster_uuid}/actions"),
            Some(json!({"updateCluster": {"description": "front end"}})),
        )
        .await;
    assert_eq!(
        (s, &v["inventory"]["description"]),
        (200, &json!("front end"))
    );
    assert_eq!(
        uuids(
            &zc.inventories("/zstack/v1/clusters?q=zone.name=zone-a")
                .await
        ),
        [cluster_uuid.to_string()]
    );

    // ---- AddKVMHost: trust on first use, every parameter kept.
    let add = |i: usize, name: &str, password: &str, tags: Value| {
        let body = json!({"params": {"name": name, "managementIp": ip(i), "clusterUuid": cluster_uuid,
                                     "username": "root", "password": password, "sshPort": "2222",
                                     "description": format!("host {i}")},
                          "systemTags": tags, "userTags": [format!("rack-{i}")]});
        let zc = &zc;
        async move { zc.sdk(POST, "/zstack/v1/hosts/kvm", Some(body)).await }
    };
    let (s, v) = add(0, "kvm-0", ROOT_PW, json!(["pageTableExtensionDisabled"])).await;
    assert_eq!(s, 200, "{v}");
    let h0 = v["inventory"].clone();
    assert_eq!(
        (
            &h0["status"],
            &h0["state"],
            &h0["zoneUuid"],
            &h0["managementIp"],
            &h0["sshPort"]
        ),
        (
            &json!("Connected"),
            &json!("Enabled"),
            &json!(za),
            &json!(ip(0)),
            &json!(2222)
        )
    );
    let h0 = h0["uuid"].as_str().unwrap().to_string();
    let (_, v) = zc.get(&format!("/zstack/v1/clusters/{cluster_uuid}")).await;
    assert!(v["inventories"][0]["architecture"].is_string(), "{v}");
    // A wrong password fails the job and leaves no host behind.
    let (s, v) = add(1, "kvm-1", "Wrong-Pass-9", json!([])).await;
    assert_eq!(s, 503, "{v}");
    let (_, v) = zc.get("/zstack/v1/hosts?count=true").await;
    assert_eq!(v["total"], 1, "{v}");
    // A second host at the same address is refused.
    let (s, v) = add(0, "kvm-dup", ROOT_PW, json!([])).await;
    assert_eq!((s, code(&v)), (503, "SYS.1007"), "{v}");
    // A pinned thumbprint that is not the agent's is refused.
    let (s, v) = add(
        1,
        "kvm-1",
        ROOT_PW,
        json!([format!(
            "sslThumbprint::{}",
            fleet.manifest.hosts[2].thumbprint
        )]),
    )
    .await;
    assert_eq!((s, code(&v)), (503, "SYS.1006"), "{v}");
    let (s, v) = add(1, "kvm-1", ROOT_PW, json!([])).await;
    assert_eq!(s, 200, "{v}");
    let h1 = v["inventory"]["uuid"].as_str().unwrap().to_string();
    // Missing parameters are named, inside the job.
    let (s, v) = zc
        .sdk(
            POST,
            "/zstack/v1/hosts/kvm",
            Some(json!({"params": {"name": "x", "managementIp": ip(2)}})),
        )
        .await;
    assert_eq!((s, code(&v)), (503, "SYS.1007"));
    assert!(details(&v).contains("clusterUuid"), "{v}");

    // ---- tags, cross-resource fields and VMs in queries
    assert_eq!(
        uuids(
            &zc.inventories("/zstack/v1/hosts?q=__systemTag__=pageTableExtensionDisabled")
                .await
        ),
        [h0.as_str()]
    );
    assert_eq!(
        uuids(
            &zc.inventories("/zstack/v1/hosts?q=__systemTag__!=pageTableExtensionDisabled")
                .await
        ),
        [h1.as_str()]
    );
    assert_eq!(
        uuids(
            &zc.inventories("/zstack/v1/hosts?q=__userTag__~=rack-%25")
                .await
        )
        .len(),
        2
    );
    assert_eq!(
        uuids(
            &zc.inventories(
                "/zstack/v1/hosts?q=cluster.name=web&q=zone.name=zone-a&q=sshPort=2222"
            )
            .await
        )
        .len(),
        2
    );
    let vms0 = zc
        .inventories(&format!("/zstack/v1/vm-instances?q=hostUuid={h0}"))
        .await;
    assert_eq!(vms0.len(), 3);
    for vm in &vms0 {
        assert_eq!(vm["clusterUuid"], cluster_uuid);
        assert_eq!(vm["zoneUuid"], json!(za));
        assert!(vm["cpuNum"].as_u64().unwrap() > 0);
        assert!(vm["memorySize"].as_u64().unwrap() > 0);
        assert!(["Running", "Stopped", "Paused"].contains(&vm["state"].as_str().unwrap()));
    }
    let (s, v) = zc
        .get(&format!(
            "/zstack/v1/vm-instances/{}",
            vms0[0]["uuid"].as_str().unwrap()
        ))
        .await;
    assert_eq!((s, &v["inventories"][0]["uuid"]), (200, &vms0[0]["uuid"]));
    let (s, v) = zc.get("/zstack/v1/vm-instances?q=cpuNum=many").await;
    assert_eq!((s, code(&v)), (503, "SYS.1007"), "{v}");
    assert!(details(&v).contains("cpuNum=many"), "{v}");

    // ---- UpdateHost and UpdateKVMHost change the record only.
    let act = |path: String, body: Value| {
        let zc = &zc;
        async move { zc.sdk(PUT, &path, Some(body)).await }
    };
    let (s, v) = act(
        format!("/zstack/v1/hosts/{h0}/actions"),
        json!({"updateHost": {"name": "kvm-zero", "description": "renamed"}}),
    )
    .await;
    assert_eq!(
        (s, &v["inventory"]["name"], &v["inventory"]["description"]),
        (200, &json!("kvm-zero"), &json!("renamed"))
    );
    let (s, v) = act(
        format!("/zstack/v1/hosts/{h0}/actions"),
        json!({"updateHost": {"managementIp": ip(1)}}),
    )
    .await;
    assert_eq!((s, code(&v)), (503, "SYS.1007"), "{v}");
    assert!(details(&v).contains("managementIp"), "{v}");
    let (s, v) = act(
        format!("/zstack/v1/hosts/kvm/{h0}/actions"),
        json!({"updateKVMHost": {"username": "root", "password": "Wrong-Pass-9", "sshPort": 22}}),
    )
    .await;
    assert_eq!(s, 503, "{v}");
    let (s, v) = act(
        format!("/zstack/v1/hosts/kvm/{h0}/actions"),
        json!({"updateKVMHost": {"username": "root", "password": ROOT_PW, "sshPort": 22}}),
    )
    .await;
    assert_eq!((s, &v["inventory"]["sshPort"]), (200, &json!(22)), "{v}");

    // ---- cluster state applies to its hosts
    let (s, v) = act(
        format!("/zstack/v1/clusters/{cluster_uuid}/actions"),
        json!({"changeClusterState": {"stateEvent": "disable"}}),
    )
    .await;
    assert_eq!((s, &v["inventory"]["state"]), (200, &json!("Disabled")));
    assert_eq!(
        zc.inventories("/zstack/v1/hosts?q=state=Disabled")
            .await
            .len(),
        2
    );
    let (s, _) = act(
        format!("/zstack/v1/clusters/{cluster_uuid}/actions"),
        json!({"changeClusterState": {"stateEvent": "enable"}}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        zc.inventories("/zstack/v1/hosts?q=state=Enabled")
            .await
            .len(),
        2
    );

    // ---- maintenance moves the VMs (the cluster is fully automated); QueryVmInstance shows it.
    let (s, v) = act(
        format!("/zstack/v1/hosts/{h0}/actions"),
        json!({"changeHostState": {"stateEvent": "maintain"}}),
    )
    .await;
    assert_eq!(
        (s, &v["inventory"]["state"]),
        (200, &json!("Maintenance")),
        "{v}"
    );
    assert!(zc
        .inventories(&format!(
            "/zstack/v1/vm-instances?q=hostUuid={h0}&q=state=Running"
        ))
        .await
        .is_empty());
    // ReconnectHost is refused in maintenance, wrapped as ZStack wraps reconnect errors.
    let (s, v) = act(
        format!("/zstack/v1/hosts/{h0}/actions"),
        json!({"reconnectHost": {}}),
    )
    .await;
    assert_eq!((s, code(&v)), (503, "HOST.1002"), "{v}");
    assert_eq!(v["error"]["cause"]["code"], "SYS.1006");
    assert!(details(&v).contains("Maintenance"), "{v}");
    let (s, v) = act(
        format!("/zstack/v1/hosts/{h0}/actions"),
        json!({"changeHostState": {"stateEvent": "enable"}}),
    )
    .await;
    assert_eq!(
        (s, &v["inventory"]["state"]),
        (200, &json!("Enabled")),
        "{v}"
    );
    let (s, v) = act(
        format!("/zstack/v1/hosts/{h0}/actions"),
        json!({"reconnectHost": {}}),
    )
    .await;
    assert_eq!(
        (s, &v["inventory"]["status"]),
        (200, &json!("Connected")),
        "{v}"
    );

    // ---- RenewSession
    let (s, v) = act(
        format!("/zstack/v1/accounts/sessions/{}/renew", zc.session),
        json!({"renewSession": {"duration": 31_536_000}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // A year is asked; the session still ends at the absolute lifetime (a day after login).
    let day_after = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let month = format!("{:?}", day_after.month());
    let expected = format!("{} {}, {}", &month[..3], day_after.day(), day_after.year());
    assert!(
        v["inventory"]["expiredDate"]
            .as_str()
            .unwrap()
            .starts_with(&expected),
        "{v}"
    );
    let (s, v) = act(
        format!("/zstack/v1/accounts/sessions/{}/renew", zc.session),
        json!({"renewSession": {"duration": 5}}),
    )
    .await;
    assert_eq!((s, code(&v)), (503, "SYS.1007"));
    assert!(details(&v).contains("duration"), "{v}");

    // ---- X-Web-Hook (an allowed destination): the result is posted once the job ends.
    let (s, v) = zc
        .sdk_with(
            PUT,
            &format!("/zstack/v1/zones/{zb}/actions"),
            Some(json!({"changeZoneState": {"stateEvent": "disable"}})),
            &[("X-Web-Hook", url.as_str())],
        )
        .await;
    assert_eq!((s, &v["inventory"]["state"]), (200, &json!("Disabled")));
    let (headers, body) = tokio::time::timeout(Duration::from_secs(20), hooks.recv())
        .await
        .expect("the hook was called")
        .unwrap();
    assert_eq!(headers["x-job-success"], "true");
    assert_eq!(headers["x-job-uuid"].len(), 32);
    assert_eq!(body["inventory"]["state"], "Disabled");
    let (s, _, b) = zc
        .call(
            PUT,
            &format!("/zstack/v1/zones/{zb}/actions"),
            Some(&zc.session),
            Some(json!({"changeZoneState": {"stateEvent": "enable"}})),
        )
        .await;
    assert_eq!(s, 202, "{b}");

    // ---- the same zones are datacenters on VI/JSON.
    let token = ts.login(ADMIN).await;
    let sdk = "/sdk/vim25/8.0.3.0";
    let r = ts
        .call(
            Method::GET,
            &format!("{sdk}/Folder/group-d1/childEntity"),
            Some(&token),
            None,
        )
        .await;
    let children: Value = r.json().await.unwrap();
    let mut names = Vec::new();
    for c in children.as_array().unwrap() {
        assert_eq!(c["type"], "Datacenter");
        let r = ts
            .call(
                Method::GET,
                &format!("{sdk}/Datacenter/{}/name", c["value"].as_str().unwrap()),
                Some(&token),
                None,
            )
            .await;
        names.push(r.json::<Value>().await.unwrap());
    }
    names.sort_by_key(ToString::to_string);
    assert_eq!(names, [json!("Zone (B) 区"), json!("zone-a")]);

    // ---- DeleteHost through the SDK, then DeleteZone removes the rest.
    let (s, v) = zc
        .sdk(
            DELETE,
            &format!("/zstack/v1/hosts/{h1}?deleteMode=Permissive"),
            None,
        )
        .await;
    assert_eq!((s, &v), (200, &json!({})), "{v}");
    assert_eq!(
        uuids(&zc.inventories("/zstack/v1/hosts").await),
        [h0.as_str()]
    );
    // ---- DeleteZone removes its clusters and hosts; an unknown zone is deleted already.
    let (s, v) = zc
        .sdk(DELETE, &format!("/zstack/v1/zones/{za}"), None)
        .await;
    assert_eq!((s, &v), (200, &json!({})), "{v}");
    assert!(zc.inventories("/zstack/v1/hosts").await.is_empty());
    assert!(zc.inventories("/zstack/v1/clusters").await.is_empty());
    assert!(zc.inventories("/zstack/v1/vm-instances").await.is_empty());
    assert_eq!(
        uuids(&zc.inventories("/zstack/v1/zones").await),
        [zb.as_str()]
    );
    // The hosts were released: another add of the same agent succeeds at once.
    let (s, v) = zc
        .sdk(
            DELETE,
            "/zstack/v1/zones/0123456789abcdef0123456789abcdef",
            None,
        )
        .await;
    assert_eq!((s, &v), (200, &json!({})));
    let (s, v) = zc
        .sdk(
            POST,
            "/zstack/v1/clusters",
            Some(json!({"params": {"zoneUuid": zb, "name": "db", "hypervisorType": "KVM"}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let cb = v["inventory"]["uuid"].as_str().unwrap().to_string();
    let (s, v) = zc
        .sdk(
            POST,
            "/zstack/v1/hosts/kvm",
            Some(
                json!({"params": {"name": "again", "managementIp": ip(0), "clusterUuid": cb,
                                   "username": "root", "password": ROOT_PW}}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = zc
        .sdk(DELETE, &format!("/zstack/v1/clusters/{cb}"), None)
        .await;
    assert_eq!((s, &v), (200, &json!({})), "{v}");
    assert!(zc.inventories("/zstack/v1/hosts").await.is_empty());
    ts.stop().await;
}

/// Runs one of seeds/004's curl commands through a shell, as an operator would paste it.
fn curl(cmd: &str) -> Value {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .unwrap();
    assert!(out.status.success(), "{cmd}: {out:?}");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{cmd}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Polls a job as the SDK would, until it ends.
async fn job(location: &str) -> (u16, Value) {
    let c = client();
    for _ in 0..600 {
        let r = c.get(location).send().await.unwrap();
        match r.status().as_u16() {
            202 => tokio::time::sleep(Duration::from_millis(50)).await,
            s => return (s, r.json().await.unwrap()),
        }
    }
    panic!("job did not end");
}

/// seeds/004's curl examples, verbatim but for the session id: the server listens on
/// 127.0.0.1:8080 (plain HTTP) and the agent is at 127.0.0.1, with the seed's credentials.
#[tokio::test]
async fn seed_curl_examples_run_verbatim() {
    use ferrocenter_agent::driver::sim::SimOptions;
    use ferrocenter_agent::simulate::{start_fleet, SimulateOptions};
    let fleet = start_fleet(SimulateOptions {
        hosts: 1,
        vms_per_host: 2,
        address_base: std::net::Ipv4Addr::new(127, 0, 0, 1),
        port: 0,
        root_user: "userName".into(),
        root_password: "password".into(),
        seed: 4,
        control: "127.0.0.1:0".parse().unwrap(),
        sim: SimOptions::default(),
        peer_timeout: Duration::from_secs(5),
    })
    .await
    .unwrap();
    let agent_port = fleet.manifest.hosts[0].port.to_string();
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let appliance = format!("127.0.0.1:{}", free_port());
    let mut p = spawn_server(
        &dir.path().join("d"),
        &[
            "--listen",
            &listen,
            "--appliance-listen",
            &appliance,
            "--http-listen",
            "127.0.0.1:8080",
            "--admin-password",
            PASSWORD,
            "--agent-port",
            &agent_port,
        ],
    );
    p.wait_stdout("thumbprint", Duration::from_secs(60));
    let base = "http://localhost:8080";
    let zc = ZsClient::new(client(), base, "admin", PASSWORD).await;
    // The seed's cluster uuid, made with resourceUuid so the example's body works as written.
    let (s, v) = zc
        .sdk(
            POST,
            "/zstack/v1/zones",
            Some(json!({"params": {"name": "zone"}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = zc
        .sdk(
            POST,
            "/zstack/v1/clusters",
            Some(
                json!({"params": {"zoneUuid": v["inventory"]["uuid"], "name": "cluster",
                                   "hypervisorType": "KVM",
                                   "resourceUuid": "9adf394ca46432afb1218d220bf2925e"}}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let sid = &zc.session;

    // AddKVMHost, as printed in seeds/004 (the line continuations joined).
    let v = curl(&format!(
        r#"curl -H "Content-Type: application/json;charset=UTF-8" -H "Authorization: OAuth {sid}" -X POST -d '{{"params":{{"username":"userName","password":"password","sshPort":"22","name":"newHost","managementIp":"127.0.0.1","clusterUuid":"9adf394ca46432afb1218d220bf2925e"}}}}' http://localhost:8080/zstack/v1/hosts/kvm"#
    ));
    let location = v["location"].as_str().expect("a job location").to_string();
    assert!(v["apiTimeout"].as_u64().unwrap() > 0);
    let (s, v) = job(&location).await;
    assert_eq!(s, 200, "{v}");
    let inv = &v["inventory"];
    assert_eq!(
        (
            &inv["name"],
            &inv["managementIp"],
            &inv["status"],
            &inv["sshPort"]
        ),
        (
            &json!("newHost"),
            &json!("127.0.0.1"),
            &json!("Connected"),
            &json!(22)
        )
    );
    for f in SEED_HOST_FIELDS {
        assert!(!inv[f].is_null(), "{f}: {inv}");
    }
    assert!(inv["totalMemoryCapacity"].as_u64().unwrap() > 0);
    assert!(inv.get("password").is_none());
    let uuid = inv["uuid"].as_str().unwrap().to_string();

    // QueryHost, both forms: the seed's own uuids find nothing (a 200 with an empty list), the
    // added host's uuid finds it.
    let v = curl(&format!(
        r#"curl -H "Content-Type: application/json;charset=UTF-8" -H "Authorization: OAuth {sid}" -X GET http://localhost:8080/zstack/v1/hosts?q=uuid=66547f0fc9fd45d98f6b8482488f2993"#
    ));
    assert_eq!(v["inventories"], json!([]));
    let v = curl(&format!(
        r#"curl -H "Content-Type: application/json;charset=UTF-8" -H "Authorization: OAuth {sid}" -X GET http://localhost:8080/zstack/v1/hosts/bb582f21cfad4f61a2ab1ec062131b4a"#
    ));
    assert_eq!(v["inventories"], json!([]));
    let v = curl(&format!(
        r#"curl -H "Content-Type: application/json;charset=UTF-8" -H "Authorization: OAuth {sid}" -X GET http://localhost:8080/zstack/v1/hosts?q=uuid={uuid}"#
    ));
    assert_eq!(v["inventories"][0]["uuid"], json!(uuid));
    let v = curl(&format!(
        r#"curl -H "Content-Type: application/json;charset=UTF-8" -H "Authorization: OAuth {sid}" -X GET http://localhost:8080/zstack/v1/hosts/{uuid}"#
    ));
    assert_eq!(v["inventories"][0]["name"], "newHost");

    // DeleteHost with deleteMode=Permissive: the seed's uuid (unknown: success), then the host.
    for target in ["bb2e5125ac2c4b3680463d7aeaf57773", uuid.as_str()] {
        let v = curl(&format!(
            r#"curl -H "Content-Type: application/json;charset=UTF-8" -H "Authorization: OAuth {sid}" -X DELETE http://localhost:8080/zstack/v1/hosts/{target}?deleteMode=Permissive"#
        ));
        let (s, v) = job(v["location"].as_str().unwrap()).await;
        assert_eq!((s, v), (200, json!({})));
    }
    assert!(zc.inventories("/zstack/v1/hosts").await.is_empty());
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(0));
}
