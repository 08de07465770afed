//! One suite, two engines: every case runs on SQLite and on PostgreSQL.
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ferrocenter_core::auth::{Group, Principal, Realm, Role};
use ferrocenter_core::model::EntityRef;
use ferrocenter_core::ports::{Store, StoreError, TaskFilter};
use ferrocenter_core::tasks::{Task, TaskState};
use ferrocenter_core::{from_millis, CoreError};
use ferrocenter_testkit::pg::PgCluster;

type Case = fn(Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        const CASES: &[(&str, Case)] = &[$((stringify!($name), |s| Box::pin($name(s)))),*];
    };
}

cases!(
    settings_round_trip,
    sequences_count_from_one_per_name,
    principals_are_unique_per_realm,
    principal_updates_and_deletes,
    groups_and_membership,
    tasks_round_trip_every_field,
    task_listing_filters_and_orders,
    unfinished_tasks_are_failed,
);

fn at(ms: i64) -> time::OffsetDateTime {
    from_millis(ms)
}

fn principal(realm: Realm, name: &str) -> Principal {
    Principal {
        id: uuid::Uuid::new_v4().simple().to_string(),
        realm,
        name: name.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        role: Role::Operator,
        full_name: Some("Full Name".into()),
        disabled: false,
        created_at: at(1_700_000_000_000),
        password_changed_at: at(1_700_000_000_500),
    }
}

fn task(id: &str, moid: &str, state: TaskState, queued_ms: i64) -> Task {
    Task {
        id: id.into(),
        moid: moid.into(),
        kind: "diagnostics.sleep".into(),
        target: Some(EntityRef::new("host", "h1")),
        initiator: "administrator@vsphere.local".into(),
        description: "Sleep".into(),
        state,
        progress: 0,
        progress_message: None,
        result: None,
        error: None,
        cancelable: true,
        cancelled: false,
        queued_at: at(queued_ms),
        started_at: None,
        completed_at: None,
    }
}

async fn settings_round_trip(s: Arc<dyn Store>) {
    assert_eq!(s.get_setting("a").await.unwrap(), None);
    s.put_setting("a", "1").await.unwrap();
    s.put_setting("a", "2").await.unwrap();
    assert_eq!(s.get_setting("a").await.unwrap().as_deref(), Some("2"));
    assert!(s.put_setting_if_absent("b", "x").await.unwrap());
    assert!(!s.put_setting_if_absent("b", "y").await.unwrap());
    assert_eq!(s.get_setting("b").await.unwrap().as_deref(), Some("x"));
}

async fn sequences_count_from_one_per_name(s: Arc<dyn Store>) {
    assert_eq!(s.next_sequence("task").await.unwrap(), 1);
    assert_eq!(s.next_sequence("task").await.unwrap(), 2);
    assert_eq!(s.next_sequence("host").await.unwrap(), 1);
    // Concurrent callers never receive the same value.
    let mut handles = Vec::new();
    for _ in 0..20 {
        let s = s.clone();
        handles.push(tokio::spawn(
            async move { s.next_sequence("vm").await.unwrap() },
        ));
    }
    let mut got = Vec::new();
    for h in handles {
        got.push(h.await.unwrap());
    }
    got.sort();
    assert_eq!(got, (1..=20).collect::<Vec<_>>());
}

async fn principals_are_unique_per_realm(s: Arc<dyn Store>) {
    let sso = Realm::sso("vsphere.local");
    let p = principal(sso.clone(), "alice");
    s.insert_principal(&p).await.unwrap();
    assert_eq!(
        s.find_principal(&sso, "alice").await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(
        s.find_principal(&Realm::Local, "alice").await.unwrap(),
        None
    );
    match s.insert_principal(&principal(sso.clone(), "alice")).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    // The same name in another realm is another principal.
    s.insert_principal(&principal(Realm::Local, "alice"))
        .await
        .unwrap();
    s.insert_principal(&principal(sso.clone(), "bob"))
        .await
        .unwrap();
    let names: Vec<String> = s
        .list_principals(&sso)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["alice", "bob"]);
}

async fn principal_updates_and_deletes(s: Arc<dyn Store>) {
    let mut p = principal(Realm::Local, "root");
    s.insert_principal(&p).await.unwrap();
    p.role = Role::SuperAdmin;
    p.disabled = true;
    p.password_hash = "$argon2id$other".into();
    p.full_name = None;
    p.password_changed_at = at(1_800_000_000_000);
    assert!(s.update_principal(&p).await.unwrap());
    assert_eq!(
        s.find_principal(&Realm::Local, "root").await.unwrap(),
        Some(p.clone())
    );
    assert!(s.delete_principal(&p.id).await.unwrap());
    assert!(!s.delete_principal(&p.id).await.unwrap());
    assert!(!s.update_principal(&p).await.unwrap());
}

async fn groups_and_membership(s: Arc<dyn Store>) {
    let sso = Realm::sso("vsphere.local");
    let p = principal(sso.clone(), "carol");
    s.insert_principal(&p).await.unwrap();
    let g = Group {
        id: "g1".into(),
        realm: sso.clone(),
        name: "SystemConfiguration.Administrators".into(),
        role: Some(Role::Admin),
        description: "admins".into(),
    };
    let g2 = Group {
        id: "g2".into(),
        realm: sso.clone(),
        name: "Readers".into(),
        role: None,
        description: String::new(),
    };
    s.insert_group(&g).await.unwrap();
    s.insert_group(&g2).await.unwrap();
    assert!(matches!(
        s.insert_group(&g).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.find_group(&sso, &g.name).await.unwrap(), Some(g.clone()));
    s.add_group_member(&g.id, &p.id).await.unwrap();
    s.add_group_member(&g.id, &p.id).await.unwrap(); // idempotent
    s.add_group_member(&g2.id, &p.id).await.unwrap();
    assert_eq!(
        s.groups_of(&p.id).await.unwrap(),
        vec![g2.clone(), g.clone()]
    );
    assert!(s.remove_group_member(&g2.id, &p.id).await.unwrap());
    assert_eq!(s.groups_of(&p.id).await.unwrap(), vec![g.clone()]);
    // Foreign keys hold: membership of an unknown principal is refused, and deleting a
    // principal removes its memberships.
    assert!(s.add_group_member(&g.id, "nobody").await.is_err());
    s.delete_principal(&p.id).await.unwrap();
    assert!(s.groups_of(&p.id).await.unwrap().is_empty());
}

async fn tasks_round_trip_every_field(s: Arc<dyn Store>) {
    let mut t = task("t1", "task-1", TaskState::Queued, 1_000);
    s.insert_task(&t).await.unwrap();
    assert_eq!(s.get_task("t1").await.unwrap(), Some(t.clone()));
    t.state = TaskState::Error;
    t.progress = 42;
    t.progress_message = Some("half way".into());
    t.result = Some(serde_json::json!({"a": [1, 2]}));
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
        kinds: vec!["diagnostics.sleep".into()],
        ..Default::default()
    };
    assert_eq!(ids(s.list_tasks(&f).await.unwrap()), ["t2", "t0"]);
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

/// Runs a case on a fresh database, then reopens it: the migrations must be a no-op the second
/// time and what was written must still be there.
async fn run_case(url: &str, case: &Case, engine: &str) {
    let store = ferrocenter_store::open(url).await.unwrap();
    assert_eq!(store.engine(), engine);
    store.put_setting("suite.marker", "kept").await.unwrap();
    case(store).await;
    let again = ferrocenter_store::open(url).await.unwrap();
    assert_eq!(
        again.get_setting("suite.marker").await.unwrap().as_deref(),
        Some("kept")
    );
}

#[tokio::test]
async fn store_suite_sqlite() {
    for (name, case) in CASES {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        eprintln!("sqlite: {name}");
        run_case(&url, case, "sqlite").await;
    }
}

#[tokio::test]
async fn store_suite_postgres() {
    let cluster = match PgCluster::start() {
        Ok(c) => c,
        Err(why) => {
            println!("SKIPPED store_suite_postgres: {why}");
            return;
        }
    };
    for (i, (name, case)) in CASES.iter().enumerate() {
        let url = cluster.create_database(&format!("case{i}")).unwrap();
        eprintln!("postgresql: {name}");
        run_case(&url, case, "postgresql").await;
    }
}

#[tokio::test]
async fn bad_urls_name_the_key() {
    let e = ferrocenter_store::open("mysql://x").await.err().unwrap();
    assert!(e.to_string().starts_with("database_url:"), "{e}");
}
