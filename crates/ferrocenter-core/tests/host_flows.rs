//! Host flows through the core's Rust API, without the server's HTTP APIs: add, reconnect,
//! maintenance with evacuation, remove.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::{add, cluster, env, finish, spec};
use ferrocenter_core::hosts::{IfAlready, ReconnectSpec, RemoveMode};
use ferrocenter_core::inventory::{AutomationLevel, ConnectionState, HostState};
use ferrocenter_core::tasks::TaskResult;

#[tokio::test]
async fn add_reconnect_evacuate_and_remove() {
    let e = env(2, 2, 1).await;
    let c = cluster(&e, AutomationLevel::FullyAutomated).await;
    let h0 = add(&e, spec(&e, 0, &c)).await.unwrap();
    let h1 = add(&e, spec(&e, 1, &c)).await.unwrap();
    let store = &e.core.store;
    let host = store.get_host(&h0).await.unwrap().unwrap();
    assert_eq!(host.connection_state, ConnectionState::Connected);
    assert_eq!(store.list_vms(Some(&h0)).await.unwrap().len(), 2);
    assert!(e.fleet.agent(0).has_account(&host.agent_user));
    assert!(e.fleet.agent(0).current_claim().is_some());

    // Reconnect, renewing the service account with root's credentials.
    let t = e
        .core
        .disconnect_host(&e.admin, &h0, IfAlready::StartTask)
        .await
        .unwrap();
    finish(&e.core, t).await.unwrap();
    let t = e
        .core
        .reconnect_host(
            &e.admin,
            &h0,
            ReconnectSpec {
                user_name: Some("root".into()),
                password: Some(common::ROOT_PW.into()),
                ..ReconnectSpec::default()
            },
        )
        .await
        .unwrap();
    finish(&e.core, t).await.unwrap();
    let after = store.get_host(&h0).await.unwrap().unwrap();
    assert_eq!(after.connection_state, ConnectionState::Connected);
    assert_eq!(
        (after.id.as_str(), after.moid.as_str()),
        (host.id.as_str(), host.moid.as_str())
    );
    assert_ne!(
        after.agent_secret, host.agent_secret,
        "the password was renewed"
    );

    // Maintenance in a fullyAutomated cluster moves the VMs to the other host.
    let t = e
        .core
        .enter_maintenance(&e.admin, &h0, 0, false)
        .await
        .unwrap();
    let r = finish(&e.core, t).await.unwrap();
    assert!(
        matches!(r, Some(TaskResult::HostInMaintenance { migrated: 2, .. })),
        "{r:?}"
    );
    let host = store.get_host(&h0).await.unwrap().unwrap();
    assert_eq!(host.state, HostState::Maintenance);
    assert!(e.fleet.agent(0).runtime().in_maintenance);
    assert_eq!(store.list_vms(Some(&h0)).await.unwrap().len(), 0);
    assert_eq!(store.list_vms(Some(&h1)).await.unwrap().len(), 4);

    // Remove: the record goes and the host is free for another server.
    let t = e
        .core
        .remove_host(&e.admin, &h0, RemoveMode::Permissive)
        .await
        .unwrap();
    finish(&e.core, t).await.unwrap();
    assert!(store.get_host(&h0).await.unwrap().is_none());
    assert!(e.fleet.agent(0).current_claim().is_none());
}

/// vCenter refuses to remove a host while a VM migrates from it or to it (InvalidState); so
/// does the core, and the host goes once the migration has ended. The destination's agent
/// answers slowly (the fleet's slowness fault), so the migration is still under way when the
/// removals are asked for: the source shows the VM migrating until the destination commits.
#[tokio::test]
async fn a_host_a_migration_leaves_or_reaches_is_not_removed() {
    let e = env(2, 1, 6).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let h0 = add(&e, spec(&e, 0, &c)).await.unwrap();
    let h1 = add(&e, spec(&e, 1, &c)).await.unwrap();
    let store = &e.core.store;
    let vm = store.list_vms(Some(&h0)).await.unwrap().remove(0);
    e.fleet
        .agent(1)
        .faults
        .slow_ms
        .store(3000, std::sync::atomic::Ordering::SeqCst);
    let migration = e.core.migrate_vm(&e.admin, &vm.id, &h1).await.unwrap();
    let source = e.fleet.agent(0);
    let mut waited = 0;
    while !source
        .vms()
        .iter()
        .any(|v| v.uuid == vm.uuid && v.migrating_to.is_some())
    {
        assert!(waited < 600, "the migration never started");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    for (host, way) in [(&h1, "to"), (&h0, "from")] {
        let t = e
            .core
            .remove_host(&e.admin, host, RemoveMode::Permissive)
            .await
            .unwrap();
        let err = finish(&e.core, t).await.unwrap_err();
        assert!(
            matches!(&err, ferrocenter_core::CoreError::InvalidState { message }
                if message.contains(&format!("VM {} is migrating {way} it", vm.name))),
            "removing the host the VM migrates {way}: {err:?}"
        );
        assert!(store.get_host(host).await.unwrap().is_some());
    }
    e.fleet.agent(1).faults.clear();
    finish(&e.core, migration)
        .await
        .expect("the migration ends well");
    assert_eq!(
        store.get_vm(&vm.id).await.unwrap().unwrap().host_id,
        h1,
        "the VM is recorded on its destination"
    );
    assert_eq!(e.fleet.agent(1).vms().len(), 2);
    // With the migration over, the host goes.
    let t = e
        .core
        .remove_host(&e.admin, &h1, RemoveMode::Permissive)
        .await
        .unwrap();
    finish(&e.core, t).await.unwrap();
    assert!(store.get_host(&h1).await.unwrap().is_none());
    assert!(e.fleet.agent(1).current_claim().is_none());
}
