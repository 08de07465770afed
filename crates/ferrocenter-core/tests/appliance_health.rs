//! Appliance health through the probe port: a probe with fixed readings (what the port is
//! for), a real SQLite store and a clock moved by hand. Each threshold is tried on both sides
//! of its boundary; the composite, the messages, the evaluation's reuse, the check settings
//! and their authorization are checked through the core's operations.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_core::appliance::health::{
    Component, DatabaseStatus, HealthCheckSettings, HealthCheckSettingsUpdate, HealthLevel,
    Severity, MAX_AGE,
};
use ferrocenter_core::auth::{Caller, Role};
use ferrocenter_core::ports::{
    Clock, CpuTimes, FilesystemReading, MachineError, ManualClock, SystemProbe, SystemReadings,
};
use ferrocenter_core::{Core, CoreConfig, CoreError, Machine};
use parking_lot::Mutex;
use time::OffsetDateTime;
use HealthLevel::*;

const GIB: u64 = 1 << 30;

/// Answers whatever the test set, or never (a hung filesystem).
struct FixedProbe {
    readings: Mutex<Result<SystemReadings, MachineError>>,
    space: Mutex<Result<FilesystemReading, MachineError>>,
    hang: Mutex<bool>,
}

#[async_trait]
impl SystemProbe for FixedProbe {
    async fn read(&self) -> Result<SystemReadings, MachineError> {
        if *self.hang.lock() {
            std::future::pending::<()>().await;
        }
        self.readings.lock().clone()
    }
    async fn space_at(&self, path: &Path) -> Result<FilesystemReading, MachineError> {
        assert!(
            path.ends_with("t.db"),
            "asked for the store's file: {path:?}"
        );
        self.space.lock().clone()
    }
}

fn fs(mount: &str, used_percent: u64) -> FilesystemReading {
    let total = 100 * GIB;
    FilesystemReading {
        mount: mount.into(),
        total_bytes: total,
        used_bytes: used_percent * GIB,
        available_bytes: total - used_percent * GIB,
    }
}

/// A machine at ease: 4 CPUs lightly loaded, half the memory free, no swap in use, disks half
/// full.
fn calm() -> SystemReadings {
    SystemReadings {
        taken_at: OffsetDateTime::UNIX_EPOCH,
        cpu_count: 4,
        cpu: CpuTimes {
            busy: 10,
            total: 100,
        },
        load: [1.0, 1.0, 1.0],
        mem_total_bytes: 100 * GIB,
        mem_available_bytes: 50 * GIB,
        swap_total_bytes: 10 * GIB,
        swap_free_bytes: 10 * GIB,
        filesystems: vec![fs("/", 50), fs("/var", 40)],
        interfaces: Vec::new(),
        uptime_seconds: 1000,
        process_rss_bytes: GIB,
    }
}

struct Env {
    core: Arc<Core>,
    probe: Arc<FixedProbe>,
    clock: Arc<ManualClock>,
    admin: Caller,
    operator: Caller,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let probe = Arc::new(FixedProbe {
        readings: Mutex::new(Ok(calm())),
        space: Mutex::new(Ok(fs("/", 50))),
        hang: Mutex::new(false),
    });
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    ));
    let core = common::appliance_core(
        dir.path(),
        clock.clone(),
        Machine {
            probe: probe.clone(),
            ..Machine::default()
        },
    )
    .await;
    Env {
        core,
        probe,
        clock,
        admin: common::sso_caller(Role::Admin),
        operator: common::sso_caller(Role::Operator),
        _dir: dir,
    }
}

impl Env {
    /// New readings, seen by the next evaluation (the clock moves past the reuse window).
    fn set(&self, f: impl FnOnce(&mut SystemReadings)) {
        let mut r = calm();
        f(&mut r);
        *self.probe.readings.lock() = Ok(r);
        self.clock.advance(MAX_AGE);
    }

    async fn level(&self, c: Component) -> HealthLevel {
        self.core.health_level(&self.operator, c).await.unwrap()
    }

    async fn messages(&self, item: &str) -> Vec<String> {
        self.core
            .health_messages(&self.operator, item)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.message.default_message)
            .collect()
    }
}

#[tokio::test]
async fn a_calm_machine_is_green_and_says_nothing() {
    let e = env().await;
    for c in Component::ALL {
        let want = if c == Component::SoftwarePackages {
            Gray
        } else {
            Green
        };
        assert_eq!(e.level(c).await, want, "{c:?}");
        if want == Green {
            assert!(e.messages(c.as_str()).await.is_empty(), "{c:?}");
        }
    }
    let db = e.core.health_database(&e.operator).await.unwrap();
    assert_eq!(db.status, DatabaseStatus::Healthy);
    assert!(db.messages.is_empty());
    // Software packages stay gray, and say why, until an update check exists.
    let why = e.messages("software-packages").await;
    assert_eq!(why.len(), 1);
    assert!(why[0].contains("no update service"), "{why:?}");
}

#[tokio::test]
async fn load_is_the_five_minute_average_per_cpu() {
    let e = env().await;
    // 4 CPUs: 1.5, 3 and 6 per CPU start yellow, orange and red.
    for (five, want) in [
        (5.96, Green),
        (6.0, Yellow),
        (11.9, Yellow),
        (12.0, Orange),
        (23.9, Orange),
        (24.0, Red),
    ] {
        e.set(|r| r.load = [0.1, five, 0.1]);
        assert_eq!(e.level(Component::Load).await, want, "load {five}");
        let why = e.messages("load").await;
        assert_eq!(why.len(), usize::from(want != Green), "{why:?}");
    }
    // A burst in the 1-minute average alone is not trouble.
    e.set(|r| r.load = [100.0, 1.0, 1.0]);
    assert_eq!(e.level(Component::Load).await, Green);
    // One CPU counted as one even if the probe read none.
    e.set(|r| {
        r.cpu_count = 0;
        r.load = [0.0, 1.5, 0.0];
    });
    assert_eq!(e.level(Component::Load).await, Yellow);
    let why = e.messages("load").await;
    assert!(
        why[0].contains("1.50 on 1 CPUs") && why[0].contains("yellow from 1.5 per CPU"),
        "{why:?}"
    );
}

#[tokio::test]
async fn memory_is_judged_by_what_is_available() {
    let e = env().await;
    for (available_gib, want) in [
        (21, Green),
        (20, Yellow),
        (11, Yellow),
        (10, Orange),
        (6, Orange),
        (5, Red),
        (0, Red),
    ] {
        e.set(|r| r.mem_available_bytes = available_gib * GIB);
        assert_eq!(e.level(Component::Mem).await, want, "{available_gib} GiB");
    }
    let why = e.messages("mem").await;
    assert_eq!(why.len(), 1);
    assert!(
        why[0].contains("0.0 GiB of 100.0 GiB") && why[0].contains("red below 5 %"),
        "{why:?}"
    );
    // No memory total read is no data, not a division by zero.
    e.set(|r| r.mem_total_bytes = 0);
    assert_eq!(e.level(Component::Mem).await, Gray);
}

#[tokio::test]
async fn swap_is_judged_by_the_share_in_use_and_none_configured_is_fine() {
    let e = env().await;
    for (used_gib, want) in [
        (4, Green),
        (5, Yellow),
        (7, Yellow),
        (8, Orange),
        (9, Red),
        (10, Red),
    ] {
        // 10 GiB configured; 7.5 GiB is the orange line, so 8 is the first whole GiB past it.
        e.set(|r| r.swap_free_bytes = (10 - used_gib) * GIB);
        assert_eq!(e.level(Component::Swap).await, want, "{used_gib} GiB");
    }
    e.set(|r| {
        r.swap_total_bytes = 0;
        r.swap_free_bytes = 0;
    });
    assert_eq!(e.level(Component::Swap).await, Green);
    assert!(e.messages("swap").await.is_empty());
}

#[tokio::test]
async fn storage_is_its_fullest_filesystem_and_names_each_one_over() {
    let e = env().await;
    for (used, want) in [
        (79, Green),
        (80, Yellow),
        (90, Orange),
        (94, Orange),
        (95, Red),
    ] {
        e.set(|r| r.filesystems = vec![fs("/", 10), fs("/data", used)]);
        assert_eq!(e.level(Component::Storage).await, want, "{used} %");
    }
    e.set(|r| r.filesystems = vec![fs("/", 85), fs("/data", 96), fs("/home", 10)]);
    assert_eq!(e.level(Component::Storage).await, Red);
    let m = e
        .core
        .health_messages(&e.operator, "storage")
        .await
        .unwrap();
    let ids: Vec<&str> = m.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["storage.used:/", "storage.used:/data"]);
    assert!(m[0].message.default_message.contains("at / is 85.0 % full"));
    assert!(m[1].message.default_message.contains("red from 95 %"));
    assert!(m.iter().all(|m| m.resolution.is_some()));
    // Used is df's: what unprivileged writers could still have counts, not the reserve.
    e.set(|r| {
        r.filesystems = vec![FilesystemReading {
            mount: "/".into(),
            total_bytes: 100 * GIB,
            used_bytes: 76 * GIB,
            available_bytes: 19 * GIB,
        }];
    });
    assert_eq!(e.level(Component::Storage).await, Yellow);
    e.set(|r| r.filesystems.clear());
    assert_eq!(e.level(Component::Storage).await, Gray);
}

#[tokio::test]
async fn the_database_is_weighed_against_the_space_where_it_lives() {
    let e = env().await;
    for (used, storage, status) in [
        (79, Green, DatabaseStatus::Healthy),
        (85, Yellow, DatabaseStatus::Healthy),
        (91, Orange, DatabaseStatus::Degraded),
        (97, Red, DatabaseStatus::Unhealthy),
    ] {
        *e.probe.space.lock() = Ok(fs("/srv", used));
        e.clock.advance(MAX_AGE);
        assert_eq!(e.level(Component::DatabaseStorage).await, storage, "{used}");
        let db = e.core.health_database(&e.operator).await.unwrap();
        assert_eq!(db.status, status, "{used}");
        match status {
            DatabaseStatus::Unhealthy => assert_eq!(db.messages[0].severity, Severity::Error),
            _ if storage != Green => assert_eq!(db.messages[0].severity, Severity::Warning),
            _ => assert!(db.messages.is_empty()),
        }
    }
    // Red storage makes the database unhealthy, and so the system red.
    assert_eq!(e.level(Component::Database).await, Red);
    assert_eq!(e.level(Component::System).await, Red);
    // Room for less than one copy of the database is orange however empty the disk looks.
    *e.probe.space.lock() = Ok(FilesystemReading {
        mount: "/small".into(),
        total_bytes: 1 << 20,
        used_bytes: 1024,
        available_bytes: 4096,
    });
    e.clock.advance(MAX_AGE);
    assert_eq!(e.level(Component::DatabaseStorage).await, Orange);
    let why = e.messages("databasestorage").await;
    assert!(why[0].contains("would not fit"), "{why:?}");
    assert_eq!(
        e.core.health_database(&e.operator).await.unwrap().status,
        DatabaseStatus::Degraded
    );
    // The place cannot be measured: no data for the storage, the database itself still answers.
    *e.probe.space.lock() = Err(MachineError::Failed("statvfs failed".into()));
    e.clock.advance(MAX_AGE);
    assert_eq!(e.level(Component::DatabaseStorage).await, Gray);
    assert_eq!(e.level(Component::Database).await, Green);
}

#[tokio::test]
async fn the_composite_follows_the_guide() {
    let e = env().await;
    // One yellow beside greens: yellow, and the message names it.
    e.set(|r| r.mem_available_bytes = 15 * GIB);
    assert_eq!(e.level(Component::System).await, Yellow);
    assert_eq!(e.messages("system").await, ["mem is yellow."]);
    // Orange beats yellow, red beats both.
    e.set(|r| {
        r.mem_available_bytes = 15 * GIB;
        r.load = [0.0, 13.0, 0.0];
    });
    assert_eq!(e.level(Component::System).await, Orange);
    e.set(|r| {
        r.mem_available_bytes = 15 * GIB;
        r.filesystems = vec![fs("/", 99)];
    });
    assert_eq!(e.level(Component::System).await, Red);
    // No machine data: gray, as every other component is green.
    *e.probe.readings.lock() = Err(MachineError::Unavailable("no /proc here".into()));
    e.clock.advance(MAX_AGE);
    for c in [
        Component::Load,
        Component::Mem,
        Component::Swap,
        Component::Storage,
    ] {
        assert_eq!(e.level(c).await, Gray, "{c:?}");
        let why = e.messages(c.as_str()).await;
        assert!(
            why[0].starts_with("No health data") && why[0].contains("no /proc here"),
            "{why:?}"
        );
    }
    assert_eq!(e.level(Component::System).await, Gray);
    // A definite problem, even a yellow one, outranks the unknown.
    *e.probe.space.lock() = Ok(fs("/", 85));
    e.clock.advance(MAX_AGE);
    assert_eq!(e.level(Component::System).await, Yellow);
    *e.probe.space.lock() = Ok(fs("/", 92));
    e.clock.advance(MAX_AGE);
    assert_eq!(e.level(Component::System).await, Orange);
}

#[tokio::test]
async fn a_core_without_a_machine_reports_gray_saying_there_is_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = ferrocenter_store::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    let core = Core::new(
        store,
        Arc::new(ferrocenter_core::ports::SystemClock),
        CoreConfig::default(),
    );
    let op = common::sso_caller(Role::Operator);
    for c in [
        Component::Load,
        Component::Mem,
        Component::Swap,
        Component::Storage,
        Component::DatabaseStorage,
        Component::System,
    ] {
        assert_eq!(core.health_level(&op, c).await.unwrap(), Gray, "{c:?}");
    }
    let why = core.health_messages(&op, "mem").await.unwrap();
    assert!(
        why[0]
            .message
            .default_message
            .contains("no system probe is configured"),
        "{why:?}"
    );
    assert_eq!(
        core.health_database(&op).await.unwrap().status,
        DatabaseStatus::Healthy
    );
    assert_eq!(
        core.health_level(&op, Component::Applmgmt).await.unwrap(),
        Green
    );
}

#[tokio::test]
async fn one_evaluation_answers_for_a_while_and_lastcheck_says_when() {
    let e = env().await;
    let first = e.core.health_lastcheck(&e.operator).await.unwrap();
    assert_eq!(first, e.clock.now());
    // Readings change, but within the window the evaluation stands.
    let mut r = calm();
    r.filesystems = vec![fs("/", 99)];
    *e.probe.readings.lock() = Ok(r);
    e.clock.advance(MAX_AGE - Duration::from_secs(1));
    assert_eq!(e.level(Component::Storage).await, Green);
    assert_eq!(e.core.health_lastcheck(&e.operator).await.unwrap(), first);
    e.clock.advance(Duration::from_secs(1));
    assert_eq!(e.level(Component::Storage).await, Red);
    let second = e.core.health_lastcheck(&e.operator).await.unwrap();
    assert_eq!(second, first + MAX_AGE);
    // Every message of an evaluation carries its time.
    let m = e
        .core
        .health_messages(&e.operator, "storage")
        .await
        .unwrap();
    assert_eq!(m[0].time, second);
}

#[tokio::test]
async fn a_hung_probe_is_no_data_not_a_hung_call() {
    let e = env().await;
    *e.probe.hang.lock() = true;
    assert_eq!(e.level(Component::Load).await, Gray);
    let why = e.messages("load").await;
    assert!(why[0].contains("did not answer within"), "{why:?}");
}

#[tokio::test]
async fn applmgmt_is_red_once_the_server_stops_taking_work() {
    let e = env().await;
    assert_eq!(e.level(Component::Applmgmt).await, Green);
    e.core.tasks.shutdown(Duration::from_millis(10)).await;
    e.clock.advance(MAX_AGE);
    assert_eq!(e.level(Component::Applmgmt).await, Red);
    assert_eq!(e.level(Component::System).await, Red);
    assert!(e.messages("applmgmt").await[0].contains("shutting down"));
}

#[tokio::test]
async fn an_unknown_item_is_not_found_by_its_name() {
    let e = env().await;
    let err = e
        .core
        .health_messages(&e.operator, "disk")
        .await
        .unwrap_err();
    assert_eq!(err, CoreError::not_found("health item", "disk"));
}

#[tokio::test]
async fn check_settings_are_kept_and_changed_by_admins_only() {
    let e = env().await;
    let get = || e.core.health_check_settings(&e.operator);
    assert_eq!(get().await.unwrap(), HealthCheckSettings::default());
    e.core
        .update_health_check_settings(
            &e.admin,
            HealthCheckSettingsUpdate {
                db_health_check_state_manual_backup: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    e.core
        .update_health_check_settings(
            &e.admin,
            HealthCheckSettingsUpdate {
                db_health_check_state_scheduled_backup: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let both = HealthCheckSettings {
        db_health_check_state_manual_backup: true,
        db_health_check_state_scheduled_backup: true,
    };
    assert_eq!(get().await.unwrap(), both);
    let refused = e
        .core
        .update_health_check_settings(
            &e.operator,
            HealthCheckSettingsUpdate {
                db_health_check_state_manual_backup: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, CoreError::NoPermission { privilege } if privilege == "Appliance.Administer"),
        "{refused:?}"
    );
    assert_eq!(get().await.unwrap(), both);
}
