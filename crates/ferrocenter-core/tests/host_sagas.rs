//! The step-failure drill over the real entry points: each saga fails after every step in
//! turn and must leave nothing behind; then every step runs twice and the flow still succeeds.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::{add, cluster, env, finish, spec, Env};
use ferrocenter_core::hosts::{IfAlready, ReconnectSpec, ADD, ENTER_MAINTENANCE, RECONNECT};
use ferrocenter_core::inventory::{AutomationLevel, ConnectionState, HostFilter, HostState};
use ferrocenter_core::saga::Drill;

fn fail_after(i: usize) -> Drill {
    Drill {
        fail_after: Some(i),
        ..Drill::default()
    }
}

const TWICE: Drill = Drill {
    fail_after: None,
    twice: true,
    crash_after: None,
};

/// What a failed add left: host rows, VMs, datastore and network links, tags, a claim, the
/// service account, the cluster's architecture.
async fn left_by_add(e: &Env, cluster_id: &str, account: &str) -> Vec<String> {
    let store = &e.core.store;
    let mut left = Vec::new();
    let hosts = store.list_hosts(&HostFilter::default()).await.unwrap();
    for h in &hosts {
        left.push(format!("host row {}", h.id));
        if !store.datastores_of_host(&h.id).await.unwrap().is_empty() {
            left.push("datastore links".into());
        }
        if !store.networks_of_host(&h.id).await.unwrap().is_empty() {
            left.push("network links".into());
        }
    }
    let vms = store.list_vms(None).await.unwrap();
    if !vms.is_empty() {
        left.push(format!("{} VM rows", vms.len()));
    }
    let agent = e.fleet.agent(0);
    if agent.current_claim().is_some() {
        left.push("the claim on the agent".into());
    }
    if agent.has_account(account) {
        left.push(format!("service account {account} on the agent"));
    }
    if agent.runtime().lockdown != ferrocenter_agent_client::wire::LockdownMode::Disabled {
        left.push("lockdown on the agent".into());
    }
    let c = store.get_cluster(cluster_id).await.unwrap().unwrap();
    if c.architecture.is_some() {
        left.push("the cluster's architecture".into());
    }
    let intents = store.list_claim_intents().await.unwrap();
    if !intents.is_empty() {
        left.push(format!("{} claim intents", intents.len()));
    }
    left
}

#[tokio::test]
async fn add_undoes_every_step_and_runs_each_twice() {
    let e = env(1, 3, 2).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let account = format!("ferrocenter-{}", &e.core.server_uuid().await.unwrap()[..8]);
    let mut s = spec(&e, 0, &c);
    s.lockdown_mode = Some("lockdownNormal".into());
    s.tags = vec!["t1".into()];
    let names: Vec<_> = ADD.step_names().collect();
    assert!(names.len() >= 8, "{names:?}");
    for (i, step) in names.iter().enumerate() {
        e.core.drill(ADD.name, fail_after(i));
        let err = add(&e, s.clone()).await.unwrap_err();
        assert!(
            err.to_string().contains(&format!("after step {step}")),
            "{step}: {err}"
        );
        let left = left_by_add(&e, &c, &account).await;
        assert!(
            left.is_empty(),
            "host add: failing after step {step} left behind: {}",
            left.join("; ")
        );
    }
    e.core.drill(ADD.name, TWICE);
    let id = add(&e, s).await.expect("every step run twice");
    e.core.drill(ADD.name, Drill::default());
    let h = e.core.store.get_host(&id).await.unwrap().unwrap();
    assert_eq!(h.connection_state, ConnectionState::Connected);
    assert_eq!(e.core.store.list_vms(Some(&id)).await.unwrap().len(), 3);
    assert_eq!(
        e.core
            .store
            .list_hosts(&HostFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn reconnect_undoes_every_step_and_runs_each_twice() {
    let e = env(1, 2, 3).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let id = add(&e, spec(&e, 0, &c)).await.unwrap();
    let t = e
        .core
        .disconnect_host(&e.admin, &id, IfAlready::StartTask)
        .await
        .unwrap();
    finish(&e.core, t).await.unwrap();
    let before = e.core.store.get_host(&id).await.unwrap().unwrap();
    let renew = ReconnectSpec {
        user_name: Some("root".into()),
        password: Some(common::ROOT_PW.into()),
        ..ReconnectSpec::default()
    };
    for (i, step) in RECONNECT.step_names().enumerate() {
        e.core.drill(RECONNECT.name, fail_after(i));
        let t = e
            .core
            .reconnect_host(&e.admin, &id, renew.clone())
            .await
            .unwrap();
        let err = finish(&e.core, t).await.unwrap_err();
        assert!(
            err.to_string().contains("injected failure"),
            "{step}: {err}"
        );
        let now = e.core.store.get_host(&id).await.unwrap().unwrap();
        assert_eq!(
            now, before,
            "host reconnect: failing after step {step} changed the record"
        );
    }
    // The stored secret still opens the service account: a plain reconnect works.
    e.core.drill(RECONNECT.name, Drill::default());
    let t = e
        .core
        .reconnect_host(&e.admin, &id, ReconnectSpec::default())
        .await
        .unwrap();
    finish(&e.core, t)
        .await
        .expect("the service account's password was put back");
    let t = e
        .core
        .disconnect_host(&e.admin, &id, IfAlready::StartTask)
        .await
        .unwrap();
    finish(&e.core, t).await.unwrap();
    e.core.drill(RECONNECT.name, TWICE);
    let t = e.core.reconnect_host(&e.admin, &id, renew).await.unwrap();
    finish(&e.core, t).await.expect("every step run twice");
    let h = e.core.store.get_host(&id).await.unwrap().unwrap();
    assert_eq!(h.connection_state, ConnectionState::Connected);
}

#[tokio::test]
async fn enter_maintenance_undoes_every_step_and_runs_each_twice() {
    let e = env(2, 1, 4).await;
    let c = cluster(&e, AutomationLevel::FullyAutomated).await;
    let id = add(&e, spec(&e, 0, &c)).await.unwrap();
    add(&e, spec(&e, 1, &c)).await.unwrap();
    for (i, step) in ENTER_MAINTENANCE.step_names().enumerate() {
        e.core.drill(ENTER_MAINTENANCE.name, fail_after(i));
        let t = e
            .core
            .enter_maintenance(&e.admin, &id, 0, true)
            .await
            .unwrap();
        let err = finish(&e.core, t).await.unwrap_err();
        assert!(
            err.to_string().contains("injected failure"),
            "{step}: {err}"
        );
        let h = e.core.store.get_host(&id).await.unwrap().unwrap();
        assert_eq!(
            (h.state, h.previous_state),
            (HostState::Enabled, None),
            "host enter maintenance: failing after step {step}"
        );
        assert!(
            !e.fleet.agent(0).runtime().in_maintenance,
            "host enter maintenance: failing after step {step} left the agent in maintenance"
        );
    }
    e.core.drill(ENTER_MAINTENANCE.name, TWICE);
    let t = e
        .core
        .enter_maintenance(&e.admin, &id, 0, true)
        .await
        .unwrap();
    finish(&e.core, t).await.expect("every step run twice");
    let h = e.core.store.get_host(&id).await.unwrap().unwrap();
    assert_eq!(h.state, HostState::Maintenance);
    assert!(e.fleet.agent(0).runtime().in_maintenance);
}

/// A server killed during an add, after any step: the next start leaves the agent unclaimed
/// and the inventory without the host. Before the host record, what the store holds of the
/// claim is its intent (written before the claim, sealed credentials and all); from the host
/// record on, the record `connecting`, which the saga's own undos take back. Before either,
/// the record went and the claim stayed: another server needed `force`.
#[tokio::test]
async fn recovery_takes_back_an_add_cut_short_and_releases_its_claim() {
    let e = env(1, 2, 5).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let agent = e.fleet.agent(0);
    let names: Vec<_> = ADD.step_names().collect();
    let record = names.iter().position(|n| *n == "host record").unwrap();
    // The last step's end is a finished add.
    for (i, step) in names.iter().enumerate().take(names.len() - 1) {
        e.core.drill(
            ADD.name,
            Drill {
                crash_after: Some(i),
                ..Drill::default()
            },
        );
        let err = add(&e, spec(&e, 0, &c)).await.unwrap_err();
        assert!(err.to_string().contains("injected crash"), "{step}: {err}");
        let claimed = names.iter().position(|n| *n == "claim").unwrap();
        assert_eq!(
            agent.current_claim().is_some(),
            i >= claimed,
            "{step}: the crash left the claim from the claim step on"
        );
        let (removed, _) = e.core.recover_hosts().await.unwrap();
        assert_eq!(removed, usize::from(i >= record), "{step}");
        assert!(
            agent.current_claim().is_none(),
            "crash after step {step}: recovery left the agent claimed"
        );
        let hosts = e
            .core
            .store
            .list_hosts(&HostFilter::default())
            .await
            .unwrap();
        assert!(hosts.is_empty(), "{step}: {hosts:?}");
        let intents = e.core.store.list_claim_intents().await.unwrap();
        assert!(intents.is_empty(), "{step}: {intents:?}");
    }
    e.core.drill(ADD.name, Drill::default());

    // Another server (its own store, so its own identity) adds the host without force.
    let dir = tempfile::tempdir().unwrap();
    let store = ferrocenter_store::open(&format!("sqlite://{}", dir.path().join("b.db").display()))
        .await
        .unwrap();
    let other = ferrocenter_core::Core::new(
        store,
        std::sync::Arc::new(ferrocenter_core::ports::SystemClock),
        ferrocenter_core::CoreConfig::default(),
    );
    let dc = other.create_datacenter(&e.admin, "dc-b", "").await.unwrap();
    let mut s = spec(&e, 0, "");
    s.cluster_id = None;
    s.datacenter_id = Some(dc.id);
    let t = other.add_host(&e.admin, s).await.unwrap();
    finish(&other, t)
        .await
        .expect("a second server adds the host without force");
    assert_eq!(
        agent.current_claim().unwrap().server_uuid,
        other.server_uuid().await.unwrap()
    );
}

/// The claim intent holds the add's credentials sealed, never in the clear.
#[tokio::test]
async fn a_claim_intent_keeps_the_password_sealed() {
    let e = env(1, 0, 7).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let claim = ADD.step_names().position(|n| n == "claim").unwrap();
    e.core.drill(
        ADD.name,
        Drill {
            crash_after: Some(claim),
            ..Drill::default()
        },
    );
    add(&e, spec(&e, 0, &c)).await.unwrap_err();
    let intents = e.core.store.list_claim_intents().await.unwrap();
    assert_eq!(intents.len(), 1, "{intents:?}");
    let i = &intents[0];
    let h = &e.fleet.manifest.hosts[0];
    assert_eq!(
        (i.address.as_str(), i.port, i.agent_user.as_str()),
        (h.address.as_str(), h.port, "root")
    );
    assert!(i.task_id.is_some());
    assert!(!i.agent_secret.contains(common::ROOT_PW));
    assert!(
        !format!("{i:?}").contains(&i.agent_secret),
        "Debug hides it"
    );
}

/// An agent that does not answer when the server starts keeps its claim for the moment; the
/// intent stays, and a heartbeat round releases the claim once the agent answers.
#[tokio::test]
async fn a_claim_left_on_an_agent_that_is_away_is_released_when_it_answers() {
    let e = env(1, 0, 8).await;
    let c = cluster(&e, AutomationLevel::Manual).await;
    let agent = e.fleet.agent(0);
    let claim = ADD.step_names().position(|n| n == "claim").unwrap();
    e.core.drill(
        ADD.name,
        Drill {
            crash_after: Some(claim),
            ..Drill::default()
        },
    );
    add(&e, spec(&e, 0, &c)).await.unwrap_err();
    e.core.drill(ADD.name, Drill::default());
    agent
        .faults
        .stop_answering
        .store(true, std::sync::atomic::Ordering::SeqCst);
    e.core.recover_hosts().await.unwrap();
    assert!(agent.current_claim().is_some());
    assert_eq!(e.core.store.list_claim_intents().await.unwrap().len(), 1);
    agent.faults.clear();
    let mut rounds = 0;
    while agent.current_claim().is_some()
        || !e.core.store.list_claim_intents().await.unwrap().is_empty()
    {
        assert!(rounds < 200, "no heartbeat round released the claim");
        e.core.heartbeat_round().await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        rounds += 1;
    }
}
