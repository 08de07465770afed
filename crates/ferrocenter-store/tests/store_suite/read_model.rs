//! The read model against the store it stands in front of: the same listings asked of both
//! must give the same hosts in the same order with the same totals, and a read after a write
//! through the model sees the write, however many heartbeats write beside it.
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng};

use ferrocenter_core::inventory::query::{
    Condition, Counting, HostField, ListQuery, QueryOp, QueryValue, TagKind,
};
use ferrocenter_core::inventory::{ConnectionState, HostState};
use ferrocenter_core::ports::Store;
use ferrocenter_core::read_model::ReadModel;
use ferrocenter_core::to_millis;

use crate::fixtures::{at, cluster, datacenter, host};

/// A seeded generator: the same sequence on every run, so a failure can be replayed.
struct Rng(StdRng);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0.gen_range(0..n)
    }
    fn pick<'a, T>(&mut self, of: &'a [T]) -> &'a T {
        &of[self.below(of.len())]
    }
}

const NAMES: [&str; 6] = ["esx", "ESX", "kvm", "Kvm", "node_a", "node%b"];
const FIELDS: [HostField; 17] = [
    HostField::Id,
    HostField::Moid,
    HostField::Name,
    HostField::Description,
    HostField::DatacenterId,
    HostField::ClusterId,
    HostField::Address,
    HostField::HypervisorType,
    HostField::State,
    HostField::Status,
    HostField::CreatedAt,
    HostField::LastOpAt,
    HostField::ClusterName,
    HostField::DatacenterName,
    HostField::SshPort,
    HostField::Tag(TagKind::System),
    HostField::Tag(TagKind::User),
];
const OPS: [QueryOp; 12] = [
    QueryOp::Ne,
    QueryOp::Ge,
    QueryOp::Le,
    QueryOp::NotIn,
    QueryOp::NotLike,
    QueryOp::Like,
    QueryOp::In,
    QueryOp::Eq,
    QueryOp::Gt,
    QueryOp::Lt,
    QueryOp::IsNull,
    QueryOp::NotNull,
];

/// Seventy hosts in two datacenters and two clusters (one renamed; a third made and deleted),
/// standalone or not, with names, descriptions, states, ports, times and tags drawn
/// from small pools so that conditions match some and sorts meet ties.
async fn populate(s: &Arc<dyn Store>, rng: &mut Rng) {
    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "Zone-A"))
        .await
        .unwrap();
    s.insert_datacenter(&datacenter("dc2", "datacenter-2", "zone-b"))
        .await
        .unwrap();
    for (id, moid, dc, name) in [
        ("c1", "domain-c1", "dc1", "web"),
        ("c2", "domain-c2", "dc1", "Db"),
        ("c3", "domain-c3", "dc2", "gone"),
    ] {
        s.insert_cluster(&cluster(id, moid, dc, name))
            .await
            .unwrap();
    }
    for i in 0..70 {
        // moIds whose numbers sort differently from their text (host-9, host-10, host-100).
        let moid = match i {
            0 => "host-100".to_string(),
            1 => "host-x".to_string(),
            i => format!("host-{i}"),
        };
        let mut h = host(&format!("h{i:02}"), &moid, "dc1", &format!("10.0.0.{i}"));
        h.datacenter_id = rng.pick(&["dc1", "dc2"]).to_string();
        h.cluster_id = rng.pick(&[None, Some("c1"), Some("c2")]).map(String::from);
        // Unique in the datacenter, as the store requires.
        h.name = format!("{}-{i}", rng.pick(&NAMES));
        h.description = rng.pick(&["", "", "rack 1", "Rack 2"]).to_string();
        h.connection_state = *rng.pick(&[
            ConnectionState::Connected,
            ConnectionState::Connecting,
            ConnectionState::NotResponding,
            ConnectionState::Disconnected,
        ]);
        h.state = *rng.pick(&[
            HostState::Enabled,
            HostState::Disabled,
            HostState::PreMaintenance,
            HostState::Maintenance,
        ]);
        h.ssh_port = *rng.pick(&[None, Some(22), Some(2222)]);
        h.created_at = at(1_700_000_000_000 + 1000 * rng.below(10) as i64);
        h.last_op_at = at(1_700_000_000_000 + 1000 * rng.below(10) as i64);
        s.insert_host(&h).await.unwrap();
        for kind in [TagKind::System, TagKind::User] {
            let n = rng.below(3);
            let tags: Vec<String> = (0..n)
                .map(|_| rng.pick(&["a", "B", "capacity::7", "x_y"]).to_string())
                .collect();
            s.add_tags(&h.id, kind, &tags).await.unwrap();
        }
    }
    // A cluster deleted: no host is listed by its name any more.
    s.delete_cluster("c3").await.unwrap();
}

/// A value of the kind `field` compares, mostly one some host has.
fn value(rng: &mut Rng, field: HostField, op: QueryOp) -> QueryValue {
    let text = |rng: &mut Rng, pool: &[&str]| QueryValue::Text(rng.pick(pool).to_string());
    if matches!(op, QueryOp::Like | QueryOp::NotLike) {
        return text(
            rng,
            &[
                "%", "esx%", "%SX-1%", "_vm%", "node_%", "%\\%%", "rack%", "%A", "h0_", "%c%",
            ],
        );
    }
    match field {
        HostField::CreatedAt | HostField::LastOpAt => QueryValue::Int(to_millis(at(
            1_700_000_000_000 + 1000 * rng.below(11) as i64,
        ))),
        HostField::SshPort => QueryValue::Int(*rng.pick(&[22, 2222, 80])),
        HostField::Id => text(rng, &["h01", "h07", "h33", "h99"]),
        HostField::Moid => text(rng, &["host-100", "host-2", "host-x", "host-9"]),
        HostField::Name => text(rng, &["esx-3", "ESX-3", "kvm-10", "node%b-1"]),
        HostField::Description => text(rng, &["rack 1", "Rack 2", ""]),
        HostField::DatacenterId => text(rng, &["dc1", "dc2"]),
        HostField::ClusterId => text(rng, &["c1", "c2", "c3"]),
        HostField::Address => text(rng, &["10.0.0.3", "10.0.0.40"]),
        HostField::HypervisorType => text(rng, &["KVM", "kvm"]),
        HostField::State => text(rng, &["Enabled", "Maintenance", "Disabled"]),
        HostField::Status => text(rng, &["Connected", "Disconnected", "Connecting"]),
        HostField::ClusterName => text(rng, &["web", "Db", "gone"]),
        HostField::DatacenterName => text(rng, &["Zone-A", "zone-b"]),
        HostField::Tag(_) => text(rng, &["a", "B", "capacity::7", "x_y", "z"]),
        // Not drawn: the store cannot answer them (see below).
        HostField::CpuNum
        | HostField::TotalCpuCapacity
        | HostField::AvailableCpuCapacity
        | HostField::TotalMemoryCapacity
        | HostField::AvailableMemoryCapacity => QueryValue::Int(0),
    }
}

fn query(rng: &mut Rng) -> ListQuery<HostField> {
    let conditions = (0..rng.below(3))
        .map(|_| {
            let (field, op) = (*rng.pick(&FIELDS), *rng.pick(&OPS));
            let values = match op {
                QueryOp::IsNull | QueryOp::NotNull => Vec::new(),
                QueryOp::In | QueryOp::NotIn => (0..1 + rng.below(3))
                    .map(|_| value(rng, field, op))
                    .collect(),
                _ => vec![value(rng, field, op)],
            };
            Condition { field, op, values }
        })
        .collect();
    let sortable: Vec<HostField> = FIELDS
        .into_iter()
        .filter(|f| !matches!(f, HostField::Tag(_)))
        .collect();
    ListQuery {
        conditions,
        sort: (rng.below(3) > 0).then(|| (*rng.pick(&sortable), rng.below(2) == 0)),
        limit: 1 + rng.below(80) as u32,
        offset: rng.below(4) as u64 * 10,
        counting: *rng.pick(&[Counting::No, Counting::With, Counting::Only]),
    }
}

/// SQLite only: PostgreSQL sorts text by its collation, not byte by byte. Non-ASCII text is
/// left out too: SQLite's LOWER and LIKE fold ASCII letters only, the read model (as
/// PostgreSQL and ZStack's MySQL) every letter.
#[tokio::test]
async fn the_read_model_lists_hosts_as_the_store_does() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = ferrocenter_store::open(&url).await.unwrap();
    let model = ReadModel::wrap(store.clone(), 10);
    model.load().await.unwrap();
    let model: Arc<dyn Store> = model;
    let mut rng = Rng(StdRng::seed_from_u64(0x9E37_79B9_7F4A_7C15));
    // Written through the model after it was built: the view changes as the store does.
    populate(&model, &mut rng).await;
    let mut nonempty = 0;
    for i in 0..3000 {
        let q = query(&mut rng);
        let want = store.query_hosts(&q).await.unwrap();
        let got = model.query_hosts(&q).await.unwrap();
        let ids = |p: &ferrocenter_core::inventory::query::Page<_>| -> Vec<String> {
            p.rows
                .iter()
                .map(|h: &ferrocenter_core::inventory::Host| h.id.clone())
                .collect()
        };
        assert_eq!(
            (ids(&got), got.total),
            (ids(&want), want.total),
            "query {i}: {q:?}"
        );
        assert_eq!(got.rows, want.rows, "query {i}: whole records");
        nonempty += usize::from(!want.rows.is_empty());
    }
    // The pools are small enough that most listings find something.
    assert!(nonempty > 1000, "only {nonempty} listings found hosts");
    // Capacity is computed in memory: the read model filters by it, the store refuses to.
    let by_capacity = ListQuery {
        conditions: vec![Condition {
            field: HostField::AvailableMemoryCapacity,
            op: QueryOp::Ge,
            values: vec![QueryValue::Int(0)],
        }],
        counting: Counting::Only,
        ..Default::default()
    };
    assert_eq!(
        model.query_hosts(&by_capacity).await.unwrap().total,
        Some(70)
    );
    assert!(store.query_hosts(&by_capacity).await.is_err());
}
