//! Scenario 7: an open-loop mix of management operations at a fixed rate — host adds,
//! disconnect/reconnect, maintenance enter/exit (with the VMs moving), VM power off/on — each a
//! VI/JSON task followed to its end. Operations never overlap on one entity: each entity is
//! taken while its operation runs and toggles between its two operations.
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocenter_agent::simulate::ManifestHost;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::add::add_one;
use super::api::Api;
use crate::sys::percentile;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Power,
    Reconnect,
    Maintenance,
    Add,
}

/// 40 % power, 20 % each of the others.
const PATTERN: [Kind; 5] = [
    Kind::Power,
    Kind::Reconnect,
    Kind::Power,
    Kind::Maintenance,
    Kind::Add,
];

#[derive(Default)]
struct Slot {
    busy: AtomicBool,
    /// false: the first operation of the pair is next (off, disconnect, enter).
    second: AtomicBool,
}

struct Pool {
    ids: Vec<String>,
    slots: Vec<Slot>,
    cursor: AtomicUsize,
}

impl Pool {
    fn new(ids: Vec<String>) -> Pool {
        let slots = ids.iter().map(|_| Slot::default()).collect();
        Pool {
            ids,
            slots,
            cursor: AtomicUsize::new(0),
        }
    }

    /// The next idle entity, taken.
    fn take(&self) -> Option<usize> {
        let n = self.ids.len();
        for _ in 0..n {
            let i = self.cursor.fetch_add(1, Ordering::Relaxed) % n;
            if self.slots[i]
                .busy
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                return Some(i);
            }
        }
        None
    }
}

/// The entities the mix works on; disjoint so one kind never disturbs another.
pub struct Pools {
    pub power_vms: Vec<String>,
    pub reconnect_hosts: Vec<String>,
    pub maintenance_hosts: Vec<String>,
    pub adds: Vec<(String, ManifestHost)>,
}

#[derive(Default)]
struct Tally {
    done: Vec<(Kind, f64, f64)>, // kind, finished at (s from start), latency ms
    errors: Vec<(Kind, String)>,
}

async fn op(api: &Api, kind: Kind, id: &str, second: bool) -> anyhow::Result<()> {
    let (mo, method, body) = match (kind, second) {
        (Kind::Power, false) => ("VirtualMachine", "PowerOffVM_Task", json!({})),
        (Kind::Power, true) => ("VirtualMachine", "PowerOnVM_Task", json!({})),
        (Kind::Reconnect, false) => ("HostSystem", "DisconnectHost_Task", json!({})),
        (Kind::Reconnect, true) => ("HostSystem", "ReconnectHost_Task", json!({})),
        (Kind::Maintenance, false) => (
            "HostSystem",
            "EnterMaintenanceMode_Task",
            json!({"timeout": 0}),
        ),
        (Kind::Maintenance, true) => (
            "HostSystem",
            "ExitMaintenanceMode_Task",
            json!({"timeout": 0}),
        ),
        (Kind::Add, _) => unreachable!("adds have their own path"),
    };
    api.run_task(mo, id, method, body).await.map(|_| ())
}

pub async fn mixed(api: &Api, pools: Pools, rate: f64, seconds: f64, password: &str) -> Value {
    let pool_of = Arc::new([
        Pool::new(pools.power_vms),
        Pool::new(pools.reconnect_hosts),
        Pool::new(pools.maintenance_hosts),
    ]);
    let adds = Arc::new(Mutex::new(pools.adds.into_iter()));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut skipped_by_kind = [0usize; 4];
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = (rate * seconds).round() as usize;
    let mut running = Vec::with_capacity(total);
    for i in 0..total {
        tick.tick().await;
        let kind = PATTERN[i % PATTERN.len()];
        let (api, tally, pool_of, adds) =
            (api.clone(), tally.clone(), pool_of.clone(), adds.clone());
        let password = password.to_string();
        if kind == Kind::Add {
            let Some((cluster, h)) = adds.lock().await.next() else {
                skipped_by_kind[3] += 1;
                continue;
            };
            running.push(tokio::spawn(async move {
                let t = Instant::now();
                let r = add_one(&api, &cluster, &h, &password).await;
                record(&tally, kind, start, t, r.map(|_| ())).await;
            }));
            continue;
        }
        let p = match kind {
            Kind::Power => 0,
            Kind::Reconnect => 1,
            _ => 2,
        };
        let Some(slot) = pool_of[p].take() else {
            skipped_by_kind[p] += 1;
            continue;
        };
        running.push(tokio::spawn(async move {
            let pool = &pool_of[p];
            let s = &pool.slots[slot];
            let second = s.second.load(Ordering::Relaxed);
            let t = Instant::now();
            let r = op(&api, kind, &pool.ids[slot], second).await;
            if r.is_ok() {
                s.second.store(!second, Ordering::Relaxed);
            }
            s.busy.store(false, Ordering::Release);
            record(&tally, kind, start, t, r).await;
        }));
    }
    let issued_s = start.elapsed().as_secs_f64();
    // Operations still running long after the window (twice its length, at least a minute)
    // are counted as unfinished.
    let drain_until =
        tokio::time::Instant::now() + Duration::from_secs_f64((2.0 * seconds).max(60.0));
    let mut unfinished = 0usize;
    for r in running {
        match tokio::time::timeout_at(drain_until, r).await {
            Ok(_) => {}
            Err(_) => unfinished += 1,
        }
    }
    let drained_s = start.elapsed().as_secs_f64();
    let skipped: usize = skipped_by_kind.iter().sum();
    let t = tally.lock().await;
    let mut lat: Vec<f64> = t.done.iter().map(|d| d.2).collect();
    lat.sort_by(f64::total_cmp);
    let within = t.done.iter().filter(|d| d.1 <= seconds).count();
    let by_kind = |k: Kind| t.done.iter().filter(|d| d.0 == k).count();
    for (k, e) in t.errors.iter().take(5) {
        eprintln!("mixed {k:?}: {e}");
    }
    json!({
        "target_rate_per_s": rate,
        "seconds": seconds,
        "issued": total - skipped,
        "skipped_entity_busy": skipped,
        "skipped_by_kind": {"power": skipped_by_kind[0], "reconnect": skipped_by_kind[1],
            "maintenance": skipped_by_kind[2], "add": skipped_by_kind[3]},
        "completed": t.done.len(),
        "completed_per_s_within_window": within as f64 / seconds,
        "completed_per_s_overall": t.done.len() as f64 / drained_s,
        "issue_window_s": issued_s,
        "drained_s": drained_s,
        "task_p50_ms": percentile(&lat, 50.0),
        "task_p99_ms": percentile(&lat, 99.0),
        "errors": t.errors.len() + unfinished,
        "unfinished_after_drain": unfinished,
        "by_kind": {
            "power": by_kind(Kind::Power),
            "reconnect": by_kind(Kind::Reconnect),
            "maintenance": by_kind(Kind::Maintenance),
            "add": by_kind(Kind::Add),
        },
    })
}

async fn record(
    tally: &Mutex<Tally>,
    kind: Kind,
    start: Instant,
    t: Instant,
    r: anyhow::Result<()>,
) {
    let mut tl = tally.lock().await;
    match r {
        Ok(()) => tl.done.push((
            kind,
            start.elapsed().as_secs_f64(),
            t.elapsed().as_secs_f64() * 1000.0,
        )),
        Err(e) => tl.errors.push((kind, format!("{e:#}"))),
    }
}
