//! A host rebooted in maintenance mode is not responding until heartbeats reconnect it, and it
//! cannot leave maintenance mode before then (the CLI test once saw a host let out while not
//! responding flap back to not responding). Heartbeats are driven by hand, round by round.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::{add, cluster, env, finish, spec};
use ferrocenter_core::inventory::{AdminState, AutomationLevel, ConnectionState, Host, HostState};
use ferrocenter_core::CoreError;

async fn host(e: &common::Env, id: &str) -> Host {
    e.core.store.get_host(id).await.unwrap().unwrap()
}

fn refused_as_not_connected(r: Result<impl std::fmt::Debug, CoreError>, name: &str) {
    match r {
        Err(CoreError::InvalidState { message }) => assert!(
            message.contains(name) && message.contains("notResponding"),
            "the refusal names the host and its connection state: {message}"
        ),
        other => panic!("exit from maintenance while not responding: {other:?}"),
    }
}

#[tokio::test]
async fn a_rebooted_host_leaves_maintenance_only_once_reconnected() {
    let e = env(1, 0, 9).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let id = add(&e, spec(&e, 0, &c)).await.unwrap();
    let t = e
        .core
        .enter_maintenance(&e.admin, &id, 0, false)
        .await
        .unwrap();
    finish(&e.core, t).await.unwrap();
    let t = e.core.host_power(&e.admin, &id, true, false).await.unwrap();
    finish(&e.core, t).await.unwrap();
    let h = host(&e, &id).await;
    assert_eq!(
        (h.connection_state, h.state),
        (ConnectionState::NotResponding, HostState::Maintenance)
    );

    // Not responding: refused by every way out of maintenance (vim's and ZStack's), with
    // nothing changed.
    refused_as_not_connected(e.core.exit_maintenance(&e.admin, &id, 0).await, &h.name);
    refused_as_not_connected(
        e.core
            .change_host_state(&e.admin, &id, AdminState::Enabled)
            .await
            .map(|_| ()),
        &h.name,
    );
    let after = host(&e, &id).await;
    assert_eq!(
        (after.connection_state, after.state),
        (ConnectionState::NotResponding, HostState::Maintenance)
    );

    // Heartbeats reconnect it once the simulated reboot is over.
    let mut rounds = 0;
    while host(&e, &id).await.connection_state != ConnectionState::Connected {
        assert!(rounds < 100, "the rebooted host was never reconnected");
        tokio::time::sleep(Duration::from_millis(200)).await;
        e.core.heartbeat_round().await;
        rounds += 1;
    }
    assert_eq!(host(&e, &id).await.state, HostState::Maintenance);

    let t = e.core.exit_maintenance(&e.admin, &id, 0).await.unwrap();
    finish(&e.core, t).await.unwrap();
    assert!(!e.fleet.agent(0).runtime().in_maintenance);
    // Out of maintenance it stays connected, heartbeat after heartbeat.
    for _ in 0..5 {
        e.core.heartbeat_round().await;
        let h = host(&e, &id).await;
        assert_eq!(
            (h.connection_state, h.state),
            (ConnectionState::Connected, HostState::Enabled)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
