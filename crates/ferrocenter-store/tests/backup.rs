//! Backup archives through the `Store` port on both engines: an inventory written, archived,
//! restored into a fresh store (of the same engine and of the other) and compared table by
//! table and record by record; encryption, the secrets rule, tampering, truncation, wrong
//! passwords and newer archives.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use ferrocenter_core::auth::{Group, Realm, Role};
use ferrocenter_core::inventory::query::TagKind;
use ferrocenter_core::inventory::{EventFilter, FolderKind, HostFilter};
use ferrocenter_core::ports::{Cell, LocationType, StatSample, Store, StoreError, TableSink};
use ferrocenter_core::recovery::schedules::{BackupSchedule, Recurrence};
use ferrocenter_core::recovery::{self, parts::SEALED_COLUMNS, BackupSpec, PartId, RecoveryError};
use ferrocenter_core::secrets::SecretBox;
use ferrocenter_core::tasks::TaskState;
use ferrocenter_testkit::pg::PgCluster;

#[path = "store_suite/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

const HOSTS: usize = 6;
const VMS_PER_HOST: usize = 4;

fn now() -> time::OffsetDateTime {
    fixtures::at(1_760_000_000_000)
}

/// An inventory with a record in every table: identities, containers, folders (a parent and
/// its child), hosts with sealed credentials, facts, tags and values, VMs, datastores,
/// networks, events, tasks and statistics.
async fn populate(store: &Arc<dyn Store>, key: &[u8; 32]) {
    let sealer = SecretBox::new(key);
    store
        .put_setting("server.instance_uuid", "0123abcd")
        .await
        .unwrap();
    store.reserve_sequence("host", 100).await.unwrap();
    let p = fixtures::principal(Realm::sso("vsphere.local"), "administrator");
    store.insert_principal(&p).await.unwrap();
    let g = Group {
        id: "g1".into(),
        realm: Realm::sso("vsphere.local"),
        name: "Administrators".into(),
        role: Some(Role::Admin),
        description: "admins".into(),
    };
    store.insert_group(&g).await.unwrap();
    store.add_group_member("g1", &p.id).await.unwrap();
    // A schedule with both passwords sealed, and one without any.
    store
        .insert_backup_schedule(&BackupSchedule {
            id: "nightly".into(),
            parts: vec!["common".into(), "seat".into()],
            location: "sftp://backup.example/srv".into(),
            location_type: LocationType::Sftp,
            location_user: Some("bk".into()),
            location_password: Some(sealer.seal("location-password").unwrap()),
            backup_password: Some(sealer.seal("archive-password").unwrap()),
            enable: true,
            recurrence: Some(Recurrence {
                minute: 30,
                hour: 2,
                days: vec![time::Weekday::Monday, time::Weekday::Friday],
            }),
            max_count: Some(3),
            created_at: now(),
            updated_at: now(),
            last_run_at: Some(now()),
        })
        .await
        .unwrap();
    store
        .insert_backup_schedule(&BackupSchedule {
            id: "by-hand".into(),
            parts: vec!["common".into()],
            location: "/srv/backups".into(),
            location_type: LocationType::Path,
            location_user: None,
            location_password: None,
            backup_password: None,
            enable: false,
            recurrence: None,
            max_count: None,
            created_at: now(),
            updated_at: now(),
            last_run_at: None,
        })
        .await
        .unwrap();
    store
        .insert_datacenter(&fixtures::datacenter("dc1", "datacenter-2", "DC"))
        .await
        .unwrap();
    store
        .insert_cluster(&fixtures::cluster("c1", "domain-c3", "dc1", "Cluster"))
        .await
        .unwrap();
    // The child is inserted first in no order an export keeps: restore must cope either way.
    store
        .insert_folder(&fixtures::folder(
            "root",
            None,
            None,
            FolderKind::Datacenter,
            "Datacenters",
        ))
        .await
        .unwrap();
    store
        .insert_folder(&fixtures::folder(
            "hf",
            Some("root"),
            Some("dc1"),
            FolderKind::Host,
            "host",
        ))
        .await
        .unwrap();
    store
        .insert_folder(&fixtures::folder(
            "sub",
            Some("hf"),
            Some("dc1"),
            FolderKind::Host,
            "sub",
        ))
        .await
        .unwrap();
    let ds = store
        .upsert_datastore(&fixtures::datastore(
            "ds1",
            "datastore-4",
            "dc1",
            "local",
            1 << 30,
        ))
        .await
        .unwrap();
    let net = store
        .upsert_network(&fixtures::network(
            "n1",
            "network-5",
            "dc1",
            "default",
            Some(10),
        ))
        .await
        .unwrap();
    let field = store
        .ensure_custom_field("owner", "HostSystem", 101)
        .await
        .unwrap();
    for i in 0..HOSTS {
        let mut h = fixtures::host(
            &format!("h{i}"),
            &format!("host-{}", 10 + i),
            "dc1",
            &format!("esx{i}.example"),
        );
        h.cluster_id = (i % 2 == 0).then(|| "c1".to_string());
        h.agent_secret = sealer.seal(&format!("service-password-{i}")).unwrap();
        h.facts = Some(Arc::new(fixtures::full_facts()));
        h.runtime = Some(fixtures::full_runtime());
        h.tags = vec![format!("rack:{i}")];
        store.insert_host(&h).await.unwrap();
        store
            .add_tags(&h.id, TagKind::User, &[format!("team-{i}"), "prod".into()])
            .await
            .unwrap();
        store
            .set_host_value(
                &h.id,
                &format!("field:{}", field.key),
                &format!("owner {i}"),
            )
            .await
            .unwrap();
        store
            .set_host_datastores(&h.id, std::slice::from_ref(&ds.id))
            .await
            .unwrap();
        store
            .set_host_networks(&h.id, std::slice::from_ref(&net.id))
            .await
            .unwrap();
        let vms: Vec<_> = (0..VMS_PER_HOST)
            .map(|j| {
                fixtures::vm(
                    &format!("v{i}-{j}"),
                    &format!("vm-{}", 1000 + i * 10 + j),
                    &h.id,
                    &format!("4c4c4544-{i:04}-{j:04}"),
                    &format!("vm {i}.{j}"),
                )
            })
            .collect();
        store.insert_vms(&vms).await.unwrap();
        store
            .append_event(&fixtures::event(
                "HostConnectedEvent",
                &h.id,
                1_700_000_100_000 + i as i64,
            ))
            .await
            .unwrap();
    }
    for (n, state) in [TaskState::Success, TaskState::Error, TaskState::Success]
        .into_iter()
        .enumerate()
    {
        store
            .insert_task(&fixtures::task(
                &format!("t{n}"),
                &format!("task-{n}"),
                state,
                1_700_000_000_000 + n as i64,
            ))
            .await
            .unwrap();
    }
    store
        .record_stats(&[
            StatSample {
                item: "cpu.util".into(),
                at: 1_700_000_000,
                value: 12.5,
            },
            StatSample {
                item: "mem.util".into(),
                at: 1_700_000_000,
                value: 40.0,
            },
        ])
        .await
        .unwrap();
}

/// Every table's rows, sorted, with sealed credentials opened: what two stores must agree on.
#[derive(Default)]
struct Collect {
    tables: BTreeMap<String, (Vec<String>, Vec<String>)>,
    current: String,
    sealed: Vec<usize>,
    opener: Option<SecretBox>,
}

impl TableSink for Collect {
    fn begin_table(&mut self, table: &str, columns: &[String]) -> Result<(), StoreError> {
        let mut cols = columns.to_vec();
        cols.sort();
        self.tables.insert(table.into(), (cols, Vec::new()));
        self.current = table.into();
        self.sealed = SEALED_COLUMNS
            .iter()
            .filter(|(t, _)| *t == table)
            .filter_map(|(_, c)| columns.iter().position(|n| n == c))
            .collect();
        // Cells are compared by column name, whatever each engine's column order.
        self.tables.get_mut(table).unwrap().0 = columns.to_vec();
        Ok(())
    }

    fn row(&mut self, mut cells: Vec<Cell>) -> Result<(), StoreError> {
        for &i in &self.sealed {
            if let (Cell::Text(s), Some(o)) = (&mut cells[i], &self.opener) {
                if !s.is_empty() {
                    *s = o.open(s).unwrap();
                }
            }
        }
        let (cols, rows) = self.tables.get_mut(&self.current).unwrap();
        let mut named: Vec<(String, Cell)> = cols.iter().cloned().zip(cells).collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        rows.push(serde_json::to_string(&named).unwrap());
        Ok(())
    }
}

async fn contents(store: &Arc<dyn Store>, key: &[u8; 32]) -> BTreeMap<String, Vec<String>> {
    let mut c = Collect {
        opener: Some(SecretBox::new(key)),
        ..Default::default()
    };
    let tables = store.data_tables().await.unwrap();
    store.export_tables(&tables, &mut c).await.unwrap();
    c.tables
        .into_iter()
        .map(|(t, (_, mut rows))| {
            rows.sort();
            (t, rows)
        })
        .collect()
}

/// The records as the port reads them back: ids, moIds, names, tags, values, events.
async fn records(store: &Arc<dyn Store>) -> Vec<String> {
    let mut out = Vec::new();
    for h in store.list_hosts(&HostFilter::default()).await.unwrap() {
        out.push(format!(
            "{} {} {} {:?} {:?} {:?}",
            h.id,
            h.moid,
            h.name,
            h.tags,
            store.tags_of(&h.id, TagKind::User).await.unwrap(),
            store.host_values(&h.id).await.unwrap()
        ));
    }
    for v in store.list_vms(None).await.unwrap() {
        out.push(format!("{} {} {} {}", v.id, v.moid, v.name, v.host_id));
    }
    for s in store.list_backup_schedules().await.unwrap() {
        out.push(format!("{s:?}"));
    }
    for e in store.list_events(&EventFilter::default()).await.unwrap() {
        out.push(format!(
            "{} {} {} {}",
            e.seq, e.kind, e.entity_id, e.message
        ));
    }
    out.sort();
    out
}

async fn fresh_sqlite(dir: &Path, name: &str) -> Arc<dyn Store> {
    ferrocenter_store::open(&format!("sqlite://{}", dir.join(name).display()))
        .await
        .unwrap()
}

fn spec(password: Option<&str>) -> BackupSpec<'_> {
    BackupSpec {
        parts: vec![PartId::Common, PartId::Seat],
        password,
        comment: "round trip".into(),
        system_name: "vc-test".into(),
    }
}

/// Archives `from`, restores into `to` (whose server has another key when a password seals
/// the credentials), and compares both.
async fn round_trip(from: Arc<dyn Store>, to: Arc<dyn Store>, password: Option<&str>, dir: &Path) {
    let key_from = [7u8; 32];
    let key_to = if password.is_some() {
        [9u8; 32]
    } else {
        key_from
    };
    populate(&from, &key_from).await;
    // What the fresh store had of its own is replaced.
    to.put_setting("only.in.target", "x").await.unwrap();
    let archive = dir.join(format!("archive-{}-{}", from.engine(), to.engine()));
    let m = recovery::write_archive(&*from, &key_from, &archive, &spec(password), now())
        .await
        .unwrap();
    assert_eq!(m.parts.len(), 2);
    assert_eq!(m.encryption.is_some(), password.is_some());
    let text = std::fs::read_to_string(archive.join("manifest.json")).unwrap();
    for i in 0..HOSTS {
        assert!(!text.contains(&format!("service-password-{i}")));
    }
    if let Some(pw) = password {
        assert!(!text.contains(pw), "the password is never stored");
    }
    let opened = recovery::open_archive(&archive, password).unwrap();
    recovery::restore_archive(&*to, &key_to, &opened, None)
        .await
        .unwrap();
    let (a, b) = (
        contents(&from, &key_from).await,
        contents(&to, &key_to).await,
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (table, rows) in &a {
        assert_eq!(rows, &b[table], "table {table}");
    }
    assert!(a["hosts"].len() == HOSTS && a["vms"].len() == HOSTS * VMS_PER_HOST);
    assert_eq!(records(&from).await, records(&to).await);
    assert_eq!(to.get_setting("only.in.target").await.unwrap(), None);
    // Generated keys go on past the restored rows.
    let e = to
        .append_event(&fixtures::event(
            "HostDisconnectedEvent",
            "h0",
            1_700_000_200_000,
        ))
        .await
        .unwrap();
    assert_eq!(e.seq, HOSTS as i64 + 1);
    assert_eq!(to.next_sequence("host").await.unwrap(), 101);
}

#[tokio::test]
async fn sqlite_round_trip_encrypted_and_not() {
    let dir = tempfile::tempdir().unwrap();
    for (n, pw) in [None, Some("backup pass phrase")].into_iter().enumerate() {
        let from = fresh_sqlite(dir.path(), &format!("from{n}.db")).await;
        let to = fresh_sqlite(dir.path(), &format!("to{n}.db")).await;
        round_trip(from, to, pw, &dir.path().join(format!("a{n}"))).await;
    }
}

#[tokio::test]
async fn across_engines_both_ways() {
    let cluster = match PgCluster::start() {
        Ok(c) => c,
        Err(why) => {
            println!("SKIPPED across_engines_both_ways: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let pg = |name: &str| {
        let url = cluster.create_database(name).unwrap();
        async move { ferrocenter_store::open(&url).await.unwrap() }
    };
    // SQLite to PostgreSQL, encrypted.
    let from = fresh_sqlite(dir.path(), "s.db").await;
    round_trip(
        from,
        pg("restored").await,
        Some("pw"),
        &dir.path().join("sp"),
    )
    .await;
    // PostgreSQL to SQLite, plain, and PostgreSQL to PostgreSQL.
    round_trip(
        pg("source").await,
        fresh_sqlite(dir.path(), "t.db").await,
        None,
        &dir.path().join("ps"),
    )
    .await;
    round_trip(
        pg("source2").await,
        pg("target2").await,
        Some("pw2"),
        &dir.path().join("pp"),
    )
    .await;
}

async fn small_archive(dir: &Path, password: Option<&str>) -> std::path::PathBuf {
    let store = fresh_sqlite(dir, "src.db").await;
    populate(&store, &[7u8; 32]).await;
    let archive = dir.join("archive");
    recovery::write_archive(&*store, &[7u8; 32], &archive, &spec(password), now())
        .await
        .unwrap();
    archive
}

fn flip_byte(path: &Path, at_fraction: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = bytes.len() / at_fraction;
    bytes[i] ^= 0x40;
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn tampered_and_truncated_parts_fail_their_checksum() {
    for pw in [None, Some("pw")] {
        let dir = tempfile::tempdir().unwrap();
        let archive = small_archive(dir.path(), pw).await;
        let m = recovery::open_archive(&archive, pw).unwrap().manifest;
        let seat = m.parts.iter().find(|p| p.id == "seat").unwrap();
        flip_byte(&archive.join(&seat.file), 2);
        let e = recovery::open_archive(&archive, pw).unwrap_err();
        assert!(
            matches!(&e, RecoveryError::Checksum { part, .. } if part == "seat"),
            "{e}"
        );
        assert!(e.to_string().contains("'seat'"), "{e}");
        let common = m.parts.iter().find(|p| p.id == "common").unwrap();
        let path = archive.join(&common.file);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
        let e = recovery::open_archive(&archive, pw).unwrap_err();
        assert!(
            matches!(&e, RecoveryError::Checksum { part, .. } if part == "common"),
            "{e}"
        );
    }
}

#[tokio::test]
async fn passwords_are_required_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_archive(dir.path(), Some("right")).await;
    assert!(matches!(
        recovery::open_archive(&archive, None),
        Err(RecoveryError::PasswordRequired)
    ));
    let e = recovery::open_archive(&archive, Some("wrong")).unwrap_err();
    assert!(matches!(e, RecoveryError::WrongPassword), "{e}");
    assert_eq!(e.to_string(), "wrong backup password");
    recovery::open_archive(&archive, Some("right")).unwrap();
}

fn edit_manifest(archive: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = archive.join("manifest.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
}

#[tokio::test]
async fn newer_archives_are_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_archive(dir.path(), None).await;
    let target = fresh_sqlite(dir.path(), "target.db").await;
    let here = target.schema_version().await.unwrap();
    edit_manifest(&archive, |v| {
        v["schema_version"] = (here + 1).into();
        v["version"] = "9.9.9".into();
    });
    let opened = recovery::open_archive(&archive, None).unwrap();
    let e = recovery::restore_archive(&*target, &[7u8; 32], &opened, None)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, RecoveryError::SchemaNewer { .. }), "{text}");
    assert!(
        text.contains("9.9.9") && text.contains(&format!("schema version {}", here + 1)),
        "{text}"
    );
    assert!(text.contains(&format!("schema version {here}")), "{text}");
    assert!(target
        .list_hosts(&HostFilter::default())
        .await
        .unwrap()
        .is_empty());
    edit_manifest(&archive, |v| v["format"] = 2.into());
    assert!(matches!(
        recovery::open_archive(&archive, None),
        Err(RecoveryError::FormatNewer {
            archive: 2,
            here: 1
        })
    ));
}

#[tokio::test]
async fn without_a_password_credentials_need_the_same_server_key() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_archive(dir.path(), None).await;
    let opened = recovery::open_archive(&archive, None).unwrap();
    let target = fresh_sqlite(dir.path(), "target.db").await;
    let e = recovery::restore_archive(&*target, &[8u8; 32], &opened, None)
        .await
        .unwrap_err();
    assert!(matches!(e, RecoveryError::SecretKeyMismatch), "{e}");
    assert!(target
        .list_hosts(&HostFilter::default())
        .await
        .unwrap()
        .is_empty());
}

/// A part whose checksum holds but whose rows do not fit the store (rewritten with a fixed
/// manifest): the import fails and the store keeps what it had.
#[tokio::test]
async fn a_failed_restore_leaves_the_store_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_archive(dir.path(), None).await;
    let path = archive.join("common.jsonl.zst");
    let text =
        String::from_utf8(zstd::decode_all(std::fs::File::open(&path).unwrap()).unwrap()).unwrap();
    // A VM on a host the archive does not hold: the reference fails at commit.
    let broken = text.replacen("\"h0\",\"4c4c4544", "\"nohost\",\"4c4c4544", 1);
    assert_ne!(broken, text, "the VM row's host id was found");
    let packed = zstd::encode_all(broken.as_bytes(), 3).unwrap();
    std::fs::write(&path, &packed).unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&packed))
    };
    edit_manifest(&archive, |v| {
        for p in v["parts"].as_array_mut().unwrap() {
            if p["id"] == "common" {
                p["sha256"] = sha.clone().into();
                p["bytes"] = packed.len().into();
            }
        }
    });
    let target = fresh_sqlite(dir.path(), "target.db").await;
    target.put_setting("kept", "yes").await.unwrap();
    let opened = recovery::open_archive(&archive, None).unwrap();
    let e = recovery::restore_archive(&*target, &[7u8; 32], &opened, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, RecoveryError::Store(StoreError::Conflict(_))),
        "{e}"
    );
    assert_eq!(
        target.get_setting("kept").await.unwrap().as_deref(),
        Some("yes")
    );
    assert!(target.list_vms(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn part_sizes_are_estimated_before_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_sqlite(dir.path(), "s.db").await;
    populate(&store, &[7u8; 32]).await;
    for table in store.data_tables().await.unwrap() {
        assert!(
            recovery::parts::part_of(&table).is_some(),
            "{table} has no part"
        );
    }
    let sizes = recovery::part_sizes(&*store).await.unwrap();
    let common = sizes.iter().find(|s| s.id == PartId::Common).unwrap();
    let seat = sizes.iter().find(|s| s.id == PartId::Seat).unwrap();
    assert!(
        common.rows >= (HOSTS * (VMS_PER_HOST + 1)) as u64,
        "{common:?}"
    );
    assert!(seat.rows >= HOSTS as u64 + 3, "{seat:?}");
    let m = recovery::write_archive(
        &*store,
        &[7u8; 32],
        &dir.path().join("a"),
        &BackupSpec {
            parts: vec![PartId::Common],
            password: None,
            comment: String::new(),
            system_name: String::new(),
        },
        now(),
    )
    .await
    .unwrap();
    // Only common was asked for; the estimate bounds what zstd wrote.
    assert_eq!(m.parts.len(), 1);
    assert!(
        m.parts[0].bytes < common.bytes,
        "{} vs {}",
        m.parts[0].bytes,
        common.bytes
    );
    println!(
        "estimated common {} KiB, seat {} KiB; written common {} bytes",
        common.kib(),
        seat.kib(),
        m.parts[0].bytes
    );
}

/// Figures, not assertions: archive size and seconds to back up and restore an inventory of
/// `FERROCENTER_BENCH_HOSTS` hosts (10,000) with ten VMs each, on SQLite.
#[tokio::test]
#[ignore = "benchmark: cargo test -p ferrocenter-store --test backup -- --ignored --nocapture"]
async fn benchmark_backup_and_restore() {
    let hosts: usize = std::env::var("FERROCENTER_BENCH_HOSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_sqlite(dir.path(), "big.db").await;
    let key = [7u8; 32];
    let sealer = SecretBox::new(&key);
    store
        .insert_datacenter(&fixtures::datacenter("dc1", "datacenter-2", "DC"))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    for i in 0..hosts {
        let mut h = fixtures::host(
            &format!("h{i}"),
            &format!("host-{}", 10 + i),
            "dc1",
            &format!("esx{i}.example"),
        );
        h.agent_secret = sealer.seal("service-password").unwrap();
        h.facts = Some(Arc::new(fixtures::full_facts()));
        store.insert_host(&h).await.unwrap();
        let vms: Vec<_> = (0..10)
            .map(|j| {
                fixtures::vm(
                    &format!("v{i}-{j}"),
                    &format!("vm-{}", 100_000 + i * 10 + j),
                    &h.id,
                    &format!("4c4c4544-{i:06}-{j:04}"),
                    &format!("vm {i}.{j}"),
                )
            })
            .collect();
        store.insert_vms(&vms).await.unwrap();
    }
    println!(
        "generated {hosts} hosts and {} VMs in {:.1} s",
        hosts * 10,
        started.elapsed().as_secs_f64()
    );
    let sizes = recovery::part_sizes(&*store).await.unwrap();
    println!("estimated: {sizes:?}");
    for pw in [None, Some("bench password")] {
        let archive = dir.path().join(format!("archive-{}", pw.is_some()));
        let started = std::time::Instant::now();
        let m = recovery::write_archive(&*store, &key, &archive, &spec(pw), now())
            .await
            .unwrap();
        let backup = started.elapsed().as_secs_f64();
        let bytes: u64 = m.parts.iter().map(|p| p.bytes).sum();
        let target = fresh_sqlite(dir.path(), &format!("restored-{}.db", pw.is_some())).await;
        let started = std::time::Instant::now();
        let opened = recovery::open_archive(&archive, pw).unwrap();
        recovery::restore_archive(&*target, &key, &opened, None)
            .await
            .unwrap();
        let restore = started.elapsed().as_secs_f64();
        assert_eq!(target.list_vms(None).await.unwrap().len(), hosts * 10);
        println!(
            "encrypted={}: archive {:.1} MiB, backup {backup:.1} s, restore {restore:.1} s",
            pw.is_some(),
            bytes as f64 / 1_048_576.0
        );
    }
}
