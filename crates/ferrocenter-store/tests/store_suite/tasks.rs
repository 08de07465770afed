//! Tasks.
use std::sync::Arc;

use ferrocenter_core::model::EntityRef;
use ferrocenter_core::ports::{Store, StoreError, TaskFilter};
use ferrocenter_core::tasks::{Task, TaskKind, TaskResult, TaskState};
use ferrocenter_core::CoreError;

use crate::fixtures::{at, task};
use crate::Case;

pub(crate) const CASES: &[(&str, Case)] = crate::cases![
    tasks_round_trip_every_field,
    task_listing_filters_and_orders,
    unfinished_tasks_are_failed,
];

async fn tasks_round_trip_every_field(s: Arc<dyn Store>) {
    let mut t = task("t1", "task-1", TaskState::Queued, 1_000);
    s.insert_task(&t).await.unwrap();
    assert_eq!(s.get_task("t1").await.unwrap(), Some(t.clone()));
    t.state = TaskState::Error;
    t.progress = 42;
    t.progress_message = Some("half way".into());
    t.result = Some(TaskResult::HostAdded {
        host: "h1".into(),
        moid: "host-1".into(),
        vms: 2,
    });
    t.error = Some(CoreError::Timeout {
        message: "too slow".into(),
    });
    t.cancelled = true;
    t.started_at = Some(at(2_000));
    t.completed_at = Some(at(3_000));
    assert!(s.update_task(&t).await.unwrap());
    assert_eq!(s.get_task("t1").await.unwrap(), Some(t.clone()));
    let mut untargeted = task("t2", "task-2", TaskState::Success, 1_500);
    untargeted.target = None;
    s.insert_task(&untargeted).await.unwrap();
    assert_eq!(s.get_task("t2").await.unwrap(), Some(untargeted));
    // Every kind reads back as itself.
    for (i, kind) in TaskKind::ALL.iter().enumerate() {
        let mut k = task(
            &format!("k{i}"),
            &format!("task-k{i}"),
            TaskState::Queued,
            500,
        );
        k.kind = *kind;
        s.insert_task(&k).await.unwrap();
        assert_eq!(
            s.get_task(&k.id).await.unwrap().map(|t| t.kind),
            Some(*kind)
        );
    }
    assert_eq!(s.get_task("missing").await.unwrap(), None);
    assert!(matches!(
        s.insert_task(&t).await,
        Err(StoreError::Conflict(_))
    ));
}

async fn task_listing_filters_and_orders(s: Arc<dyn Store>) {
    for (i, state) in [
        TaskState::Queued,
        TaskState::Running,
        TaskState::Success,
        TaskState::Error,
    ]
    .into_iter()
    .enumerate()
    {
        let mut t = task(
            &format!("t{i}"),
            &format!("task-{i}"),
            state,
            1_000 + i as i64,
        );
        if i == 3 {
            t.initiator = "root".into();
            t.target = Some(EntityRef::new("host", "h2"));
        }
        s.insert_task(&t).await.unwrap();
    }
    let ids = |v: Vec<Task>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_tasks(&TaskFilter::default()).await.unwrap()),
        ["t3", "t2", "t1", "t0"]
    );
    let f = TaskFilter {
        states: vec![TaskState::Queued, TaskState::Error],
        ..Default::default()
    };
    assert_eq!(ids(s.list_tasks(&f).await.unwrap()), ["t3", "t0"]);
    let f = TaskFilter {
        initiators: vec!["root".into()],
        ..Default::default()
    };
    assert_eq!(ids(s.list_tasks(&f).await.unwrap()), ["t3"]);
    let f = TaskFilter {
        target_ids: vec!["h1".into()],
        limit: Some(2),
        ..Default::default()
    };
    assert_eq!(ids(s.list_tasks(&f).await.unwrap()), ["t2", "t1"]);
    let f = TaskFilter {
        ids: vec!["t0".into(), "t2".into(), "nope".into()],
        kinds: vec![TaskKind::DiagnosticsSleep],
        ..Default::default()
    };
    assert_eq!(ids(s.list_tasks(&f).await.unwrap()), ["t2", "t0"]);
    // One grouped count per state, for the operator's metrics.
    s.insert_task(&task("t4", "task-4", TaskState::Success, 1_004))
        .await
        .unwrap();
    let counts = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
        v.iter().map(|(k, n)| ((*k).to_string(), *n)).collect()
    };
    assert_eq!(
        s.count_tasks_by_state().await.unwrap(),
        counts(&[("error", 1), ("queued", 1), ("running", 1), ("success", 2)])
    );
}

async fn unfinished_tasks_are_failed(s: Arc<dyn Store>) {
    for (i, state) in [TaskState::Queued, TaskState::Running, TaskState::Success]
        .into_iter()
        .enumerate()
    {
        s.insert_task(&task(
            &format!("t{i}"),
            &format!("task-{i}"),
            state,
            i as i64,
        ))
        .await
        .unwrap();
    }
    let reason = CoreError::Internal {
        message: "server restarted".into(),
    };
    assert_eq!(
        s.fail_unfinished_tasks(&reason, at(9_000)).await.unwrap(),
        2
    );
    for id in ["t0", "t1"] {
        let t = s.get_task(id).await.unwrap().unwrap();
        assert_eq!(t.state, TaskState::Error);
        assert_eq!(t.error, Some(reason.clone()));
        assert_eq!(t.completed_at, Some(at(9_000)));
    }
    assert_eq!(
        s.get_task("t2").await.unwrap().unwrap().state,
        TaskState::Success
    );
    assert_eq!(
        s.fail_unfinished_tasks(&reason, at(9_500)).await.unwrap(),
        0
    );
}
