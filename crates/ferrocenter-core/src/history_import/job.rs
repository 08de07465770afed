//! The import job: the staged tables read batch by batch from where the last run stopped, each
//! batch appended with its progress in one store transaction, until the last; stopped between
//! batches by a pause or a cancel, and BLOCKED by an error it cannot get past by itself.
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::staged::{self, TableReader};
use super::tables::{prepare, rule_of};
use super::{
    ms, remove_staged, BlockReason, Blocked, Progress, Status, BATCH_PAUSE_KEY, BATCH_ROWS_KEY,
    DEFAULT_BATCH_ROWS, MAX_BATCH_PAUSE_MS, MAX_BATCH_ROWS, PROGRESS_KEY,
};
use crate::ports::AppendBatch;
use crate::Core;

/// How a run ended.
enum Ended {
    /// Every staged row is in.
    Done,
    /// Paused or cancelled: the operation that stopped it wrote the record.
    Stopped,
}

pub(super) async fn run(core: Arc<Core>, stop: CancellationToken) {
    let run = core.history_import.run.clone();
    let _running = run.lock().await;
    if stop.is_cancelled() {
        return;
    }
    let ended = import(&core, &stop).await;
    let _ops = core.history_import.ops.lock().await;
    if stop.is_cancelled() {
        return;
    }
    let Ok(Some(mut r)) = core.history_record().await else {
        return;
    };
    if r.status != Status::Running {
        return;
    }
    match ended {
        Ok(Ended::Stopped) => return,
        Ok(Ended::Done) => {
            r.status = Status::Succeeded;
            r.ended_ms = Some(ms(core.clock.now()));
            info!(rows = r.total, "history import complete");
        }
        Err(message) => {
            warn!(error = %message, "history import blocked");
            r.status = Status::Blocked;
            r.blocked = Some(Blocked {
                reason: BlockReason::Error,
                message,
                at_ms: ms(core.clock.now()),
            });
        }
    }
    if let Err(e) = core.put_history_record(&r).await {
        warn!(error = %e, "the history import's end could not be recorded");
        return;
    }
    if r.status == Status::Succeeded {
        remove_staged(&core.history_dir(), &r.staging);
    }
}

/// Rows per batch and the pause after each, from the settings (bad values give the defaults).
async fn tuning(core: &Core) -> (usize, Duration) {
    let setting = |key| async move { core.store.get_setting(key).await.ok().flatten() };
    let rows = setting(BATCH_ROWS_KEY)
        .await
        .and_then(|v| v.trim().parse::<usize>().ok())
        .map_or(DEFAULT_BATCH_ROWS, |n| n.clamp(1, MAX_BATCH_ROWS));
    let pause = setting(BATCH_PAUSE_KEY)
        .await
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(0, |n| n.min(MAX_BATCH_PAUSE_MS));
    (rows, Duration::from_millis(pause))
}

/// Imports from the recorded progress on; an `Err` is the message the import is BLOCKED with.
async fn import(core: &Core, stop: &CancellationToken) -> Result<Ended, String> {
    let dir = core.history_dir();
    let staged = staged::read(&dir)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "the staged history is gone from {}: cancel this import and stage it again",
                dir.display()
            )
        })?;
    let mut p = core
        .history_progress()
        .await
        .map_err(|e| e.to_string())?
        .filter(|p| p.staging == staged.id)
        .unwrap_or(Progress {
            staging: staged.id.clone(),
            table: 0,
            offset: 0,
            done: 0,
        });
    while let Some(t) = staged.tables.get(p.table) {
        let rule = rule_of(&t.name).ok_or_else(|| {
            format!(
                "the staged table '{}' is not one this server imports",
                t.name
            )
        })?;
        let (from, table, d) = (p.offset, t.clone(), dir.clone());
        let mut reader = tokio::task::spawn_blocking(move || TableReader::open(&d, &table, from))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        loop {
            if stop.is_cancelled() {
                return Ok(Ended::Stopped);
            }
            let (rows, pause) = tuning(core).await;
            let batch = reader.batch(rows).map_err(|e| e.to_string())?;
            if batch.is_empty() {
                break;
            }
            let n = batch.len() as u64;
            let (columns, cells) = prepare(core.store.as_ref(), rule, &t.columns, batch)
                .await
                .map_err(|e| format!("preparing a batch of {}: {e}", rule.label))?;
            let next = Progress {
                staging: p.staging.clone(),
                table: p.table,
                offset: p.offset + n,
                done: p.done + n,
            };
            let text = serde_json::to_string(&next).map_err(|e| e.to_string())?;
            core.store
                .append_rows(AppendBatch {
                    table: rule.table,
                    columns: &columns,
                    rows: cells,
                    lookups: rule.lookups,
                    on_conflict: rule.on_conflict,
                    progress: (PROGRESS_KEY, &text),
                })
                .await
                .map_err(|e| {
                    format!(
                        "the store refused a batch of {} (rows {} to {} of {}): {e}",
                        rule.label,
                        p.offset + 1,
                        p.offset + n,
                        t.rows
                    )
                })?;
            p = next;
            if !pause.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = stop.cancelled() => return Ok(Ended::Stopped),
                }
            }
        }
        p.table += 1;
        p.offset = 0;
    }
    Ok(Ended::Done)
}
