//! The data at rest, through the real binary: a data dir that was initialised refuses to start
//! on an empty, missing or corrupt SQLite store (naming the file, exit code 65) and leaves the
//! write-ahead log as it found it; a clean stop leaves no write-ahead log behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::json;

/// `ferrocenter serve`'s exit code for a store it refuses to start on (EX_DATAERR).
const STORE_REFUSED: i32 = 65;

fn start(data: &Path) -> (Proc, String) {
    let api = free_local_addr();
    (serve_at(data, &api, &free_local_addr(), &[]), api)
}

/// Creates `n` datacenters through vAPI: rows the store must keep.
async fn write_datacenters(api: &str, n: usize) {
    let c = client();
    let token = login_at(api, ADMIN).await;
    for i in 0..n {
        let r = c
            .post(format!("https://{api}/api/vcenter/datacenter"))
            .header("vmware-api-session-id", &token)
            .json(&json!({"spec": {"name": format!("dc-{i:04}-{}", "x".repeat(60))}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
}

/// Starts the binary on `data` and expects the store refusal; returns standard error.
fn expect_refusal(data: &Path) -> String {
    let mut p = spawn_server(
        data,
        &[
            "--listen",
            "127.0.0.1:0",
            "--appliance-listen",
            "127.0.0.1:0",
        ],
    );
    let status = p.wait_exit(Duration::from_secs(30));
    let stdout = std::fs::read_to_string(&p.stdout_path).unwrap_or_default();
    assert_eq!(
        status.code(),
        Some(STORE_REFUSED),
        "stdout:\n{stdout}\nstderr:\n{}",
        p.stderr()
    );
    assert!(
        !stdout.contains("Generated"),
        "no new administrator password: {stdout}"
    );
    p.stderr()
}

#[tokio::test]
async fn an_emptied_or_missing_database_in_an_initialised_data_dir_is_refused_and_its_wal_kept() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = data.join("ferrocenter.db");

    // A clean stop, then the file emptied.
    let (mut p, api) = start(&data);
    write_datacenters(&api, 3).await;
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(0));
    std::fs::File::create(&db).unwrap(); // truncate -s 0
    let err = expect_refusal(&data);
    assert!(
        err.contains(&db.display().to_string()) && err.contains("empty"),
        "names the file and what is wrong: {err}"
    );
    assert!(err.contains("backup"), "says what to do: {err}");
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0, "left as it was");

    // A crash (the write-ahead log holds the latest writes), then the file emptied: the log
    // is left byte for byte as it was.
    let dir2 = tempfile::tempdir().unwrap();
    let data = dir2.path().join("data");
    let db = data.join("ferrocenter.db");
    let wal = data.join("ferrocenter.db-wal");
    let (mut p, api) = start(&data);
    write_datacenters(&api, 3).await;
    p.signal(libc::SIGKILL);
    p.wait_exit(Duration::from_secs(10));
    let log = std::fs::read(&wal).unwrap();
    assert!(!log.is_empty(), "the crash left a write-ahead log");
    std::fs::File::create(&db).unwrap();
    let err = expect_refusal(&data);
    assert!(err.contains(&db.display().to_string()), "{err}");
    assert_eq!(
        std::fs::read(&wal).unwrap(),
        log,
        "the write-ahead log is never discarded"
    );

    // The file gone altogether.
    std::fs::remove_file(&db).unwrap();
    let err = expect_refusal(&data);
    assert!(
        err.contains(&db.display().to_string()) && err.contains("missing"),
        "{err}"
    );
    assert_eq!(std::fs::read(&wal).unwrap(), log);
    assert!(!db.exists(), "no new database was made");
}

#[tokio::test]
async fn corrupt_pages_in_the_middle_of_the_database_are_refused_at_start() {
    use sqlx::{Connection, Row};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = data.join("ferrocenter.db");
    let (mut p, api) = start(&data);
    write_datacenters(&api, 200).await;
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(0));

    // Where the datacenters' rows are: the table's root page (an interior page, as 200 rows
    // need several), well after the file's header.
    let url = format!("sqlite://{}", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .unwrap();
    let page_size: i64 = sqlx::query("PRAGMA page_size")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    let root: i64 = sqlx::query("SELECT rootpage FROM sqlite_master WHERE name = 'datacenters'")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    conn.close().await.unwrap();
    let mut bytes = std::fs::read(&db).unwrap();
    let offset = ((root - 1) * page_size) as usize;
    assert!(
        offset > 100 && offset + 64 < bytes.len(),
        "root page {root} of a {}-byte file",
        bytes.len()
    );
    println!(
        "corrupting page {root} (bytes {offset}..{}) of a {}-byte database",
        offset + 64,
        bytes.len()
    );
    for b in &mut bytes[offset..offset + 64] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();

    let err = expect_refusal(&data);
    assert!(
        err.contains(&db.display().to_string()) && err.contains("corrupt"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_clean_stop_leaves_no_write_ahead_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let wal = data.join("ferrocenter.db-wal");
    let (mut p, api) = start(&data);
    write_datacenters(&api, 20).await;
    // Writers still at work when the stop comes: every pooled connection is in use.
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let api = api.clone();
            tokio::spawn(async move {
                let c = client();
                let Ok(r) = c
                    .post(format!("https://{api}/api/session"))
                    .basic_auth(ADMIN, Some(PASSWORD))
                    .send()
                    .await
                else {
                    return 0;
                };
                let token: String = r.json().await.unwrap();
                let mut n = 0;
                loop {
                    let r = c
                        .post(format!("https://{api}/api/vcenter/datacenter"))
                        .header("vmware-api-session-id", &token)
                        .json(&json!({"spec": {"name": format!("w{w}-{n}-{}", "y".repeat(50))}}))
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status() == 200 => n += 1,
                        _ => return n,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let during = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    println!("write-ahead log while serving: {during} bytes");
    assert!(during > 0, "the server writes through a write-ahead log");
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(0));
    let mut written = 0;
    for w in writers {
        written += w.await.unwrap();
    }
    let after = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    println!(
        "{written} datacenters written under load; write-ahead log after the stop: {after} bytes"
    );
    assert_eq!(after, 0, "the log was folded into the database at stop");

    // Nothing was lost by it.
    let (mut p, api) = start(&data);
    let token = login_at(&api, ADMIN).await;
    let dcs = get_json(&api, "/api/vcenter/datacenter", &token).await;
    assert!(dcs.as_array().unwrap().len() >= 20 + written, "{dcs}");
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(0));
}

#[tokio::test]
async fn another_servers_database_in_an_initialised_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for data in [&a, &b] {
        let (mut p, _) = start(data);
        p.signal(libc::SIGTERM);
        assert_eq!(p.wait_exit(Duration::from_secs(30)).code(), Some(0));
    }
    // b's database restored into a by mistake: a's secret.key could not open its hosts.
    std::fs::copy(b.join("ferrocenter.db"), a.join("ferrocenter.db")).unwrap();
    let err = expect_refusal(&a);
    assert!(err.contains("belongs to server"), "{err}");
}
