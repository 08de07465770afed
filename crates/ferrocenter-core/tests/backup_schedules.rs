//! Backup schedules on a core over a real SQLite store, the real location adapters and a
//! manual clock: a schedule fires at its due minute and its archives land under
//! `<location>/<system name>/S_*` on disk; retention keeps the newest `max_count`; a due time
//! missed while no scheduler ran fires once when one starts; a disabled schedule does not fire;
//! a run due while another backup runs is skipped until the next due time; bad fields are
//! refused naming them.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferrocenter_agent_client::ConnectOptions;
use ferrocenter_core::agent_door::AgentClientDoor;
use ferrocenter_core::auth::{Caller, Realm, Role};
use ferrocenter_core::inventory::EventFilter;
use ferrocenter_core::ports::{Clock, Location, LocationSecret, LocationType, ManualClock};
use ferrocenter_core::recovery::backup_job::{BackupJobType, BackupRequest, JobState};
use ferrocenter_core::recovery::schedules::{RecurrenceSpec, ScheduleSpec, SKIPPED_EVENT};
use ferrocenter_core::recovery::RecoveryConfig;
use ferrocenter_core::{Core, CoreConfig, CoreError, Machine, Ports};
use ferrocenter_system::{BackupLocations, LocationTrust};
use time::macros::datetime;
use tokio_util::sync::CancellationToken;

const SYSTEM: &str = "vc-test";
const DAY: Duration = Duration::from_secs(86_400);

async fn core(dir: &Path, clock: Arc<ManualClock>) -> Arc<Core> {
    let store = ferrocenter_store::open(&format!("sqlite://{}", dir.join("t.db").display()))
        .await
        .unwrap();
    Core::assemble(
        Ports {
            store,
            clock,
            agents: Arc::new(AgentClientDoor::new(ConnectOptions::default())),
            machine: Machine::default(),
            installer: None,
            backup_target: Some(Arc::new(
                BackupLocations::new(LocationTrust::default()).unwrap(),
            )),
            log_forwarder: None,
            federation: None,
            support_sources: None,
            update_sources: None,
        },
        CoreConfig {
            recovery: RecoveryConfig {
                work_dir: dir.join("work"),
                system_name: SYSTEM.into(),
                schedule_check: Duration::from_millis(20),
            },
            ..CoreConfig::default()
        },
    )
}

fn admin(role: Role) -> Caller {
    Caller {
        principal_id: "p".into(),
        user: "administrator@vsphere.local".into(),
        realm: Realm::sso("vsphere.local"),
        role,
    }
}

/// The scheduled archives' directories on disk, oldest first, complete or still being written.
fn listed(backups: &Path) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(backups.join(SYSTEM)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("S_"))
        .collect();
    names.sort();
    names
}

fn complete(backups: &Path, name: &str) -> bool {
    backups
        .join(SYSTEM)
        .join(name)
        .join("manifest.json")
        .is_file()
}

/// The scheduled archives on disk, oldest first; each holds its manifest.
fn archives(backups: &Path) -> Vec<String> {
    let names = listed(backups);
    for n in &names {
        assert!(
            backups.join(SYSTEM).join(n).join("manifest.json").is_file(),
            "{n} has no manifest"
        );
    }
    names
}

/// Waits until `n` backup jobs have succeeded (and none failed).
async fn jobs_succeed(core: &Core, n: usize) {
    let who = admin(Role::SuperAdmin);
    for _ in 0..600 {
        let jobs = core.backup_job_list(&who).await.unwrap();
        if let Some(f) = jobs.iter().find(|j| j.state == JobState::Failed) {
            panic!("a backup failed: {:?}", f.messages);
        }
        let done = jobs
            .iter()
            .filter(|j| j.state == JobState::Succeeded)
            .count();
        assert!(jobs.len() <= n, "{} jobs ran, {n} expected", jobs.len());
        if done == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{n} backups did not succeed");
}

async fn job_count(core: &Core) -> usize {
    core.backup_job_list(&admin(Role::SuperAdmin))
        .await
        .unwrap()
        .len()
}

/// Waits until the archives on disk are `expected`, each complete (a run's directory appears
/// before its manifest, which is written last).
async fn archives_become(backups: &Path, expected: &[String]) {
    for _ in 0..200 {
        let names = listed(backups);
        if names == expected && names.iter().all(|n| complete(backups, n)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(archives(backups), expected);
}

fn stamp(t: time::OffsetDateTime) -> String {
    ferrocenter_core::recovery::layout::archive_name(
        true,
        ferrocenter_core::recovery::manifest::this_version(),
        t,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_fires_keeps_max_count_catches_up_once_and_stops_when_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    // A Monday, half a minute before the schedule's time.
    let start = datetime!(2026-12-07 09:59:30 UTC);
    let clock = Arc::new(ManualClock::new(start));
    let core = core(dir.path(), clock.clone()).await;
    let who = admin(Role::SuperAdmin);
    core.backup_schedule_create(
        &who,
        "daily",
        ScheduleSpec {
            location: Some(backups.display().to_string()),
            backup_password: Some(LocationSecret::new("Archive-Pass-1")),
            recurrence: Some(RecurrenceSpec {
                minute: 0,
                hour: 10,
                days: None,
            }),
            max_count: Some(2),
            ..ScheduleSpec::default()
        },
    )
    .await
    .unwrap();
    let info = core.backup_schedule_get(&who, "daily").await.unwrap();
    assert!(info.enable);
    assert_eq!(info.parts, vec!["common", "seat"]);
    assert_eq!(info.max_count, Some(2));

    let stop = CancellationToken::new();
    core.start_backup_schedules(stop.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(job_count(&core).await, 0, "nothing is due before 10:00");

    // Three days at 10:00:01: three runs, the oldest deleted by the third's retention.
    let mut runs = Vec::new();
    clock.advance(Duration::from_secs(31));
    for n in 1..=3 {
        if n > 1 {
            clock.advance(DAY);
        }
        runs.push(stamp(clock.now()));
        jobs_succeed(&core, n).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(job_count(&core).await, n, "one run per due time");
    }
    archives_become(&backups, &runs[1..]).await;
    let jobs = core.backup_job_list(&who).await.unwrap();
    assert!(jobs.iter().all(|j| j.job_type == BackupJobType::Scheduled));
    assert_eq!(
        core.backup_schedule_get(&who, "daily")
            .await
            .unwrap()
            .last_run_at,
        Some(clock.now())
    );

    // No scheduler for three days and a bit: one run when the next one starts, not three.
    stop.cancel();
    tokio::time::sleep(Duration::from_millis(100)).await;
    clock.advance(3 * DAY + Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(job_count(&core).await, 3, "no scheduler, no run");
    let restarted = CancellationToken::new();
    core.start_backup_schedules(restarted.clone());
    jobs_succeed(&core, 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(job_count(&core).await, 4, "a missed run fires once");
    archives_become(&backups, &[runs[2].clone(), stamp(clock.now())]).await;

    // Disabled: the next due time passes without a run.
    core.backup_schedule_update(
        &who,
        "daily",
        ScheduleSpec {
            enable: Some(false),
            ..ScheduleSpec::default()
        },
    )
    .await
    .unwrap();
    clock.advance(DAY);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        job_count(&core).await,
        4,
        "a disabled schedule does not fire"
    );

    // `run` runs it now all the same, and retention still applies.
    let before = archives(&backups);
    let job = core
        .backup_schedule_run(&who, "daily", Some("by hand".into()))
        .await
        .unwrap();
    jobs_succeed(&core, 5).await;
    assert_eq!(
        core.backup_job_get(&who, &job.id).await.unwrap().job_type,
        BackupJobType::Scheduled
    );
    let newest = stamp(clock.now());
    archives_become(&backups, &[before[1].clone(), newest]).await;
    restarted.cancel();

    core.backup_schedule_delete(&who, "daily").await.unwrap();
    assert!(matches!(
        core.backup_schedule_get(&who, "daily").await,
        Err(CoreError::NotFound { .. })
    ));
    assert_eq!(
        archives(&backups).len(),
        2,
        "deleting a schedule keeps its archives"
    );
}

fn field(r: Result<(), CoreError>) -> String {
    match r {
        Err(CoreError::InvalidArgument { field, .. }) => field,
        other => panic!("expected an invalid argument, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_fields_are_refused_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups").display().to_string();
    let clock = Arc::new(ManualClock::new(datetime!(2026-12-07 09:00:00 UTC)));
    let core = core(dir.path(), clock).await;
    let who = admin(Role::SuperAdmin);
    let good = || ScheduleSpec {
        location: Some(backups.clone()),
        recurrence: Some(RecurrenceSpec {
            minute: 0,
            hour: 1,
            days: Some(vec!["MONDAY".into()]),
        }),
        max_count: Some(1),
        ..ScheduleSpec::default()
    };
    let create = |id: &'static str, spec: ScheduleSpec| {
        let core = core.clone();
        let who = who.clone();
        async move { core.backup_schedule_create(&who, id, spec).await }
    };
    let recur = |minute, hour, day: &str| {
        Some(RecurrenceSpec {
            minute,
            hour,
            days: Some(vec![day.to_string()]),
        })
    };
    for (spec, expected) in [
        (
            ScheduleSpec {
                recurrence: recur(0, 24, "MONDAY"),
                ..good()
            },
            "spec.recurrence_info.hour",
        ),
        (
            ScheduleSpec {
                recurrence: recur(60, 0, "MONDAY"),
                ..good()
            },
            "spec.recurrence_info.minute",
        ),
        (
            ScheduleSpec {
                recurrence: recur(0, 0, "FUNDAY"),
                ..good()
            },
            "spec.recurrence_info.days",
        ),
        (
            ScheduleSpec {
                max_count: Some(0),
                ..good()
            },
            "spec.retention_info.max_count",
        ),
        (
            ScheduleSpec {
                location: Some("gopher://example/x".into()),
                ..good()
            },
            "spec.location",
        ),
        (
            ScheduleSpec {
                location: Some("relative/dir".into()),
                ..good()
            },
            "spec.location",
        ),
        (
            ScheduleSpec {
                location: None,
                ..good()
            },
            "spec.location",
        ),
        (
            ScheduleSpec {
                // The location is checked at create: a directory that cannot be made.
                location: Some("/proc/ferrocenter-cannot-write-here".into()),
                ..good()
            },
            "spec.location",
        ),
        (
            ScheduleSpec {
                parts: Some(vec!["everything".into()]),
                ..good()
            },
            "spec.parts",
        ),
    ] {
        assert_eq!(field(create("s1", spec).await), expected);
    }
    assert_eq!(field(create("a/b", good()).await), "schedule");
    assert_eq!(field(create("", good()).await), "schedule");
    assert!(core.backup_schedule_list(&who).await.unwrap().is_empty());

    create("s1", good()).await.unwrap();
    assert!(matches!(
        create("s1", good()).await,
        Err(CoreError::AlreadyExists { .. })
    ));
    assert_eq!(
        field(
            core.backup_schedule_update(
                &who,
                "s1",
                ScheduleSpec {
                    recurrence: recur(0, -1, "MONDAY"),
                    ..ScheduleSpec::default()
                },
            )
            .await
        ),
        "spec.recurrence_info.hour"
    );
    assert!(matches!(
        core.backup_schedule_update(&who, "nope", ScheduleSpec::default())
            .await,
        Err(CoreError::NotFound { .. })
    ));
    assert!(matches!(
        core.backup_schedule_run(&who, "nope", None).await,
        Err(CoreError::NotFound { .. })
    ));
    // An operator reads schedules but does not change them.
    let operator = admin(Role::Operator);
    assert_eq!(core.backup_schedule_list(&operator).await.unwrap().len(), 1);
    assert!(matches!(
        core.backup_schedule_delete(&operator, "s1").await,
        Err(CoreError::NoPermission { .. })
    ));
}

/// A directory whose first part file is a FIFO nobody reads: a backup into it blocks while
/// sending that file. The second path is another name of the FIFO, to release the writer.
fn stalling_location(root: &Path) -> (String, std::path::PathBuf) {
    let loc = root.join("stalls");
    std::fs::create_dir_all(&loc).unwrap();
    let fifo = loc.join("common.jsonl.zst");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let handle = root.join("fifo-handle");
    std::fs::hard_link(&fifo, &handle).unwrap();
    (loc.display().to_string(), handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_due_while_a_backup_runs_is_skipped_until_the_next_due_time() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let clock = Arc::new(ManualClock::new(datetime!(2026-12-07 09:59:30 UTC)));
    let core = core(dir.path(), clock.clone()).await;
    let who = admin(Role::SuperAdmin);
    core.backup_schedule_create(
        &who,
        "daily",
        ScheduleSpec {
            location: Some(backups.display().to_string()),
            recurrence: Some(RecurrenceSpec {
                minute: 0,
                hour: 10,
                days: None,
            }),
            ..ScheduleSpec::default()
        },
    )
    .await
    .unwrap();
    let (stall, handle) = stalling_location(dir.path());
    let manual = core
        .backup_job_create(
            &who,
            BackupRequest {
                parts: Vec::new(),
                backup_password: None,
                location: Location::new(LocationType::Path, stall),
                comment: None,
                job_type: BackupJobType::Manual,
            },
        )
        .await
        .unwrap();
    let stop = CancellationToken::new();
    core.start_backup_schedules(stop.clone());
    clock.advance(Duration::from_secs(31));
    let skipped = || async {
        core.list_events(
            &who,
            &EventFilter {
                kind: Some(SKIPPED_EVENT.into()),
                ..EventFilter::default()
            },
        )
        .await
        .unwrap()
    };
    for _ in 0..200 {
        if !skipped().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let events = skipped().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].entity_id, "daily");
    assert!(
        events[0].message.contains("backup job is running"),
        "{}",
        events[0].message
    );
    assert_eq!(job_count(&core).await, 1, "the due run was skipped");

    core.backup_job_cancel(&who, &manual.id).await.unwrap();
    // The writer blocked in opening the FIFO goes once something reads it.
    std::thread::spawn(move || {
        let _ =
            std::io::Read::read_to_end(&mut std::fs::File::open(handle).unwrap(), &mut Vec::new());
    });
    for _ in 0..200 {
        let j = core.backup_job_get(&who, &manual.id).await.unwrap();
        if j.state != JobState::InProgress {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        job_count(&core).await,
        1,
        "a skipped run waits for the next due time"
    );
    assert!(archives(&backups).is_empty());

    clock.advance(DAY);
    let next = stamp(clock.now());
    archives_become(&backups, &[next]).await;
    assert_eq!(job_count(&core).await, 2);
    assert_eq!(skipped().await.len(), 1);
    stop.cancel();
}
