//! An upgrade's export that nobody polls, downloads from or deletes is removed by the sweep
//! after `ExportConfig::idle` — running or written — while one being downloaded is kept. The
//! clock is a manual one, so the expiry is reached by advancing it, never by waiting.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::sync::Arc;
use std::time::Duration;

use ferrocenter_core::auth::Role;
use ferrocenter_core::deployment::upgrade::{ExportConfig, ExportState};
use ferrocenter_core::ports::{Clock, ManualClock};
use ferrocenter_core::recovery::RecoveryConfig;
use ferrocenter_core::tasks::TaskState;
use ferrocenter_core::{Core, CoreConfig, CoreError};

const IDLE: Duration = Duration::from_secs(600);
const PASSWORD: &str = "an-export-password-of-some-length";

struct Env {
    core: Arc<Core>,
    clock: Arc<ManualClock>,
    dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = ferrocenter_store::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let core = Core::new(
        store,
        clock.clone(),
        CoreConfig {
            recovery: RecoveryConfig {
                work_dir: dir.path().join("work"),
                ..RecoveryConfig::default()
            },
            upgrade_export: ExportConfig {
                idle: IDLE,
                sweep_every: Duration::from_secs(3600),
            },
            ..CoreConfig::default()
        },
    );
    Env { core, clock, dir }
}

/// The export directories left under the backup staging.
fn exports_left(e: &Env) -> Vec<String> {
    std::fs::read_dir(e.dir.path().join("work").join("backup-staging"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("upgrade-export-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Polls the export until it is no longer RUNNING.
async fn written(e: &Env, id: &str) -> ferrocenter_core::deployment::upgrade::UpgradeExport {
    let admin = common::sso_caller(Role::SuperAdmin);
    for _ in 0..1200 {
        let x = e.core.upgrade_export_get(&admin, id).await.unwrap();
        if x.state != ExportState::Running {
            return x;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("export {id} was not written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_nobody_asks_for_is_swept_after_its_idle_time() {
    let e = env().await;
    let admin = common::sso_caller(Role::SuperAdmin);
    let c = e
        .core
        .upgrade_export_create(&admin, PASSWORD, false)
        .await
        .unwrap();
    let id = c.export.export.clone();
    let x = written(&e, &id).await;
    assert_eq!(x.state, ExportState::Succeeded, "{x:?}");
    assert_eq!(x.files.last().unwrap().name, "manifest.json");
    assert_eq!(x.expires_at, e.clock.now() + IDLE);
    assert_eq!(exports_left(&e).len(), 1);

    // Polled just now: not idle.
    assert_eq!(e.core.upgrade_export_sweep().await, 0);
    // A poll before the idle time runs out starts it again.
    e.clock.advance(IDLE - Duration::from_secs(1));
    e.core.upgrade_export_get(&admin, &id).await.unwrap();
    e.clock.advance(Duration::from_secs(2));
    assert_eq!(e.core.upgrade_export_sweep().await, 0);

    // A file being downloaded keeps it past its idle time.
    let reading = e
        .core
        .upgrade_export_file(&c.token, "manifest.json")
        .await
        .unwrap();
    e.clock.advance(IDLE * 2);
    assert_eq!(e.core.upgrade_export_sweep().await, 0);
    drop(reading);

    assert_eq!(e.core.upgrade_export_sweep().await, 1);
    assert!(exports_left(&e).is_empty(), "{:?}", exports_left(&e));
    assert!(matches!(
        e.core.upgrade_export_get(&admin, &id).await,
        Err(CoreError::NotFound { .. })
    ));
    assert!(e
        .core
        .upgrade_export_file(&c.token, "manifest.json")
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_export_nobody_asks_for_is_cancelled_and_swept() {
    let e = env().await;
    let admin = common::sso_caller(Role::SuperAdmin);
    e.core.hold_upgrade_exports(true);
    let c = e
        .core
        .upgrade_export_create(&admin, PASSWORD, true)
        .await
        .unwrap();
    let id = c.export.export.clone();
    assert_eq!(c.export.state, ExportState::Running);
    // While it runs it holds the recovery claim: no second export (nor backup) starts.
    assert!(matches!(
        e.core.upgrade_export_create(&admin, PASSWORD, false).await,
        Err(CoreError::InvalidState { .. })
    ));

    e.clock.advance(IDLE + Duration::from_secs(1));
    assert_eq!(e.core.upgrade_export_sweep().await, 1);
    let t = e.core.tasks.get(&id).await.unwrap();
    assert_eq!(t.state, TaskState::Error);
    assert!(t.cancelled, "{t:?}");
    assert!(exports_left(&e).is_empty(), "{:?}", exports_left(&e));
    assert!(matches!(
        e.core.upgrade_export_get(&admin, &id).await,
        Err(CoreError::NotFound { .. })
    ));

    // The claim went with it.
    e.core.hold_upgrade_exports(false);
    let c = e
        .core
        .upgrade_export_create(&admin, PASSWORD, false)
        .await
        .unwrap();
    let x = written(&e, &c.export.export).await;
    assert_eq!(x.state, ExportState::Succeeded, "{x:?}");
    e.core
        .upgrade_export_delete(&admin, &c.export.export)
        .await
        .unwrap();
    assert!(exports_left(&e).is_empty());
}
