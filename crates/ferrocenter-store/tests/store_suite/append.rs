//! History appended to a live store (`BackupStore::append_rows`, the deferred history
//! import): nothing emptied, generated keys given anew, taken keys skipped or folded, lookups by
//! a unique column, and the progress setting written in the same transaction as the rows.
use std::sync::Arc;

use ferrocenter_core::inventory::EventFilter;
use ferrocenter_core::ports::{
    AppendBatch, Cell, KeyLookup, OnConflict, StatSample, StatSpan, Store, StoreError, TableSink,
};

use crate::fixtures::event;
use crate::Case;

pub(crate) const CASES: &[(&str, Case)] = crate::cases![
    appended_events_get_new_keys_after_the_live_ones,
    statistics_merge_by_item_id_skipping_and_folding_taken_keys,
    a_refused_batch_leaves_no_row_and_no_progress,
];

/// 2026-01-05 00:00:00 UTC.
const DAY: i64 = 1_767_571_200;

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

fn text(s: &str) -> Cell {
    Cell::Text(s.into())
}

async fn appended_events_get_new_keys_after_the_live_ones(s: Arc<dyn Store>) {
    let own = s.append_event(&event("Own", "h1", 5_000)).await.unwrap();
    let columns = names(&[
        "time",
        "kind",
        "entity_kind",
        "entity_id",
        "entity_name",
        "user_name",
        "message",
        "data",
    ]);
    let row = |ms: i64, msg: &str| {
        vec![
            Cell::Int(ms),
            text("Imported"),
            text("host"),
            text("h9"),
            text("old host"),
            text("someone"),
            text(msg),
            text("{}"),
        ]
    };
    let n = s
        .append_rows(AppendBatch {
            table: "events",
            columns: &columns,
            rows: vec![row(1_000, "first"), row(2_000, "second")],
            lookups: &[],
            on_conflict: OnConflict::Fail,
            progress: ("history_import.progress", "1"),
        })
        .await
        .unwrap();
    assert_eq!(n, 2);
    let all = s.list_events(&EventFilter::default()).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], own);
    // New keys after the live one, in the order given; the times are the original ones.
    assert!(all[1].seq > own.seq && all[2].seq > all[1].seq);
    assert_eq!(
        (all[1].message.as_str(), all[1].time.unix_timestamp()),
        ("first", 1)
    );
    assert_eq!(all[2].message, "second");
    assert_eq!(
        s.get_setting("history_import.progress")
            .await
            .unwrap()
            .as_deref(),
        Some("1")
    );
}

/// Every row of a table, through the backup export.
struct Rows(Vec<Vec<Cell>>);

impl TableSink for Rows {
    fn begin_table(&mut self, _: &str, _: &[String]) -> Result<(), StoreError> {
        Ok(())
    }
    fn row(&mut self, cells: Vec<Cell>) -> Result<(), StoreError> {
        self.0.push(cells);
        Ok(())
    }
}

async fn statistics_merge_by_item_id_skipping_and_folding_taken_keys(s: Arc<dyn Store>) {
    let lookup: &[KeyLookup] = &[KeyLookup {
        column: "item",
        table: "stat_items",
        key: "num",
        by: "id",
    }];
    s.record_stats(&[StatSample {
        item: "cpu.util".into(),
        at: DAY + 60,
        value: 10.0,
    }])
    .await
    .unwrap();
    // Items by id: cpu.util is there, mem.util is new.
    let n = s
        .append_rows(AppendBatch {
            table: "stat_items",
            columns: &names(&["id"]),
            rows: vec![vec![text("cpu.util")], vec![text("mem.util")]],
            lookups: &[],
            on_conflict: OnConflict::Skip { key: &["id"] },
            progress: ("history_import.progress", "items"),
        })
        .await
        .unwrap();
    assert_eq!(n, 1);
    let mut items = s.stat_items().await.unwrap();
    items.sort();
    assert_eq!(items, ["cpu.util", "mem.util"]);
    // Samples reach their item by id; the live reading at a taken instant stays.
    let n = s
        .append_rows(AppendBatch {
            table: "stat_samples",
            columns: &names(&["item", "at", "value"]),
            rows: vec![
                vec![text("cpu.util"), Cell::Int(DAY + 60), Cell::Real(99.0)],
                vec![text("cpu.util"), Cell::Int(DAY + 120), Cell::Real(20.0)],
                vec![text("mem.util"), Cell::Int(DAY + 60), Cell::Real(5.0)],
            ],
            lookups: lookup,
            on_conflict: OnConflict::Skip {
                key: &["item", "at"],
            },
            progress: ("history_import.progress", "samples"),
        })
        .await
        .unwrap();
    assert_eq!(n, 2);
    let raw = s
        .stat_buckets("cpu.util", StatSpan::Raw, DAY, DAY + 3600, 60)
        .await
        .unwrap();
    assert_eq!(raw.len(), 2);
    assert_eq!((raw[0].sum, raw[1].sum), (10.0, 20.0));
    assert_eq!(
        s.stat_buckets("mem.util", StatSpan::Raw, DAY, DAY + 3600, 60)
            .await
            .unwrap()
            .len(),
        1
    );
    // The live aggregates appended again under the item's id fold into themselves: counts and
    // totals double, the extremes stay.
    let mut live = Rows(Vec::new());
    s.export_tables(&names(&["stat_aggregates"]), &mut live)
        .await
        .unwrap();
    let before = s
        .stat_buckets("cpu.util", StatSpan::Day, DAY, DAY + 86_399, 86_400)
        .await
        .unwrap();
    let columns = names(&["item", "span", "bucket", "n", "total", "low", "high"]);
    let rows: Vec<Vec<Cell>> = live
        .0
        .into_iter()
        .map(|mut r| {
            r[0] = text("cpu.util");
            r
        })
        .collect();
    let count = rows.len() as u64;
    let n = s
        .append_rows(AppendBatch {
            table: "stat_aggregates",
            columns: &columns,
            rows,
            lookups: lookup,
            on_conflict: OnConflict::Fold {
                key: &["item", "span", "bucket"],
                sum: &["n", "total"],
                least: &["low"],
                greatest: &["high"],
            },
            progress: ("history_import.progress", "aggregates"),
        })
        .await
        .unwrap();
    assert_eq!(n, count);
    let after = s
        .stat_buckets("cpu.util", StatSpan::Day, DAY, DAY + 86_399, 86_400)
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].count, before[0].count * 2);
    assert_eq!(after[0].sum, before[0].sum * 2.0);
    assert_eq!((after[0].min, after[0].max), (before[0].min, before[0].max));
}

async fn a_refused_batch_leaves_no_row_and_no_progress(s: Arc<dyn Store>) {
    s.put_setting("history_import.progress", "before")
        .await
        .unwrap();
    let r = s
        .append_rows(AppendBatch {
            table: "stat_items",
            columns: &names(&["id"]),
            rows: vec![vec![text("disk.util")], vec![text("disk.util")]],
            lookups: &[],
            on_conflict: OnConflict::Fail,
            progress: ("history_import.progress", "after"),
        })
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert!(s.stat_items().await.unwrap().is_empty());
    assert_eq!(
        s.get_setting("history_import.progress")
            .await
            .unwrap()
            .as_deref(),
        Some("before")
    );
    // A column the store does not have is refused before any SQL is made of it.
    let r = s
        .append_rows(AppendBatch {
            table: "stat_items",
            columns: &names(&["id; DROP TABLE events"]),
            rows: vec![vec![text("x")]],
            lookups: &[],
            on_conflict: OnConflict::Fail,
            progress: ("history_import.progress", "after"),
        })
        .await;
    assert!(r.is_err());
}
