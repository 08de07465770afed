//! A VM's identity is its instance uuid, not its BIOS uuid: two hosts reporting VMs with the
//! same BIOS uuid (a cloned VM) hold two VMs, each listed on every surface with the BIOS uuid
//! they share and an instance uuid of its own, as vSphere tells them apart.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::vim::{call, BASE};
use common::zstack::ZsClient;
use common::*;
use ferrocenter_agent_client::wire::VmSpec;
use reqwest::Method;
use serde_json::Value;

const BIOS_UUID: &str = "4c4c4544-0035-4210-8031-b4c04f4e4e31";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vms_sharing_a_bios_uuid_on_two_hosts_are_two_vms_on_every_surface() {
    let fleet = sim_fleet(2, 0, 14, 61).await;
    for (i, name) in ["clone-a", "clone-b"].into_iter().enumerate() {
        fleet
            .agent(i)
            .create_vm(VmSpec {
                uuid: Some(BIOS_UUID.into()),
                instance_uuid: None,
                name: name.into(),
                vcpus: 1,
                memory_bytes: 1 << 30,
                guest_os_id: "debian12_64Guest".into(),
                disks: vec![],
                nics: vec![],
                power_on: true,
            })
            .await
            .unwrap();
    }
    let ts = TestServer::start().await;
    let dc = add_fleet_to_dc0(&ts, &fleet).await;
    let (core, _) = ts.core_admin().await;

    // vAPI: both listed; one BIOS uuid, two instance uuids.
    let token = ts.login(ADMIN).await;
    let listed: Value = ts
        .call(Method::GET, "/api/vcenter/vm", Some(&token), None)
        .await
        .json()
        .await
        .unwrap();
    let mut vms: Vec<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_string(),
                v["vm"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    vms.sort();
    let names: Vec<&str> = vms.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["clone-a", "clone-b"], "{listed}");
    let mut instance = Vec::new();
    for (_, moid) in &vms {
        let v: Value = ts
            .call(
                Method::GET,
                &format!("/api/vcenter/vm/{moid}"),
                Some(&token),
                None,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["identity"]["bios_uuid"], BIOS_UUID, "{v}");
        instance.push(v["identity"]["instance_uuid"].as_str().unwrap().to_string());
    }
    assert_ne!(instance[0], instance[1]);

    // VI/JSON: summary.config.uuid shared, summary.config.instanceUuid the VM's own; both in
    // the VM folder.
    for ((_, moid), inst) in vms.iter().zip(&instance) {
        let (s, summary) = call(
            &ts,
            Some(&token),
            Method::GET,
            &format!("VirtualMachine/{moid}/summary"),
            None,
        )
        .await;
        assert_eq!(s, 200, "{summary}");
        assert_eq!(summary["config"]["uuid"], BIOS_UUID);
        assert_eq!(summary["config"]["instanceUuid"], inst.as_str());
    }
    let (_, folder) = call(
        &ts,
        Some(&token),
        Method::GET,
        &format!("Datacenter/{}/vmFolder", dc.moid),
        None,
    )
    .await;
    let (_, children) = call(
        &ts,
        Some(&token),
        Method::GET,
        &format!("Folder/{}/childEntity", folder["value"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(children.as_array().unwrap().len(), 2, "{children} ({BASE})");

    // ZStack: two VM instances.
    let zc = ZsClient::new(ts.client.clone(), &ts.api(""), "admin", PASSWORD).await;
    let mut zs: Vec<String> = zc
        .inventories("/zstack/v1/vm-instances")
        .await
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect();
    zs.sort();
    assert_eq!(zs, ["clone-a", "clone-b"]);

    // A heartbeat's resync keeps them apart too.
    core.heartbeat_round().await;
    assert_eq!(core.store.list_vms(None).await.unwrap().len(), 2);
    ts.stop().await;
    fleet.stop().await;
}
