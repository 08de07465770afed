//! An add's registration of a host in one transaction.
use std::sync::Arc;

use ferrocenter_core::hosts::ClaimIntent;
use ferrocenter_core::inventory::query::TagKind;
use ferrocenter_core::ports::{HostRegistration, Store};

use crate::fixtures::{at, conflict, datacenter, datastore, host, network, vm};
use crate::Case;

pub(crate) const CASES: &[(&str, Case)] = crate::cases![
    a_registration_writes_everything_at_once,
    a_failed_registration_leaves_nothing,
    sequence_blocks_are_reserved_together
];

fn intent(id: &str) -> ClaimIntent {
    ClaimIntent {
        id: id.into(),
        task_id: None,
        address: "10.0.0.9".into(),
        port: 443,
        thumbprint: "AB:CD".into(),
        agent_user: "root".into(),
        agent_secret: "00aa".into(),
        created_at: at(1_700_000_000_000),
    }
}

fn registration(id: &str, moid: &str, address: &str) -> HostRegistration {
    let mut h = host(id, moid, "dc1", address);
    h.name = format!("{id}.example");
    h.system_tags = vec!["sshHostKey::abc".into()];
    h.tags = vec!["rack-1".into(), "gpu".into()];
    HostRegistration {
        host: h,
        datastores: vec![
            datastore(
                &format!("{id}-ds"),
                &format!("datastore-{id}"),
                "dc1",
                "shared",
                7,
            ),
            datastore(
                &format!("{id}-local"),
                &format!("datastore-{id}-l"),
                "dc1",
                &format!("local-{id}"),
                3,
            ),
        ],
        networks: vec![network(
            &format!("{id}-n"),
            &format!("network-{id}"),
            "dc1",
            "br0",
            Some(10),
        )],
        new_vms: (0..3)
            .map(|i| {
                vm(
                    &format!("{id}-v{i}"),
                    &format!("vm-{id}-{i}"),
                    id,
                    &format!("{id}-u{i}"),
                    &format!("vm{i}"),
                )
            })
            .collect(),
        moved_vms: Vec::new(),
        claim_intent_id: Some(format!("{id}-intent")),
    }
}

async fn a_registration_writes_everything_at_once(s: Arc<dyn Store>) {
    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "DC"))
        .await
        .unwrap();
    s.put_claim_intent(&intent("h1-intent")).await.unwrap();
    let first = registration("h1", "host-1", "10.0.0.1");
    s.register_host(&first).await.unwrap();
    assert_eq!(s.get_host("h1").await.unwrap(), Some(first.host.clone()));
    assert_eq!(
        s.tags_of("h1", TagKind::User).await.unwrap(),
        ["gpu", "rack-1"]
    );
    assert_eq!(
        s.tags_of("h1", TagKind::System).await.unwrap(),
        ["sshHostKey::abc"]
    );
    let names = |v: Vec<ferrocenter_core::inventory::Datastore>| {
        v.into_iter().map(|d| d.name).collect::<Vec<_>>()
    };
    assert_eq!(
        names(s.datastores_of_host("h1").await.unwrap()),
        ["local-h1", "shared"]
    );
    assert_eq!(s.networks_of_host("h1").await.unwrap().len(), 1);
    let vms = s.list_vms(Some("h1")).await.unwrap();
    assert_eq!(vms, first.new_vms);
    assert!(s.list_claim_intents().await.unwrap().is_empty());

    // A second host sees the shared datastore and network as they are (the upsert keeps
    // the first id) and takes a VM of the first host with it.
    let mut second = registration("h2", "host-2", "10.0.0.2");
    second.claim_intent_id = None;
    let mut moved = vms[0].clone();
    moved.host_id = "h2".into();
    moved.power_state = "poweredOn".into();
    second.moved_vms = vec![moved.clone()];
    s.register_host(&second).await.unwrap();
    let shared = s.datastores_of_host("h2").await.unwrap();
    assert!(shared.iter().any(|d| d.id == "h1-ds"), "{shared:?}");
    assert_eq!(s.list_datastores(None).await.unwrap().len(), 3);
    assert_eq!(s.networks_of_host("h2").await.unwrap()[0].id, "h1-n");
    assert_eq!(s.get_vm(&moved.id).await.unwrap(), Some(moved));
    assert_eq!(s.list_vms(Some("h1")).await.unwrap().len(), 2);
    assert_eq!(s.list_vms(Some("h2")).await.unwrap().len(), 4);
    assert_eq!(s.powered_on_usage(&["h2".into()]).await.unwrap().len(), 1);
}

async fn a_failed_registration_leaves_nothing(s: Arc<dyn Store>) {
    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "DC"))
        .await
        .unwrap();
    s.register_host(&registration("h1", "host-1", "10.0.0.1"))
        .await
        .unwrap();
    s.put_claim_intent(&intent("h2-intent")).await.unwrap();
    // Its last VM's instance uuid is taken: the host, its tags, links and other VMs go too,
    // and the claim intent stays.
    let mut clash = registration("h2", "host-2", "10.0.0.2");
    clash.new_vms[2].instance_uuid = "h1-u0".into();
    conflict(s.register_host(&clash).await);
    assert_eq!(s.get_host("h2").await.unwrap(), None);
    assert!(s.tags_of("h2", TagKind::User).await.unwrap().is_empty());
    assert!(s.datastores_of_host("h2").await.unwrap().is_empty());
    assert!(s.networks_of_host("h2").await.unwrap().is_empty());
    assert!(s.list_vms(Some("h2")).await.unwrap().is_empty());
    assert_eq!(s.list_datastores(None).await.unwrap().len(), 2);
    assert_eq!(s.list_claim_intents().await.unwrap().len(), 1);
    // A moved VM that is gone fails the registration as well.
    let mut gone = registration("h3", "host-3", "10.0.0.3");
    gone.claim_intent_id = None;
    let mut ghost = vm("nowhere", "vm-99", "h3", "u-ghost", "ghost");
    ghost.host_id = "h3".into();
    gone.moved_vms = vec![ghost];
    assert!(s.register_host(&gone).await.is_err());
    assert_eq!(s.get_host("h3").await.unwrap(), None);
    assert!(s.list_vms(Some("h3")).await.unwrap().is_empty());
    // The name of the first host is taken in its datacenter.
    let mut same_name = registration("h4", "host-4", "10.0.0.4");
    same_name.host.name = "h1.example".into();
    conflict(s.register_host(&same_name).await);
    assert_eq!(s.get_host("h4").await.unwrap(), None);
}

async fn sequence_blocks_are_reserved_together(s: Arc<dyn Store>) {
    assert_eq!(s.next_sequence("host").await.unwrap(), 1);
    let firsts = s
        .reserve_sequences(&[("host", 1), ("datastore", 0), ("vm", 10), ("network", 2)])
        .await
        .unwrap();
    assert_eq!(firsts[0], 2);
    assert_eq!(firsts[2], 1);
    assert_eq!(firsts[3], 1);
    // The empty block reserved nothing.
    assert_eq!(s.next_sequence("datastore").await.unwrap(), 1);
    assert_eq!(s.next_sequence("vm").await.unwrap(), 11);
    assert_eq!(s.next_sequence("network").await.unwrap(), 3);
}
