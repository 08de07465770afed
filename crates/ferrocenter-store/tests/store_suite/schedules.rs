//! Backup schedules: create (a taken id is a conflict), read back field for field, update,
//! record a run, delete.
use std::sync::Arc;

use ferrocenter_core::ports::{LocationType, Store, StoreError};
use ferrocenter_core::recovery::schedules::{BackupSchedule, Recurrence};
use time::Weekday;

use crate::fixtures::at;
use crate::Case;

pub(crate) const CASES: &[(&str, Case)] =
    crate::cases![backup_schedules_round_trip_update_run_and_delete];

fn schedule(id: &str) -> BackupSchedule {
    BackupSchedule {
        id: id.into(),
        parts: vec!["common".into(), "seat".into()],
        location: "sftp://b.example/srv".into(),
        location_type: LocationType::Sftp,
        location_user: Some("bk".into()),
        location_password: Some("00aa11".into()),
        backup_password: None,
        enable: true,
        recurrence: Some(Recurrence {
            minute: 5,
            hour: 23,
            days: vec![Weekday::Tuesday, Weekday::Sunday],
        }),
        max_count: Some(2),
        created_at: at(1_700_000_000_000),
        updated_at: at(1_700_000_000_000),
        last_run_at: None,
    }
}

async fn backup_schedules_round_trip_update_run_and_delete(s: Arc<dyn Store>) {
    let a = schedule("a");
    let mut b = schedule("b");
    b.recurrence = None;
    b.max_count = None;
    b.location_user = None;
    b.location_password = None;
    b.backup_password = Some("22bb33".into());
    b.location_type = LocationType::Path;
    b.location = "/srv/b".into();
    s.insert_backup_schedule(&b).await.unwrap();
    s.insert_backup_schedule(&a).await.unwrap();
    assert!(matches!(
        s.insert_backup_schedule(&a).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.get_backup_schedule("a").await.unwrap(), Some(a.clone()));
    assert_eq!(
        s.list_backup_schedules().await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    let mut changed = a.clone();
    changed.enable = false;
    changed.recurrence = Some(Recurrence {
        minute: 0,
        hour: 0,
        days: Vec::new(),
    });
    changed.updated_at = at(1_700_000_100_000);
    // An update does not move the creation or the last run.
    changed.created_at = at(1);
    assert!(s.update_backup_schedule(&changed).await.unwrap());
    changed.created_at = a.created_at;
    assert_eq!(
        s.get_backup_schedule("a").await.unwrap(),
        Some(changed.clone())
    );
    assert!(s
        .record_backup_schedule_run("a", at(1_700_000_200_000))
        .await
        .unwrap());
    assert_eq!(
        s.get_backup_schedule("a")
            .await
            .unwrap()
            .unwrap()
            .last_run_at,
        Some(at(1_700_000_200_000))
    );
    assert!(s.delete_backup_schedule("a").await.unwrap());
    assert!(!s.delete_backup_schedule("a").await.unwrap());
    assert!(!s.update_backup_schedule(&changed).await.unwrap());
    assert!(!s.record_backup_schedule_run("a", at(5)).await.unwrap());
    assert_eq!(s.get_backup_schedule("a").await.unwrap(), None);
}
