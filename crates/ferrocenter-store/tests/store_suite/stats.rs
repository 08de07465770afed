//! Appliance statistics: raw samples and the 30-minute and daily aggregates written with them,
//! read back grouped into a query's intervals, and pruned separately.
use std::sync::Arc;

use ferrocenter_core::ports::{StatBucket, StatSample, StatSpan, Store};

use crate::Case;

pub(crate) const CASES: &[(&str, Case)] = crate::cases![
    samples_fold_into_aggregates_and_read_back_per_interval,
    a_second_sample_at_the_same_second_is_ignored_everywhere,
    pruning_drops_raw_samples_and_old_aggregates_separately,
];

/// 2026-01-05 00:00:00 UTC: a day's and a half hour's first second.
const DAY: i64 = 1_767_571_200;

fn sample(item: &str, at: i64, value: f64) -> StatSample {
    StatSample {
        item: item.into(),
        at,
        value,
    }
}

fn bucket(index: i64, count: u64, sum: f64, min: f64, max: f64) -> StatBucket {
    StatBucket {
        index,
        count,
        sum,
        min,
        max,
    }
}

async fn samples_fold_into_aggregates_and_read_back_per_interval(s: Arc<dyn Store>) {
    assert!(s.stat_items().await.unwrap().is_empty());
    // cpu.util at 00:01, 00:02, 00:31 and the next day's 00:01; mem.util once.
    s.record_stats(&[
        sample("cpu.util", DAY + 60, 10.0),
        sample("cpu.util", DAY + 120, 30.0),
        sample("mem.util", DAY + 120, 50.0),
    ])
    .await
    .unwrap();
    s.record_stats(&[
        sample("cpu.util", DAY + 1860, 5.5),
        sample("cpu.util", DAY + 86_460, 1.0),
    ])
    .await
    .unwrap();
    s.record_stats(&[]).await.unwrap();
    let mut items = s.stat_items().await.unwrap();
    items.sort();
    assert_eq!(items, ["cpu.util", "mem.util"]);

    // Raw, five-minute intervals from 00:00 to 00:34:59: samples in intervals 0 and 6.
    let raw = s
        .stat_buckets("cpu.util", StatSpan::Raw, DAY, DAY + 2099, 300)
        .await
        .unwrap();
    assert_eq!(
        raw,
        [bucket(0, 2, 40.0, 10.0, 30.0), bucket(6, 1, 5.5, 5.5, 5.5)]
    );
    // The bounds are inclusive and cut raw samples exactly.
    let raw = s
        .stat_buckets("cpu.util", StatSpan::Raw, DAY + 120, DAY + 1860, 300)
        .await
        .unwrap();
    assert_eq!(
        raw,
        [bucket(0, 1, 30.0, 30.0, 30.0), bucket(5, 1, 5.5, 5.5, 5.5)]
    );
    // Half-hour aggregates read as two-hour intervals: the first day's three samples in one.
    let half = s
        .stat_buckets("cpu.util", StatSpan::HalfHour, DAY, DAY + 2 * 86_400, 7200)
        .await
        .unwrap();
    assert_eq!(
        half,
        [bucket(0, 3, 45.5, 5.5, 30.0), bucket(12, 1, 1.0, 1.0, 1.0)]
    );
    let days = s
        .stat_buckets(
            "cpu.util",
            StatSpan::Day,
            DAY - 86_400,
            DAY + 86_400,
            86_400,
        )
        .await
        .unwrap();
    assert_eq!(
        days,
        [bucket(1, 3, 45.5, 5.5, 30.0), bucket(2, 1, 1.0, 1.0, 1.0)]
    );
    let mem = s
        .stat_buckets("mem.util", StatSpan::Day, DAY, DAY, 86_400)
        .await
        .unwrap();
    assert_eq!(mem, [bucket(0, 1, 50.0, 50.0, 50.0)]);
    // An item without statistics has no buckets.
    assert!(s
        .stat_buckets("swap.util", StatSpan::Raw, DAY, DAY + 86_400, 300)
        .await
        .unwrap()
        .is_empty());
}

async fn a_second_sample_at_the_same_second_is_ignored_everywhere(s: Arc<dyn Store>) {
    s.record_stats(&[sample("cpu.util", DAY, 10.0)])
        .await
        .unwrap();
    s.record_stats(&[
        sample("cpu.util", DAY, 99.0),
        sample("cpu.util", DAY + 60, 20.0),
    ])
    .await
    .unwrap();
    for span in [
        StatSpan::Raw,
        StatSpan::HalfHour,
        StatSpan::SixHours,
        StatSpan::Day,
    ] {
        assert_eq!(
            s.stat_buckets("cpu.util", span, DAY, DAY + 86_399, 86_400)
                .await
                .unwrap(),
            [bucket(0, 2, 30.0, 10.0, 20.0)],
            "{span:?}"
        );
    }
}

async fn pruning_drops_raw_samples_and_old_aggregates_separately(s: Arc<dyn Store>) {
    s.record_stats(&[
        sample("cpu.util", DAY, 10.0),
        sample("cpu.util", DAY + 86_400, 20.0),
    ])
    .await
    .unwrap();
    // Raw before the second day goes; aggregates are all kept.
    assert_eq!(s.prune_stats(DAY + 86_400, DAY).await.unwrap(), 1);
    let all = |span| s.stat_buckets("cpu.util", span, DAY, DAY + 86_400, 86_400);
    assert_eq!(all(StatSpan::Raw).await.unwrap().len(), 1);
    assert_eq!(all(StatSpan::HalfHour).await.unwrap().len(), 2);
    // Aggregates before the second day go: one half hour, one six hours and one day.
    assert_eq!(s.prune_stats(DAY, DAY + 86_400).await.unwrap(), 3);
    assert_eq!(
        all(StatSpan::HalfHour).await.unwrap(),
        [bucket(1, 1, 20.0, 20.0, 20.0)]
    );
    assert_eq!(all(StatSpan::Day).await.unwrap().len(), 1);
    assert_eq!(s.stat_items().await.unwrap(), ["cpu.util"], "items stay");
}
