//! The deferred history import: a source store holding `events` events, `tasks` tasks and a
//! day of per-minute statistics is archived (part `seat`) with the backup's own code; a target
//! core over its own SQLite store, with history of its own, stages the archive and imports it
//! through its core operations, as the vAPI binding calls them. Prints the staging time, the
//! import's rows per second overall and per table (events/s is the headline figure). The
//! stores are written through the store port, as the backup benchmark writes its inventory;
//! the import runs in-process, so nothing but the import is measured.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ferrocenter_core::auth::{Caller, Realm, Role};
use ferrocenter_core::history_import::{HistorySource, Status, BATCH_ROWS_KEY};
use ferrocenter_core::ports::{AppendBatch, Cell, OnConflict, StatSample, Store, SystemClock};
use ferrocenter_core::recovery::{self, BackupSpec, PartId, RecoveryConfig};
use ferrocenter_core::{Core, CoreConfig};
use serde_json::json;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Params {
    pub events: usize,
    pub tasks: usize,
    pub batch_rows: usize,
}

/// 2026-01-05 00:00:00 UTC in seconds.
const DAY: i64 = 1_767_571_200;
const ITEMS: usize = 10;

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

/// Rows written in batches of 500 through `append_rows`.
async fn fill(
    store: &dyn Store,
    table: &str,
    columns: &[String],
    n: usize,
    row: impl Fn(usize) -> Vec<Cell>,
) -> anyhow::Result<()> {
    let mut i = 0;
    while i < n {
        let end = (i + 500).min(n);
        store
            .append_rows(AppendBatch {
                table,
                columns,
                rows: (i..end).map(&row).collect(),
                lookups: &[],
                on_conflict: OnConflict::Fail,
                progress: ("bench.fill", "0"),
            })
            .await?;
        i = end;
    }
    Ok(())
}

pub(crate) async fn history(
    store: &dyn Store,
    who: &str,
    events: usize,
    tasks: usize,
) -> anyhow::Result<()> {
    let event_columns = names(&[
        "time",
        "kind",
        "entity_kind",
        "entity_id",
        "entity_name",
        "user_name",
        "message",
        "data",
    ]);
    fill(store, "events", &event_columns, events, |i| {
        vec![
            Cell::Int((DAY + i64::try_from(i).unwrap_or(0)) * 1000),
            text("HostConnectedEvent"),
            text("host"),
            text(format!("{who}-host-{}", i % 1000)),
            text(format!("esx{}.{who}.example", i % 1000)),
            text("administrator@vsphere.local"),
            text(format!("Host esx{} in {who} is connected", i % 1000)),
            text(json!({"seq": i, "who": who}).to_string()),
        ]
    })
    .await?;
    let task_columns = names(&[
        "id",
        "moid",
        "kind",
        "initiator",
        "description",
        "state",
        "progress",
        "cancelable",
        "cancelled",
        "queued_at",
        "started_at",
        "completed_at",
    ]);
    let base = ferrocenter_core::model::new_uuid();
    fill(store, "tasks", &task_columns, tasks, |i| {
        let at = (DAY + i64::try_from(i).unwrap_or(0)) * 1000;
        vec![
            text(format!("{}{i:08x}", &base[..24])),
            text(format!("task-{}", i + 1)),
            text("host.reconnect"),
            text("administrator@vsphere.local"),
            text("Reconnect host"),
            text("success"),
            Cell::Int(100),
            Cell::Bool(false),
            Cell::Bool(false),
            Cell::Int(at),
            Cell::Int(at + 10),
            Cell::Int(at + 900),
        ]
    })
    .await?;
    store
        .reserve_sequence("task", u32::try_from(tasks + 1)?)
        .await?;
    // A day of per-minute samples of a few items, folded into their aggregates.
    for chunk in (0..1440i64).collect::<Vec<_>>().chunks(60) {
        let samples: Vec<StatSample> = chunk
            .iter()
            .flat_map(|m| {
                (0..ITEMS).map(move |k| StatSample {
                    item: format!("bench.item{k}"),
                    at: DAY + m * 60,
                    value: f64::from(u32::try_from(k).unwrap_or(0)) + 0.5,
                })
            })
            .collect();
        store.record_stats(&samples).await?;
    }
    Ok(())
}

async fn open(dir: &Path, name: &str) -> anyhow::Result<Arc<dyn Store>> {
    let url = format!("sqlite://{}", dir.join(name).display());
    Ok(ferrocenter_store::open(&url).await?)
}

pub async fn run(p: Params) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let key = ferrocenter_core::secrets::SecretBox::generate_key();
    let source = open(tmp.path(), "source.db").await?;
    let t = Instant::now();
    history(source.as_ref(), "source", p.events, p.tasks).await?;
    let fill_s = t.elapsed().as_secs_f64();
    let archive = tmp.path().join("archive");
    recovery::write_archive(
        source.as_ref(),
        &key,
        &archive,
        &BackupSpec {
            parts: vec![PartId::Common, PartId::Seat],
            password: None,
            comment: "bench".into(),
            system_name: "source".into(),
        },
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    drop(source);

    let target = open(tmp.path(), "target.db").await?;
    history(target.as_ref(), "target", 1000, 100).await?;
    target
        .put_setting(BATCH_ROWS_KEY, &p.batch_rows.to_string())
        .await?;
    let work = tmp.path().join("target-data");
    std::fs::create_dir_all(&work)?;
    let core = Core::new(
        target,
        Arc::new(SystemClock),
        CoreConfig {
            secret_key: key,
            recovery: RecoveryConfig {
                work_dir: work,
                ..RecoveryConfig::default()
            },
            ..CoreConfig::default()
        },
    );
    let root = Caller {
        principal_id: "bench".into(),
        user: "root".into(),
        realm: Realm::Local,
        role: Role::SuperAdmin,
    };
    let t = Instant::now();
    let staged = core
        .stage_history_import(
            &root,
            HistorySource::Directory {
                path: archive,
                password: None,
            },
        )
        .await?;
    let stage_s = t.elapsed().as_secs_f64();
    let rows_of: BTreeMap<String, u64> = staged.tables.iter().cloned().collect();

    let t = Instant::now();
    core.history_import_start(&root, None).await?;
    // Per table: when the import was first seen at it, polled every 20 ms.
    let mut seen: Vec<(String, f64)> = Vec::new();
    let info = loop {
        let info = core.history_import_get(&root).await?;
        let now = t.elapsed().as_secs_f64();
        if let Some(table) = info.progress.as_ref().and_then(|p| p.table.clone()) {
            if seen.last().is_none_or(|(t, _)| *t != table) {
                seen.push((table, now));
            }
        }
        if info.status != Status::Running {
            break info;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let import_s = t.elapsed().as_secs_f64();
    if info.status != Status::Succeeded {
        bail!("the import ended {:?}: {:?}", info.status, info.notes);
    }
    let mut per_table = serde_json::Map::new();
    for (i, (table, from)) in seen.iter().enumerate() {
        let to = seen.get(i + 1).map_or(import_s, |(_, at)| *at);
        let rows = rows_of.get(table).copied().unwrap_or(0);
        per_table.insert(
            table.clone(),
            json!({"rows": rows, "seconds": to - from, "rows_per_s": rows as f64 / (to - from)}),
        );
    }
    let events_per_s = per_table
        .get("events")
        .and_then(|v| v["rows_per_s"].as_f64())
        .context("the import was never seen at the events")?;
    let report = json!({
        "scenario": "history-import",
        "params": p,
        "machine": crate::sys::machine(),
        "fill_seconds": fill_s,
        "stage_seconds": stage_s,
        "rows": staged.total,
        "import_seconds": import_s,
        "rows_per_s": staged.total as f64 / import_s,
        "events_per_s": events_per_s,
        "tables": per_table,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    println!();
    println!("history import       {:>12}", "");
    println!("  staged rows        {:>12}", staged.total);
    println!("  staging            {stage_s:>10.2} s");
    println!("  import             {import_s:>10.2} s");
    println!(
        "  rows/s             {:>12.0}",
        staged.total as f64 / import_s
    );
    println!("  events/s           {events_per_s:>12.0}");
    Ok(())
}
