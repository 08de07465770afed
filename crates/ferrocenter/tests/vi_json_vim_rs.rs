//! The `vim_rs` crate (a real VI/JSON client, JSON by default, HTTPS only) against the real
//! server and simulated agents: login, add a host, read HostSystem properties, enter
//! maintenance mode and wait for the task the way vim_rs does (ListView, PropertyCollector
//! filter, WaitForUpdatesEx), and log out.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::*;
use vim_rs::core::client::ClientBuilder;
use vim_rs::core::pc_retrieve::ObjectRetriever;
use vim_rs::core::tasks::TaskTracker;
use vim_rs::mo::cluster_compute_resource::ClusterComputeResource;
use vim_rs::mo::datacenter::Datacenter;
use vim_rs::mo::folder::Folder;
use vim_rs::mo::host_system::HostSystem;
use vim_rs::mo::task::Task;
use vim_rs::types::enums::{HostSystemConnectionStateEnum, TaskInfoStateEnum};
use vim_rs::types::structs::{ClusterConfigSpecEx, HostConnectSpec};
use vim_rs::vim_retrievable;

vim_retrievable!(
    struct HostRow: HostSystem {
        name = "name",
        connection = "runtime.connection_state",
        in_maintenance = "runtime.in_maintenance_mode",
        thumbprint = "summary.config.ssl_thumbprint",
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vim_rs_adds_a_host_and_enters_maintenance() {
    let fleet = sim_fleet(1, 2, 3, 5).await;
    let ts = TestServer::start().await;
    let addr = ts.server.as_ref().unwrap().addrs.api;
    let client = ClientBuilder::new(&format!("127.0.0.1:{}", addr.port()))
        .insecure(true)
        .api_release("9.0.0.0")
        .basic_authn(ADMIN, PASSWORD)
        .app_details("ferrocenter-tests", "0")
        .build()
        .await
        .expect("vim_rs logs in");
    let content = client.service_content();
    assert_eq!(content.about.api_type, "VirtualCenter");

    let root = Folder::new(client.clone(), &content.root_folder.value);
    let dc = root.create_datacenter("DC0").await.unwrap();
    let host_folder = Datacenter::new(client.clone(), &dc.value)
        .host_folder()
        .await
        .unwrap();
    let spec: ClusterConfigSpecEx = miniserde::json::from_str(
        r#"{"_typeName":"ClusterConfigSpecEx","drsConfig":{"_typeName":"ClusterDrsConfigInfo","enabled":true,"defaultVmBehavior":"manual"}}"#,
    )
    .unwrap();
    let cluster = Folder::new(client.clone(), &host_folder.value)
        .create_cluster_ex("C0", &spec)
        .await
        .unwrap();

    let h = &fleet.manifest.hosts[0];
    let cnx = HostConnectSpec {
        host_name: Some(h.address.clone()),
        port: Some(h.port as i32),
        ssl_thumbprint: Some(h.thumbprint.clone()),
        ssl_certificate: None,
        user_name: Some("root".into()),
        password: Some(ROOT_PW.into()),
        vm_folder: None,
        force: false,
        vim_account_name: None,
        vim_account_password: None,
        management_ip: None,
        lockdown_mode: None,
        host_gateway: None,
    };
    let task = ClusterComputeResource::new(client.clone(), &cluster.value)
        .add_host_task(&cnx, true, None, None)
        .await
        .unwrap();
    let tracker = TaskTracker::new(client.clone());
    let result = tokio::time::timeout(Duration::from_secs(60), tracker.wait_any(task.clone()))
        .await
        .expect("the add finishes")
        .expect("the add succeeds");
    let info = Task::new(client.clone(), &task.value).info().await.unwrap();
    assert_eq!(info.state, TaskInfoStateEnum::Success);
    assert!(result.is_some(), "AddHost_Task answers the new host");
    let host_id = format!("{:?}", info.result.unwrap());
    let host_id = host_id
        .split('"')
        .find(|s| s.starts_with("host-"))
        .expect("a HostSystem moId in the result")
        .to_string();

    // HostSystem properties decode into vim_rs's typed structs.
    let host = HostSystem::new(client.clone(), &host_id);
    assert_eq!(host.name().await.unwrap(), h.address);
    let runtime = host.runtime().await.unwrap();
    assert_eq!(
        runtime.connection_state,
        HostSystemConnectionStateEnum::Connected
    );
    assert!(!runtime.in_maintenance_mode);
    let summary = host.summary().await.unwrap();
    assert_eq!(
        summary.config.ssl_thumbprint.as_deref(),
        Some(h.thumbprint.as_str())
    );
    assert!(summary.hardware.unwrap().memory_size > 0);
    assert!(host.hardware().await.unwrap().unwrap().memory_size > 0);
    assert!(host.config().await.unwrap().is_some());
    assert!(host.retrieve_hardware_uptime().await.unwrap() >= 0);
    assert_eq!(host.vm().await.unwrap().unwrap_or_default().len(), 2);

    // vim_rs's retriever: a ContainerView over the inventory, then RetrievePropertiesEx.
    let retriever = ObjectRetriever::new(client.clone()).unwrap();
    let rows: Vec<HostRow> = retriever
        .retrieve_objects_from_container(&content.root_folder)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].name, h.address);
    assert_eq!(rows[0].connection, HostSystemConnectionStateEnum::Connected);
    assert!(!rows[0].in_maintenance);
    assert_eq!(rows[0].thumbprint.as_deref(), Some(h.thumbprint.as_str()));

    // Maintenance in a manual cluster completes once the VMs are off.
    for v in fleet.agent(0).vms() {
        let _ = fleet
            .agent(0)
            .power(&v.uuid, ferrocenter_agent_client::wire::PowerAction::Off)
            .await;
    }
    let task = host
        .enter_maintenance_mode_task(0, None, None)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), tracker.wait_any(task.clone()))
        .await
        .expect("maintenance finishes")
        .expect("maintenance succeeds");
    assert!(host.runtime().await.unwrap().in_maintenance_mode);
    // A fault decodes as a typed MethodFault.
    let err = host
        .enter_maintenance_mode_task(0, None, None)
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("InvalidState"), "{err:?}");
    tracker.shutdown().await;
    client.close().await.unwrap();
    ts.stop().await;
}
