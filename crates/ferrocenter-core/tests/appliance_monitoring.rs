//! Appliance statistics through the probe port: a probe whose readings move with a clock moved
//! by hand, a real SQLite store, and collector rounds driven one minute apart from an
//! unaligned start. The guide's examples are reproduced: the start aligned down to a multiple
//! of the interval, the end not adjusted, `''` for intervals without samples (every second one
//! for storage at MINUTES5), and a query reaching past the retention answering what exists.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_core::appliance::monitoring::{DataRequest, StatsCollector};
use ferrocenter_core::auth::{Caller, Role};
use ferrocenter_core::ports::{
    Clock, CpuTimes, FilesystemReading, InterfaceReading, MachineError, ManualClock, SystemProbe,
    SystemReadings,
};
use ferrocenter_core::{Core, CoreError, Machine};
use time::macros::datetime;
use time::OffsetDateTime;

const GIB: u64 = 1 << 30;

/// Readings that move with the clock: every minute the CPUs are busy a quarter of the time,
/// eth0 receives 60 KiB, and the root filesystem grows by 1 GiB.
struct MovingProbe {
    clock: Arc<ManualClock>,
    start: OffsetDateTime,
}

#[async_trait]
impl SystemProbe for MovingProbe {
    async fn read(&self) -> Result<SystemReadings, MachineError> {
        let now = self.clock.now();
        let minutes = u64::try_from((now - self.start).whole_minutes()).unwrap();
        Ok(SystemReadings {
            taken_at: now,
            cpu_count: 2,
            cpu: CpuTimes {
                busy: 1000 + 30 * minutes,
                total: 4000 + 120 * minutes,
            },
            load: [0.5, 0.25, 0.125],
            mem_total_bytes: 8 * GIB,
            mem_available_bytes: 6 * GIB,
            swap_total_bytes: 0,
            swap_free_bytes: 0,
            filesystems: vec![FilesystemReading {
                mount: "/".into(),
                total_bytes: 100 * GIB,
                used_bytes: (10 + minutes) * GIB,
                available_bytes: (90 - minutes) * GIB,
            }],
            interfaces: vec![InterfaceReading {
                name: "eth0".into(),
                rx_bytes: 61_440 * minutes,
                ..InterfaceReading::default()
            }],
            uptime_seconds: 1000,
            process_rss_bytes: GIB,
        })
    }
    async fn space_at(&self, _: &Path) -> Result<FilesystemReading, MachineError> {
        Err(MachineError::Unavailable("not asked".into()))
    }
}

struct Env {
    core: Arc<Core>,
    clock: Arc<ManualClock>,
    operator: Caller,
    _dir: tempfile::TempDir,
}

/// The collector's start: not on any interval's boundary.
const START: OffsetDateTime = datetime!(2026-01-05 10:31:17 UTC);

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START));
    let core = common::appliance_core(
        dir.path(),
        clock.clone(),
        Machine {
            probe: Arc::new(MovingProbe {
                clock: clock.clone(),
                start: START,
            }),
            ..Machine::default()
        },
    )
    .await;
    Env {
        core,
        clock,
        operator: common::sso_caller(Role::Operator),
        _dir: dir,
    }
}

impl Env {
    /// `rounds` collector rounds a minute apart, as the collector runs them (the ten-minute
    /// items on every tenth round from the first); the clock ends a minute after the last.
    async fn collect(&self, rounds: u64) {
        for round in 0..rounds {
            self.core.collect_statistics(round % 10 == 0).await.unwrap();
            self.clock.advance(Duration::from_secs(60));
        }
    }

    async fn query(
        &self,
        names: &[&str],
        interval: &str,
        function: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Result<Vec<Vec<String>>, CoreError> {
        let req = DataRequest {
            names: names.iter().map(ToString::to_string).collect(),
            interval: interval.into(),
            function: function.into(),
            start_time: start,
            end_time: end,
        };
        Ok(self
            .core
            .monitoring_query(&self.operator, &req)
            .await?
            .into_iter()
            .map(|d| d.data)
            .collect())
    }

    async fn one(
        &self,
        name: &str,
        interval: &str,
        function: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Vec<String> {
        self.query(&[name], interval, function, start, end)
            .await
            .unwrap()
            .remove(0)
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

/// Storage is sampled every ten minutes: at MINUTES5 every second value is empty. The start,
/// 10:31:17, is aligned down to 10:30; the end is not adjusted.
#[tokio::test]
async fn storage_at_five_minutes_alternates_values_and_empty_strings() {
    let e = env().await;
    e.collect(31).await; // 10:31:17 … 11:01:17; storage at :31, :41, :51, 11:01.
    let q = e
        .core
        .monitoring_query(
            &e.operator,
            &DataRequest {
                names: vec!["storage.used.filesystem.root".into()],
                interval: "MINUTES5".into(),
                function: "MAX".into(),
                start_time: START,
                end_time: datetime!(2026-01-05 11:02 UTC),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        q[0].start_time,
        datetime!(2026-01-05 10:30 UTC),
        "aligned down"
    );
    assert_eq!(
        q[0].end_time,
        datetime!(2026-01-05 11:02 UTC),
        "not adjusted"
    );
    let kb = |gib: u64| (gib * GIB / 1024).to_string();
    assert_eq!(
        q[0].data,
        vec![
            kb(10),
            "".into(),
            kb(20),
            "".into(),
            kb(30),
            "".into(),
            kb(40)
        ]
    );
    // At MINUTES30, 10:30–10:59:59 holds three samples and 11:00 one.
    assert_eq!(
        e.one(
            "storage.used.filesystem.root",
            "MINUTES30",
            "COUNT",
            START,
            datetime!(2026-01-05 11:02 UTC)
        )
        .await,
        strs(&["3", "1"])
    );
}

/// The per-minute items: five samples per five-minute interval, four in the first (the start
/// is at 10:31:17); CPU utilization and network rates need two readings, so the first interval
/// has one fewer. An interval before the collector started, or after the last round, is empty.
#[tokio::test]
async fn minute_items_count_and_roll_up_per_interval() {
    let e = env().await;
    e.collect(14).await; // 10:31:17 … 10:44:17
    let (from, to) = (
        datetime!(2026-01-05 10:20 UTC),
        datetime!(2026-01-05 10:50 UTC),
    );
    let q = e
        .query(
            &["mem.util", "cpu.util", "net.rx.activity.eth0"],
            "MINUTES5",
            "COUNT",
            from,
            to,
        )
        .await
        .unwrap();
    assert_eq!(q[0], strs(&["", "", "4", "5", "5", "", ""]));
    assert_eq!(q[1], strs(&["", "", "3", "5", "5", "", ""]));
    assert_eq!(q[2], q[1]);
    assert_eq!(
        e.one("cpu.util", "MINUTES5", "AVG", from, to).await,
        strs(&["", "", "25", "25", "25", "", ""])
    );
    assert_eq!(
        e.one("net.rx.activity.eth0", "MINUTES30", "MAX", from, to)
            .await,
        strs(&["", "1"]),
        "60 KiB a minute is 1 KB/s, read from the 30-minute aggregates"
    );
    assert_eq!(
        e.one("mem.usage", "MINUTES5", "MIN", from, to).await[2],
        (2 * GIB / 1024).to_string(),
        "sizes are whole KB"
    );
    // HOURS2, HOURS6 and DAY1 fold the same samples.
    for interval in ["HOURS2", "HOURS6", "DAY1"] {
        assert_eq!(
            e.one("mem.util", interval, "COUNT", from, to).await,
            strs(&["14"])
        );
        assert_eq!(
            e.one("mem.util", interval, "AVG", from, to).await,
            strs(&["25"])
        );
    }
}

/// A query over more than the retention answers what exists and `''` for the rest; after
/// pruning, old raw samples are gone (MINUTES5 is empty) while the aggregates remain.
#[tokio::test]
async fn retention_answers_what_exists_and_pruning_keeps_the_aggregates() {
    let e = env().await;
    e.collect(3).await;
    let year_ago = datetime!(2024-12-01 00:00 UTC);
    let days = e
        .one(
            "mem.util",
            "DAY1",
            "COUNT",
            year_ago,
            datetime!(2026-01-06 12:00 UTC),
        )
        .await;
    assert_eq!(days.len(), 402);
    assert_eq!(days[400], "3");
    assert!(days
        .iter()
        .enumerate()
        .all(|(i, d)| i == 400 || d.is_empty()));

    e.clock.advance(Duration::from_secs(8 * 86_400));
    assert!(e.core.prune_statistics().await.unwrap() >= 3);
    let (from, to) = (
        datetime!(2026-01-05 10:30 UTC),
        datetime!(2026-01-05 10:59 UTC),
    );
    assert_eq!(
        e.one("mem.util", "MINUTES5", "COUNT", from, to).await[0],
        ""
    );
    assert_eq!(
        e.one("mem.util", "MINUTES30", "COUNT", from, to).await,
        strs(&["3"])
    );
    // Past the retention the aggregates go too.
    e.clock.advance(Duration::from_secs(400 * 86_400));
    e.core.prune_statistics().await.unwrap();
    assert_eq!(
        e.one("mem.util", "MINUTES30", "COUNT", from, to).await,
        strs(&[""])
    );
}

#[tokio::test]
async fn items_are_listed_described_and_the_unknown_refused_by_name() {
    let e = env().await;
    let before: Vec<String> = e
        .core
        .monitoring_list(&e.operator)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert!(before.contains(&"cpu.util".to_string()));
    assert!(!before.iter().any(|i| i.starts_with("net.")), "{before:?}");
    e.collect(2).await;
    let after = e.core.monitoring_list(&e.operator).await.unwrap();
    for id in [
        "net.rx.activity.eth0",
        "storage.util.filesystem.root",
        "storage.used.database",
    ] {
        assert!(after.iter().any(|i| i.id == id), "{id}");
    }
    let i = e
        .core
        .monitoring_get(&e.operator, "storage.util.filesystem.root")
        .await
        .unwrap();
    assert_eq!((i.units, i.instance.as_str()), ("percent", "root"));
    let e404 = e
        .core
        .monitoring_get(&e.operator, "net.rx.activity.eth9")
        .await;
    assert!(matches!(e404, Err(CoreError::NotFound { .. })), "{e404:?}");

    let t = START;
    let field = |r: Result<Vec<Vec<String>>, CoreError>| match r {
        Err(CoreError::InvalidArgument { field, reason }) => format!("{field}: {reason}"),
        other => panic!("{other:?}"),
    };
    let msg = field(
        e.query(&["cpu.util", "disk.util"], "MINUTES5", "MAX", t, t)
            .await,
    );
    assert!(
        msg.starts_with("item.names[1]") && msg.contains("disk.util"),
        "{msg}"
    );
    assert!(
        field(e.query(&["cpu.util"], "MINUTES1", "MAX", t, t).await).starts_with("item.interval")
    );
    assert!(
        field(e.query(&["cpu.util"], "MINUTES5", "SUM", t, t).await).starts_with("item.function")
    );
    let later = t + Duration::from_secs(1);
    assert!(
        field(e.query(&["cpu.util"], "MINUTES5", "MAX", later, t).await)
            .starts_with("item.start_time")
    );
    // No names, no answers.
    assert_eq!(e.query(&[], "DAY1", "MAX", t, t).await.unwrap().len(), 0);
}

#[tokio::test]
async fn the_collector_starts_stops_and_starts_again() {
    let e = env().await;
    let c = StatsCollector::new(e.core.clone());
    assert!(!c.is_running());
    assert!(c.start());
    assert!(!c.start(), "already running");
    assert!(c.is_running());
    // The first round is at the start.
    let mut tries = 0;
    while e.core.monitoring_list(&e.operator).await.unwrap().len() <= 10 {
        tries += 1;
        assert!(tries < 100, "no round was recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(c.stop().await);
    assert!(!c.is_running());
    assert!(!c.stop().await);
    assert!(c.start());
    assert!(c.stop().await);
}
