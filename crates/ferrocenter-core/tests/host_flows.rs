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
