//! The event log.
use std::sync::Arc;

use ferrocenter_core::inventory::{Event, EventFilter, EventScope};
use ferrocenter_core::ports::Store;

use crate::fixtures::{cluster, datacenter, event, host, vm};
use crate::Case;

pub(crate) const CASES: &[(&str, Case)] =
    crate::cases![events_append_and_filter, events_of_what_an_entity_holds];

async fn events_append_and_filter(s: Arc<dyn Store>) {
    let mut appended = Vec::new();
    for (kind, entity, ms) in [
        ("HostConnectedEvent", "h1", 1_000),
        ("HostDisconnectedEvent", "h1", 2_000),
        ("HostConnectedEvent", "h2", 3_000),
        ("HostConnectedEvent", "h1", 4_000),
        ("VmPoweredOnEvent", "v1", 5_000),
    ] {
        let e = event(kind, entity, ms);
        let got = s.append_event(&e).await.unwrap();
        assert_eq!(Event { seq: got.seq, ..e }, got);
        appended.push(got);
    }
    assert!(appended.windows(2).all(|w| w[0].seq < w[1].seq));
    let seqs = |v: Vec<Event>| v.into_iter().map(|e| e.seq).collect::<Vec<_>>();
    let seq = |i: usize| appended[i].seq;
    // Everything, oldest first, every field read back.
    assert_eq!(
        s.list_events(&EventFilter::default()).await.unwrap(),
        appended
    );
    let f = EventFilter {
        entity_id: Some("h1".into()),
        ..Default::default()
    };
    assert_eq!(
        seqs(s.list_events(&f).await.unwrap()),
        [seq(0), seq(1), seq(3)]
    );
    let f = EventFilter {
        kind: Some("HostConnectedEvent".into()),
        ..Default::default()
    };
    assert_eq!(
        seqs(s.list_events(&f).await.unwrap()),
        [seq(0), seq(2), seq(3)]
    );
    let f = EventFilter {
        after_seq: Some(seq(1)),
        ..Default::default()
    };
    assert_eq!(
        seqs(s.list_events(&f).await.unwrap()),
        [seq(2), seq(3), seq(4)]
    );
    let f = EventFilter {
        after_seq: Some(seq(0)),
        limit: Some(2),
        ..Default::default()
    };
    assert_eq!(seqs(s.list_events(&f).await.unwrap()), [seq(1), seq(2)]);
    let f = EventFilter {
        entity_id: Some("h1".into()),
        kind: Some("HostConnectedEvent".into()),
        after_seq: Some(seq(0)),
        limit: Some(10),
        ..Default::default()
    };
    assert_eq!(seqs(s.list_events(&f).await.unwrap()), [seq(3)]);
    let f = EventFilter {
        after_seq: Some(seq(4)),
        ..Default::default()
    };
    assert!(s.list_events(&f).await.unwrap().is_empty());
    // Concurrent appends each get their own seq.
    let mut handles = Vec::new();
    for i in 0..20 {
        let s = s.clone();
        handles.push(tokio::spawn(async move {
            s.append_event(&event("Busy", "x", i)).await.unwrap().seq
        }));
    }
    let mut got = Vec::new();
    for h in handles {
        got.push(h.await.unwrap());
    }
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 20);
    assert!(got[0] > seq(4));
}

/// A cluster's events with its contents are its own, its hosts' and their VMs'; not another
/// cluster's; a datacenter's take in everything placed in it.
async fn events_of_what_an_entity_holds(s: Arc<dyn Store>) {
    s.insert_datacenter(&datacenter("dc", "datacenter-1", "DC"))
        .await
        .unwrap();
    for (id, name) in [("c1", "C1"), ("c2", "C2")] {
        s.insert_cluster(&cluster(id, &format!("domain-{id}"), "dc", name))
            .await
            .unwrap();
    }
    for (id, c) in [("h1", "c1"), ("h2", "c2")] {
        let mut h = host(id, &format!("host-{id}"), "dc", &format!("{id}.example"));
        h.cluster_id = Some(c.into());
        s.insert_host(&h).await.unwrap();
    }
    s.insert_vm(&vm("v1", "vm-1", "h1", "u1", "one"))
        .await
        .unwrap();
    s.insert_vm(&vm("v2", "vm-2", "h2", "u2", "two"))
        .await
        .unwrap();
    for (i, entity) in ["c1", "h1", "v1", "c2", "h2", "v2", "dc"]
        .iter()
        .enumerate()
    {
        s.append_event(&event("E", entity, i as i64)).await.unwrap();
    }
    let entities = |id: &str, scope| {
        let s = s.clone();
        let f = EventFilter {
            entity_id: Some(id.into()),
            scope,
            ..Default::default()
        };
        async move {
            s.list_events(&f)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.entity_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(entities("c1", EventScope::Entity).await, ["c1"]);
    assert_eq!(
        entities("c1", EventScope::WithContents).await,
        ["c1", "h1", "v1"]
    );
    assert_eq!(entities("h2", EventScope::WithContents).await, ["h2", "v2"]);
    assert_eq!(entities("dc", EventScope::WithContents).await.len(), 7);
}
