//! ZStack-style queries (conditions, sort, paging, counting) on hosts, zones, clusters and VMs.
use std::sync::Arc;

use ferrocenter_core::inventory::query::{
    ClusterField, Condition, Counting, DatacenterField, HostField, ListQuery, QueryOp, QueryValue,
    TagKind, VmField,
};
use ferrocenter_core::inventory::{AdminState, ConnectionState, HostState};
use ferrocenter_core::ports::Store;

use crate::fixtures::{at, cluster, datacenter, host, vm};
use crate::Case;

pub(crate) const CASES: &[(&str, Case)] = crate::cases![
    host_queries_filter_sort_page_and_count,
    zone_cluster_and_vm_queries,
];

fn lq<F>(conditions: Vec<Condition<F>>) -> ListQuery<F> {
    ListQuery {
        conditions,
        ..Default::default()
    }
}

fn qc<F: Copy>(f: F, op: QueryOp, v: Vec<QueryValue>) -> Condition<F> {
    Condition::new(f, op, v, "q").unwrap()
}

async fn host_queries_filter_sort_page_and_count(s: Arc<dyn Store>) {
    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "Zone-A"))
        .await
        .unwrap();
    s.insert_datacenter(&datacenter("dc2", "datacenter-2", "Zone-B"))
        .await
        .unwrap();
    s.insert_cluster(&cluster("c1", "domain-c1", "dc1", "web"))
        .await
        .unwrap();
    // Five hosts: names, states, connection states, creation times and a description that is
    // empty on some.
    let rows = [
        (
            "h1",
            "host-1",
            "dc1",
            Some("c1"),
            "esx-01",
            ConnectionState::Connected,
            HostState::Enabled,
            100,
        ),
        (
            "h2",
            "host-2",
            "dc1",
            Some("c1"),
            "ESX-02",
            ConnectionState::NotResponding,
            HostState::Disabled,
            200,
        ),
        (
            "h3",
            "host-3",
            "dc1",
            None,
            "kvm-03",
            ConnectionState::Connecting,
            HostState::Maintenance,
            300,
        ),
        (
            "h4",
            "host-4",
            "dc2",
            None,
            "kvm-04",
            ConnectionState::Disconnected,
            HostState::Enabled,
            400,
        ),
        (
            "h10",
            "host-10",
            "dc2",
            None,
            "kvm-10",
            ConnectionState::Connected,
            HostState::Enabled,
            500,
        ),
    ];
    for (i, (id, moid, dc, cl, name, conn, state, created)) in rows.into_iter().enumerate() {
        let mut h = host(id, moid, dc, &format!("10.0.0.{}", i + 1));
        h.cluster_id = cl.map(String::from);
        h.name = name.into();
        h.connection_state = conn;
        h.state = state;
        h.created_at = at(created);
        h.description = if i % 2 == 0 {
            "rack".into()
        } else {
            String::new()
        };
        s.insert_host(&h).await.unwrap();
    }
    let t = |v: &str| QueryValue::Text(v.into());
    let cond = |f, op, vals: Vec<QueryValue>| Condition::new(f, op, vals, "q").unwrap();
    let ids = |conds: Vec<Condition<HostField>>| {
        let s = s.clone();
        async move {
            let q = ListQuery {
                conditions: conds,
                ..Default::default()
            };
            s.query_hosts(&q)
                .await
                .unwrap()
                .rows
                .into_iter()
                .map(|h| h.id)
                .collect::<Vec<_>>()
        }
    };
    use HostField as F;
    use QueryOp as O;
    assert_eq!(
        ids(vec![]).await,
        ["h1", "h2", "h3", "h4", "h10"],
        "moId order"
    );
    assert_eq!(
        ids(vec![cond(F::Name, O::Eq, vec![t("kvm-03")])]).await,
        ["h3"]
    );
    assert_eq!(
        ids(vec![cond(F::DatacenterId, O::Ne, vec![t("dc1")])]).await,
        ["h4", "h10"]
    );
    let ms = QueryValue::Int;
    assert_eq!(
        ids(vec![cond(F::CreatedAt, O::Ge, vec![ms(300)])]).await,
        ["h3", "h4", "h10"]
    );
    assert_eq!(
        ids(vec![cond(F::CreatedAt, O::Le, vec![ms(200)])]).await,
        ["h1", "h2"]
    );
    assert_eq!(
        ids(vec![cond(F::CreatedAt, O::Gt, vec![ms(400)])]).await,
        ["h10"]
    );
    assert_eq!(
        ids(vec![cond(F::CreatedAt, O::Lt, vec![ms(200)])]).await,
        ["h1"]
    );
    assert_eq!(
        ids(vec![cond(
            F::State,
            O::In,
            vec![t("Disabled"), t("Maintenance")]
        )])
        .await,
        ["h2", "h3"]
    );
    assert_eq!(
        ids(vec![cond(F::State, O::NotIn, vec![t("Enabled")])]).await,
        ["h2", "h3"]
    );
    // LIKE is case-insensitive and takes SQL patterns as given.
    assert_eq!(
        ids(vec![cond(F::Name, O::Like, vec![t("esx%")])]).await,
        ["h1", "h2"]
    );
    assert_eq!(
        ids(vec![cond(F::Name, O::NotLike, vec![t("%0_")])]).await,
        ["h10"]
    );
    // Status folds notResponding into Disconnected.
    assert_eq!(
        ids(vec![cond(F::Status, O::Eq, vec![t("Disconnected")])]).await,
        ["h2", "h4"]
    );
    assert_eq!(
        ids(vec![cond(F::Status, O::Lt, vec![t("Connected")])]).await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(vec![cond(F::ClusterId, O::IsNull, vec![])]).await,
        ["h3", "h4", "h10"]
    );
    assert_eq!(
        ids(vec![cond(F::ClusterId, O::NotNull, vec![])]).await,
        ["h1", "h2"]
    );
    assert_eq!(
        ids(vec![cond(F::HypervisorType, O::Eq, vec![t("KVM")])])
            .await
            .len(),
        5
    );
    // Cross-resource fields, and conditions ANDed.
    assert_eq!(
        ids(vec![cond(F::ClusterName, O::Eq, vec![t("web")])]).await,
        ["h1", "h2"]
    );
    assert_eq!(
        ids(vec![
            cond(F::DatacenterName, O::Eq, vec![t("Zone-A")]),
            cond(F::Description, O::Eq, vec![t("rack")])
        ])
        .await,
        ["h1", "h3"]
    );
    // A value is data, never SQL.
    assert!(ids(vec![cond(F::Name, O::Eq, vec![t("x' OR '1'='1")])])
        .await
        .is_empty());
    // Sort, page, count (the total is before paging).
    let page = s
        .query_hosts(&ListQuery {
            sort: Some((F::CreatedAt, false)),
            limit: 2,
            offset: 1,
            counting: Counting::With,
            ..Default::default()
        })
        .await
        .unwrap();
    let got: Vec<_> = page.rows.iter().map(|h| h.id.as_str()).collect();
    assert_eq!((got, page.total), (vec!["h4", "h3"], Some(5)));
    let by_name = s
        .query_hosts(&ListQuery {
            conditions: vec![cond(F::DatacenterId, O::Eq, vec![t("dc2")])],
            sort: Some((F::Name, false)),
            ..Default::default()
        })
        .await
        .unwrap();
    let got: Vec<_> = by_name.rows.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(got, ["h10", "h4"]);
    let by_cluster_name = s
        .query_hosts(&ListQuery {
            conditions: vec![cond(F::ClusterId, O::NotNull, vec![])],
            sort: Some((F::ClusterName, true)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_cluster_name.rows.len(), 2);
    let only = s
        .query_hosts(&ListQuery {
            conditions: vec![cond(F::DatacenterId, O::Eq, vec![t("dc2")])],
            counting: Counting::Only,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((only.rows.len(), only.total), (0, Some(2)));

    // Tags: a positive operator finds hosts with a matching tag, a negative one hosts without.
    s.add_tags(
        "h1",
        TagKind::System,
        &["pageTableExtensionDisabled".into()],
    )
    .await
    .unwrap();
    s.add_tags("h3", TagKind::System, &["reservedMemory::2G".into()])
        .await
        .unwrap();
    s.add_tags("h3", TagKind::User, &["web".into()])
        .await
        .unwrap();
    let sys = F::Tag(TagKind::System);
    assert_eq!(
        ids(vec![cond(
            sys,
            O::Eq,
            vec![t("pageTableExtensionDisabled")]
        )])
        .await,
        ["h1"]
    );
    assert_eq!(
        ids(vec![cond(sys, O::Like, vec![t("reservedMemory::%")])]).await,
        ["h3"]
    );
    assert_eq!(
        ids(vec![cond(
            sys,
            O::Ne,
            vec![t("pageTableExtensionDisabled")]
        )])
        .await,
        ["h2", "h3", "h4", "h10"]
    );
    assert_eq!(
        ids(vec![cond(F::Tag(TagKind::User), O::IsNull, vec![])]).await,
        ["h1", "h2", "h4", "h10"]
    );
    assert_eq!(
        ids(vec![cond(F::Tag(TagKind::User), O::NotNull, vec![])]).await,
        ["h3"]
    );
    assert_eq!(
        s.tags_of("h3", TagKind::System).await.unwrap(),
        ["reservedMemory::2G"]
    );
    // Adding a tag twice keeps one; a deleted host's tags go with it.
    s.add_tags("h3", TagKind::User, &["web".into()])
        .await
        .unwrap();
    assert_eq!(s.tags_of("h3", TagKind::User).await.unwrap(), ["web"]);
    assert!(s.delete_host("h3").await.unwrap());
    assert!(s.tags_of("h3", TagKind::User).await.unwrap().is_empty());
    // SshPort reads 22 when never set.
    assert_eq!(
        ids(vec![cond(F::SshPort, O::Eq, vec![QueryValue::Int(22)])])
            .await
            .len(),
        4
    );
}

/// Zones (datacenters), clusters and VMs are queried like hosts, with their own fields.
async fn zone_cluster_and_vm_queries(s: Arc<dyn Store>) {
    let mut a = datacenter("dc1", "datacenter-1", "Zone-A");
    a.is_default = true;
    s.insert_datacenter(&a).await.unwrap();
    let mut b = datacenter("dc2", "datacenter-2", "Zone-B");
    b.state = AdminState::Disabled;
    b.created_at = at(1_800_000_000_000);
    s.insert_datacenter(&b).await.unwrap();
    let mut c1 = cluster("c1", "domain-c1", "dc1", "web");
    c1.architecture = Some("x86_64".into());
    s.insert_cluster(&c1).await.unwrap();
    let mut c2 = cluster("c2", "domain-c2", "dc2", "db");
    c2.kind = "custom".into();
    s.insert_cluster(&c2).await.unwrap();
    let got = s.get_cluster("c1").await.unwrap().unwrap();
    assert_eq!(got.architecture.as_deref(), Some("x86_64"));
    assert_eq!(s.get_cluster("c2").await.unwrap().unwrap().kind, "custom");
    let d = s.get_datacenter("dc2").await.unwrap().unwrap();
    assert_eq!((d.state, d.is_default), (AdminState::Disabled, false));
    let mut h1 = host("h1", "host-1", "dc1", "10.0.0.1");
    h1.cluster_id = Some("c1".into());
    h1.connection_state = ConnectionState::Connected;
    s.insert_host(&h1).await.unwrap();
    let mut h2 = host("h2", "host-2", "dc2", "10.0.0.2");
    h2.cluster_id = Some("c2".into());
    h2.connection_state = ConnectionState::NotResponding;
    s.insert_host(&h2).await.unwrap();
    let mut v1 = vm("v1", "vm-1", "h1", "u1", "alpha");
    v1.power_state = "poweredOn".into();
    v1.vcpus = 4;
    s.insert_vm(&v1).await.unwrap();
    let mut v2 = vm("v2", "vm-2", "h1", "u2", "beta");
    v2.power_state = "poweredOff".into();
    v2.vcpus = 1;
    s.insert_vm(&v2).await.unwrap();
    let v3 = vm("v3", "vm-3", "h2", "u3", "gamma");
    s.insert_vm(&v3).await.unwrap();
    s.add_tags("dc2", TagKind::User, &["lab".into()])
        .await
        .unwrap();

    let t = |v: &str| QueryValue::Text(v.into());
    let zones = |lq: ListQuery<DatacenterField>| {
        let s = s.clone();
        async move {
            let p = s.query_datacenters(&lq).await.unwrap();
            p.rows.into_iter().map(|d| d.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(zones(lq(vec![])).await, ["dc1", "dc2"]);
    assert_eq!(
        zones(lq(vec![qc(
            DatacenterField::IsDefault,
            QueryOp::Eq,
            vec![QueryValue::Int(1)]
        )]))
        .await,
        ["dc1"]
    );
    assert_eq!(
        zones(lq(vec![qc(
            DatacenterField::State,
            QueryOp::Eq,
            vec![t("Disabled")]
        )]))
        .await,
        ["dc2"]
    );
    assert_eq!(
        zones(lq(vec![qc(
            DatacenterField::Tag(TagKind::User),
            QueryOp::Eq,
            vec![t("lab")]
        )]))
        .await,
        ["dc2"]
    );
    let mut sorted = lq(vec![]);
    sorted.sort = Some((DatacenterField::Name, false));
    assert_eq!(zones(sorted).await, ["dc2", "dc1"]);

    let clusters = |lq: ListQuery<ClusterField>| {
        let s = s.clone();
        async move {
            let p = s.query_clusters(&lq).await.unwrap();
            p.rows.into_iter().map(|c| c.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        clusters(lq(vec![qc(
            ClusterField::DatacenterName,
            QueryOp::Eq,
            vec![t("Zone-B")]
        )]))
        .await,
        ["c2"]
    );
    assert_eq!(
        clusters(lq(vec![qc(
            ClusterField::Architecture,
            QueryOp::IsNull,
            vec![]
        )]))
        .await,
        ["c2"]
    );
    assert_eq!(
        clusters(lq(vec![qc(
            ClusterField::Type,
            QueryOp::Eq,
            vec![t("zstack")]
        )]))
        .await,
        ["c1"]
    );

    let vms = |lq: ListQuery<VmField>| {
        let s = s.clone();
        async move {
            let p = s.query_vms(&lq).await.unwrap();
            p.rows.into_iter().map(|v| v.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        vms(lq(vec![qc(
            VmField::State,
            QueryOp::Eq,
            vec![t("Running")]
        )]))
        .await,
        ["v1"]
    );
    // A VM on a host that does not answer is Unknown, whatever its last power state.
    assert_eq!(
        vms(lq(vec![qc(
            VmField::State,
            QueryOp::Eq,
            vec![t("Unknown")]
        )]))
        .await,
        ["v3"]
    );
    assert_eq!(
        vms(lq(vec![qc(VmField::ClusterId, QueryOp::Eq, vec![t("c1")])])).await,
        ["v1", "v2"]
    );
    assert_eq!(
        vms(lq(vec![qc(
            VmField::DatacenterId,
            QueryOp::Eq,
            vec![t("dc2")]
        )]))
        .await,
        ["v3"]
    );
    assert_eq!(
        vms(lq(vec![qc(
            VmField::CpuNum,
            QueryOp::Ge,
            vec![QueryValue::Int(2)]
        )]))
        .await,
        ["v1", "v3"]
    );
    let mut by_host = lq(vec![]);
    by_host.sort = Some((VmField::HostName, false));
    by_host.counting = Counting::With;
    let p = s.query_vms(&by_host).await.unwrap();
    assert_eq!(p.total, Some(3));
    assert_eq!(p.rows[0].id, "v3");
    // A deleted datacenter's tags go with it.
    s.delete_vm("v3").await.unwrap();
    assert!(s.delete_host("h2").await.unwrap());
    assert!(s.delete_cluster("c2").await.unwrap());
    assert!(s.delete_datacenter("dc2").await.unwrap());
    assert!(s.tags_of("dc2", TagKind::User).await.unwrap().is_empty());
}
