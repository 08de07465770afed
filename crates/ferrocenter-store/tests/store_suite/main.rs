//! One suite, two engines: every case runs on SQLite and on PostgreSQL. One module per
//! aggregate, as the port has one trait per aggregate (and `sql_store` one file).
// A case fails by panicking; its helpers unwrap for the same reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ferrocenter_core::ports::Store;
use ferrocenter_testkit::pg::PgCluster;

type Case = fn(Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// A module's cases, each named by its function.
#[macro_export]
macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), |s| Box::pin($name(s)))),*]
    };
}

mod append;
mod claims;
mod containers;
mod datastores_networks;
mod events;
mod fixtures;
mod hosts;
mod identity;
mod moids;
mod queries;
mod read_model;
mod registration;
mod schedules;
mod settings;
mod stats;
mod tags;
mod tasks;
mod vms;

/// Every module's cases.
fn cases() -> impl Iterator<Item = &'static (&'static str, Case)> {
    [
        settings::CASES,
        identity::CASES,
        tasks::CASES,
        containers::CASES,
        hosts::CASES,
        claims::CASES,
        vms::CASES,
        registration::CASES,
        datastores_networks::CASES,
        events::CASES,
        tags::CASES,
        moids::CASES,
        queries::CASES,
        stats::CASES,
        schedules::CASES,
        append::CASES,
    ]
    .into_iter()
    .flatten()
}

/// Runs a case on a fresh database, then reopens it: the migrations must be a no-op the second
/// time and what was written must still be there.
async fn run_case(url: &str, case: &Case, engine: &str) {
    run_case_on(url, case, engine, |s| Box::pin(async { s })).await;
}

type Front = fn(Arc<dyn Store>) -> Pin<Box<dyn Future<Output = Arc<dyn Store>> + Send>>;

/// [`run_case`] on what `front` puts in front of the opened store.
async fn run_case_on(url: &str, case: &Case, engine: &str, front: Front) {
    let store = front(ferrocenter_store::open(url).await.unwrap()).await;
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
    for (name, case) in cases() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        eprintln!("sqlite: {name}");
        run_case(&url, case, "sqlite").await;
    }
}

/// The same cases through the read model: what it answers from memory must be what the store
/// answers, and what it writes must reach the store.
#[tokio::test]
async fn store_suite_sqlite_behind_the_read_model() {
    for (name, case) in cases() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        eprintln!("read model over sqlite: {name}");
        // Built before the case writes: its writes change the view as they happen.
        run_case_on(&url, case, "sqlite", |s| {
            Box::pin(async {
                let model = ferrocenter_core::read_model::ReadModel::wrap(s, 10);
                model.load().await.unwrap();
                model as Arc<dyn Store>
            })
        })
        .await;
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
    for (i, (name, case)) in cases().enumerate() {
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
