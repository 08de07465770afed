//! The update service on a core over a real SQLite store, the real repository adapter and a
//! manual clock. The policy's scheduled check on a core over a real SQLite store, the real
//! repository adapter and a manual clock: nothing is checked before the check time; at it, the
//! local directory repository is checked, the result stored and recorded as an event, and with
//! `auto_stage` the update found is staged on disk; the same check time is not owed twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ferrocenter_core::auth::{Caller, Realm, Role};
use ferrocenter_core::inventory::EventFilter;
use ferrocenter_core::ports::{
    FilesystemReading, MachineError, ManualClock, SystemProbe, SystemReadings, MANIFEST_FILE,
    SIGNATURE_FILE,
};
use ferrocenter_core::update::policy::{CheckTimeSpec, PolicySpec};
use ferrocenter_core::update::{
    build_package, Manifest, SigningKey, SourceType, TrustedKeys, UpdateConfig, UpdateServiceState,
    CHECKED_EVENT, PACKAGE_FILE,
};
use ferrocenter_core::{Core, CoreConfig, CoreError, Machine};
use ferrocenter_system::update_source::RepositorySources;
use time::macros::datetime;
use tokio_util::sync::CancellationToken;

/// A signed repository of `version` in `dir`, as `update-repo build` makes one.
fn repository(dir: &Path, key: &SigningKey, version: &str) -> PathBuf {
    let repo = dir.join(format!("repo-{version}"));
    std::fs::create_dir_all(&repo).unwrap();
    let binary = dir.join("bin");
    std::fs::write(&binary, b"#!/bin/sh\necho new\n").unwrap();
    let (size, sha256) =
        build_package(&[("ferrocenter".into(), binary)], &repo.join(PACKAGE_FILE)).unwrap();
    let draft = serde_json::json!({
        "format": ferrocenter_core::update::MANIFEST_FORMAT,
        "product": "ferrocenter",
        "version": version,
        "build": version,
        "name": format!("ferrocenter {version}"),
        "description": "scheduled",
        "release_date": "2026-12-01T00:00:00Z",
        "severity": "MODERATE",
        "priority": "MEDIUM",
        "update_type": "UPDATE",
        "reboot_required": false,
        "restart_required": true,
        "minimum_version": "0.0.0",
        "contents": [],
        "eulas": [],
        "package": {"file": PACKAGE_FILE, "size": size, "sha256": sha256, "files": ["ferrocenter"]},
    });
    let bytes = Manifest::parse(&serde_json::to_vec(&draft).unwrap())
        .unwrap()
        .to_json();
    std::fs::write(repo.join(MANIFEST_FILE), &bytes).unwrap();
    std::fs::write(repo.join(SIGNATURE_FILE), key.sign(&bytes)).unwrap();
    repo
}

/// A core over a real SQLite store in `dir` and the real repository adapter, with `repo` as
/// its LOCAL source.
async fn update_core(
    dir: &Path,
    clock: Arc<ManualClock>,
    key: &SigningKey,
    repo: PathBuf,
    staged: &Path,
    machine: Machine,
) -> Arc<Core> {
    common::core_with(
        dir,
        clock,
        machine,
        Some(Arc::new(RepositorySources::new(Vec::new()).unwrap())),
        CoreConfig {
            update: UpdateConfig {
                trusted_keys: TrustedKeys::new(vec![key.public_key()]),
                local_source: Some(repo),
                staging_dir: staged.to_path_buf(),
                schedule_tick: Duration::from_millis(20),
                ..UpdateConfig::default()
            },
            ..CoreConfig::default()
        },
    )
    .await
}

/// A machine whose disks have `free` bytes available.
struct SmallDisk {
    free: u64,
}

#[async_trait::async_trait]
impl SystemProbe for SmallDisk {
    async fn read(&self) -> Result<SystemReadings, MachineError> {
        Err(MachineError::Unavailable("not read in this test".into()))
    }
    async fn space_at(&self, _: &Path) -> Result<FilesystemReading, MachineError> {
        Ok(FilesystemReading {
            mount: "/".into(),
            total_bytes: 1 << 30,
            used_bytes: (1 << 30) - self.free,
            available_bytes: self.free,
        })
    }
}

fn admin() -> Caller {
    Caller {
        principal_id: "p".into(),
        user: "administrator@vsphere.local".into(),
        realm: Realm::sso("vsphere.local"),
        role: Role::Admin,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_check_finds_and_stages_an_update_at_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = SigningKey::generate().unwrap();
    let repo = repository(dir.path(), &key, "9.0.0");
    // 2026-12-11 is a Friday.
    let clock = Arc::new(ManualClock::new(datetime!(2026-12-11 12:00 UTC)));
    let staged = dir.path().join("staged");
    let core = update_core(
        dir.path(),
        clock.clone(),
        &key,
        repo,
        &staged,
        Machine::default(),
    )
    .await;
    let who = admin();
    core.set_update_policy(
        &who,
        PolicySpec {
            check_schedule: vec![CheckTimeSpec {
                day: "FRIDAY".into(),
                hour: 23,
                minute: 30,
            }],
            auto_stage: true,
            ..PolicySpec::default()
        },
    )
    .await
    .unwrap();
    let stop = CancellationToken::new();
    core.start_update_checks(stop.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = core.update_get(&who).await.unwrap();
    assert_eq!(
        before.latest_query_time, None,
        "nothing is owed before 23:30"
    );
    assert_eq!(before.state, UpdateServiceState::UpToDate);

    clock.advance(Duration::from_secs(11 * 3600 + 31 * 60));
    let mut done = false;
    for _ in 0..250 {
        if core
            .update_staged_get(&who)
            .await
            .is_ok_and(|s| s.staging_complete)
        {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(done, "the update found was staged");
    assert_eq!(
        std::fs::read(staged.join("9.0.0/content/ferrocenter")).unwrap(),
        b"#!/bin/sh\necho new\n"
    );
    let info = core.update_get(&who).await.unwrap();
    let checked = info.latest_query_time.expect("the check is recorded");
    assert_eq!(info.state, UpdateServiceState::UpdatesPending);
    let events = core
        .list_events(
            &who,
            &EventFilter {
                kind: Some(CHECKED_EVENT.into()),
                ..EventFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].message.contains("9.0.0"), "{events:?}");

    // The same check time is not owed again.
    clock.advance(Duration::from_secs(120));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        core.update_get(&who).await.unwrap().latest_query_time,
        Some(checked)
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stage_that_would_fill_the_disk_is_refused_and_the_precheck_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = SigningKey::generate().unwrap();
    let repo = repository(dir.path(), &key, "9.0.0");
    let clock = Arc::new(ManualClock::new(datetime!(2026-12-11 12:00 UTC)));
    let staged = dir.path().join("staged");
    let machine = Machine {
        probe: Arc::new(SmallDisk { free: 10 }),
        ..Machine::default()
    };
    let core = update_core(dir.path(), clock, &key, repo, &staged, machine).await;
    let who = admin();
    core.update_pending_list(&who, SourceType::Local, None)
        .await
        .unwrap();
    let pre = core
        .update_pending_precheck(&who, "9.0.0", None)
        .await
        .unwrap();
    assert!(
        pre.issues.errors[0]
            .message
            .default_message
            .contains("10 bytes free"),
        "{:?}",
        pre.issues.errors
    );
    let e = core
        .update_pending_stage(&who, "9.0.0", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CoreError::InvalidState { message } if message.contains("10 bytes free")),
        "{e:?}"
    );
    assert!(!staged.join("9.0.0").exists(), "nothing is written");
    let e = core
        .update_pending_stage(&who, "9.0.0", Some("vcsa"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CoreError::InvalidArgument { field, .. } if field == "component"),
        "{e:?}"
    );
}
