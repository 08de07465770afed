//! Client-chosen task ids (ZStack's X-Job-UUID): the first task a call submits takes the id,
//! a taken id starts nothing, and the task is found under it after a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::sync::Arc;
use std::time::Duration;

use ferrocenter_core::auth::Listener;
use ferrocenter_core::diagnostics::SleepSpec;
use ferrocenter_core::ports::{SystemClock, TaskFilter};
use ferrocenter_core::tasks::with_task_id;
use ferrocenter_core::{Core, CoreConfig, CoreError};

const PW: &str = "Initial-Pass-1";

async fn core(path: &std::path::Path) -> Arc<Core> {
    let store = ferrocenter_store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let core = Core::new(store, Arc::new(SystemClock), CoreConfig::default());
    core.auth.bootstrap(PW).await.unwrap();
    core
}

fn sleep(ms: u64) -> SleepSpec {
    SleepSpec {
        duration_ms: ms,
        target: None,
        cancelable: false,
        timeout_ms: None,
        fail_message: None,
    }
}

#[tokio::test]
async fn a_chosen_id_names_the_first_task_of_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let core = core(&db).await;
    let admin = core
        .auth
        .authenticate(Listener::Api, "administrator@vsphere.local", PW)
        .await
        .unwrap();
    let id = "0123456789abcdef0123456789abcdef".to_string();
    let (first, second) = with_task_id(id.clone(), async {
        let a = core.diagnostic_sleep(&admin, sleep(10)).await.unwrap();
        let b = core.diagnostic_sleep(&admin, sleep(10)).await.unwrap();
        (a, b)
    })
    .await;
    assert_eq!(first.id, id);
    assert_ne!(second.id, id, "only the first task takes the id");
    // Taken: nothing starts.
    let before = core.tasks.list(&TaskFilter::default()).await.unwrap().len();
    match with_task_id(id.clone(), core.diagnostic_sleep(&admin, sleep(10))).await {
        Err(CoreError::AlreadyExists { what, name }) => {
            assert_eq!((what.as_str(), name), ("task", id.clone()));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        core.tasks.list(&TaskFilter::default()).await.unwrap().len(),
        before
    );
    // Not 32 lower-case hex digits.
    for bad in ["short", "0123456789ABCDEF0123456789ABCDEF"] {
        assert!(matches!(
            with_task_id(bad.into(), core.diagnostic_sleep(&admin, sleep(10))).await,
            Err(CoreError::InvalidArgument { .. })
        ));
    }
    // After a restart the task is still found under its id.
    for _ in 0..100 {
        if core.tasks.get(&id).await.unwrap().state.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    core.tasks.shutdown(Duration::from_secs(1)).await;
    drop(core);
    let again = self::core(&db).await;
    assert!(again.tasks.get(&id).await.unwrap().state.is_finished());
}
