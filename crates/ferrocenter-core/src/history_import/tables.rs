//! How each history table merges into a live store, whose server has made tasks, events and
//! statistics of its own since it started. Nothing is emptied and nothing of either side is
//! lost; keys are remapped where the two servers' keys mean different things:
//!
//! - **tasks**: the id (128 random bits; what vAPI and ZStack name a task by) is kept, so a task
//!   id a client noted on the source still finds it here; a taken id can only be the same task
//!   imported before, so that row is skipped. The moId (`task-N`) comes from each server's own
//!   counter and would collide: each imported task takes a fresh one from this server's
//!   counter. Tasks the source had not finished (queued or running when the backup was read:
//!   the backup's own task always is) are closed as failed, since no engine here runs them.
//! - **events**: the key `seq` is vim's event key and chainId, and the cursor event collectors
//!   read on from (`after_seq`). Imported events get new keys after this server's own, in their
//!   original order: no key is shared, and a collector reading on sees them as new rather than
//!   missing them behind its cursor. Their `time` is the original, so a listing by time
//!   interleaves them with this server's own.
//! - **statistics**: an item is matched by its id (`cpu.util`), not by the source's row number;
//!   samples and aggregates reach their item by that id (`KeyLookup`). A sample of an item at an
//!   instant this server also sampled keeps this server's reading; an aggregate bucket both
//!   servers hold is folded (counts and totals added, the lower low and the higher high), so it
//!   aggregates both sets of samples.
use crate::ports::{Cell, KeyLookup, OnConflict, Store};
use crate::tasks::TaskState;
use crate::CoreError;

/// The column of a statistics row that names its item.
pub const ITEM_COLUMN: &str = "item";

const BY_ITEM_ID: &[KeyLookup] = &[KeyLookup {
    column: ITEM_COLUMN,
    table: "stat_items",
    key: "num",
    by: "id",
}];

/// One table's merge: the staged columns left out (keys the live store gives anew), the
/// columns looked up, and how a taken key is met.
#[derive(Debug)]
pub struct TableRule {
    pub table: &'static str,
    pub drop: &'static [&'static str],
    pub lookups: &'static [KeyLookup],
    pub on_conflict: OnConflict,
    /// What the progress message calls its rows.
    pub label: &'static str,
    /// A statistics table: left out of a history of events and tasks only.
    pub statistics: bool,
}

/// Which history a staging takes (the upgrade spec's `history.data_set`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HistoryTables {
    /// Tasks, events and statistics.
    #[default]
    All,
    /// Tasks and events: the statistics tables are left out.
    EventsTasks,
}

impl HistoryTables {
    /// Whether `rule`'s table is part of this history.
    pub fn takes(self, rule: &TableRule) -> bool {
        match self {
            HistoryTables::All => true,
            HistoryTables::EventsTasks => !rule.statistics,
        }
    }
}

static RULES: &[TableRule] = &[
    TableRule {
        table: "tasks",
        drop: &[],
        lookups: &[],
        on_conflict: OnConflict::Skip { key: &["id"] },
        label: "tasks",
        statistics: false,
    },
    TableRule {
        table: "events",
        drop: &["seq"],
        lookups: &[],
        on_conflict: OnConflict::Fail,
        label: "events",
        statistics: false,
    },
    TableRule {
        table: "stat_items",
        drop: &["num"],
        lookups: &[],
        on_conflict: OnConflict::Skip { key: &["id"] },
        label: "statistics items",
        statistics: true,
    },
    TableRule {
        table: "stat_samples",
        drop: &[],
        lookups: BY_ITEM_ID,
        on_conflict: OnConflict::Skip {
            key: &[ITEM_COLUMN, "at"],
        },
        label: "statistics samples",
        statistics: true,
    },
    TableRule {
        table: "stat_aggregates",
        drop: &[],
        lookups: BY_ITEM_ID,
        on_conflict: OnConflict::Fold {
            key: &[ITEM_COLUMN, "span", "bucket"],
            sum: &["n", "total"],
            least: &["low"],
            greatest: &["high"],
        },
        label: "statistics aggregates",
        statistics: true,
    },
];

pub fn rule_of(table: &str) -> Option<&'static TableRule> {
    RULES.iter().find(|r| r.table == table)
}

/// Why an imported task that had not finished on the source ends here.
fn unfinished() -> CoreError {
    CoreError::Internal {
        message: "the task had not finished on the server its history was imported from".into(),
    }
}

/// The columns and rows of a staged batch as they are appended: dropped columns left out,
/// tasks given fresh moIds and closed when unfinished.
pub async fn prepare(
    store: &dyn Store,
    rule: &TableRule,
    columns: &[String],
    mut rows: Vec<Vec<Cell>>,
) -> Result<(Vec<String>, Vec<Vec<Cell>>), CoreError> {
    let keep: Vec<usize> = (0..columns.len())
        .filter(|&i| !rule.drop.contains(&columns[i].as_str()))
        .collect();
    if rule.table == "tasks" && !rows.is_empty() {
        close_tasks(store, columns, &mut rows).await?;
    }
    let cols = keep.iter().map(|&i| columns[i].clone()).collect();
    let rows = rows
        .into_iter()
        .map(|row| {
            let mut row: Vec<Option<Cell>> = row.into_iter().map(Some).collect();
            keep.iter()
                .map(|&i| row.get_mut(i).and_then(Option::take).unwrap_or(Cell::Null))
                .collect()
        })
        .collect();
    Ok((cols, rows))
}

async fn close_tasks(
    store: &dyn Store,
    columns: &[String],
    rows: &mut [Vec<Cell>],
) -> Result<(), CoreError> {
    let col = |name: &str| {
        columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| CoreError::internal(format!("the staged tasks have no column {name}")))
    };
    let (moid, state, error) = (col("moid")?, col("state")?, col("error")?);
    let (queued, started, completed) =
        (col("queued_at")?, col("started_at")?, col("completed_at")?);
    let cancelable = col("cancelable")?;
    let count = u32::try_from(rows.len())
        .map_err(|_| CoreError::internal("a batch of tasks too large".to_string()))?;
    let first = store.reserve_sequence("task", count).await?;
    let failed =
        serde_json::to_string(&unfinished()).map_err(|e| CoreError::internal(e.to_string()))?;
    for (n, row) in (first..).zip(rows.iter_mut()) {
        if row.len() != columns.len() {
            return Err(CoreError::internal(format!(
                "a staged task has {} values for {} columns",
                row.len(),
                columns.len()
            )));
        }
        row[moid] = Cell::Text(format!("task-{n}"));
        let done = matches!(&row[state], Cell::Text(s)
            if s == TaskState::Success.as_str() || s == TaskState::Error.as_str());
        if !done {
            row[state] = Cell::Text(TaskState::Error.as_str().into());
            row[error] = Cell::Text(failed.clone());
            row[cancelable] = Cell::Bool(false);
            let end = [started, queued]
                .into_iter()
                .map(|i| row[i].clone())
                .find(|c| *c != Cell::Null)
                .unwrap_or(Cell::Null);
            row[completed] = end;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_tasks_leave_every_statistics_table_out() {
        let taken = |which: HistoryTables| -> Vec<&str> {
            RULES
                .iter()
                .filter(|r| which.takes(r))
                .map(|r| r.table)
                .collect()
        };
        assert_eq!(taken(HistoryTables::EventsTasks), ["tasks", "events"]);
        assert_eq!(
            taken(HistoryTables::All),
            RULES.iter().map(|r| r.table).collect::<Vec<_>>()
        );
        // Whatever a statistics table is called, the flag says so.
        for r in RULES {
            assert_eq!(r.statistics, r.table.starts_with("stat_"), "{}", r.table);
        }
    }
}
