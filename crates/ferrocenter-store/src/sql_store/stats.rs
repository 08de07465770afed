//! `StatsStore`: appliance statistics. A sample is written with its item's number (made on the
//! item's first sample) and folded into the item's 30-minute, 6-hour and daily aggregates in the same
//! transaction, so the aggregates never lag the samples and no rollup job is needed; pruning
//! deletes by item, along the primary keys.
use std::collections::BTreeSet;

use async_trait::async_trait;
use ferrocenter_core::ports::{StatBucket, StatSample, StatSpan, StatsStore, StoreError};

use crate::rows::map_err;

/// The spans every sample is folded into.
const AGGREGATES: [StatSpan; 3] = [StatSpan::HalfHour, StatSpan::SixHours, StatSpan::Day];

const ADD_ITEM: &str = "INSERT INTO stat_items (id) VALUES ($1) ON CONFLICT (id) DO NOTHING";

// The WHERE clause also keeps SQLite from reading ON CONFLICT as a join constraint.
const ADD_SAMPLE: &str = "INSERT INTO stat_samples (item, at, value) \
     SELECT num, $2, $3 FROM stat_items WHERE id = $1 \
     ON CONFLICT (item, at) DO NOTHING";

const FOLD: &str = "INSERT INTO stat_aggregates (item, span, bucket, n, total, low, high) \
     SELECT num, $2, $3, 1, $4, $4, $4 FROM stat_items WHERE id = $1 \
     ON CONFLICT (item, span, bucket) DO UPDATE SET \
       n = stat_aggregates.n + 1, \
       total = stat_aggregates.total + excluded.total, \
       low = CASE WHEN excluded.low < stat_aggregates.low \
             THEN excluded.low ELSE stat_aggregates.low END, \
       high = CASE WHEN excluded.high > stat_aggregates.high \
              THEN excluded.high ELSE stat_aggregates.high END";

const RAW_BUCKETS: &str = "SELECT (at - $2) / $4 AS b, COUNT(*) AS c, SUM(value) AS s, \
     MIN(value) AS lo, MAX(value) AS hi FROM stat_samples \
     WHERE item = (SELECT num FROM stat_items WHERE id = $1) AND at >= $2 AND at <= $3 \
     GROUP BY b ORDER BY b";

const AGGREGATE_BUCKETS: &str = "SELECT (bucket - $2) / $4 AS b, CAST(SUM(n) AS BIGINT) AS c, \
     SUM(total) AS s, MIN(low) AS lo, MAX(high) AS hi FROM stat_aggregates \
     WHERE item = (SELECT num FROM stat_items WHERE id = $1) AND span = $5 \
       AND bucket >= $2 AND bucket <= $3 \
     GROUP BY b ORDER BY b";

super::for_each_engine! {
    #[async_trait]
    impl StatsStore for Engine {
        async fn record_stats(&self, samples: &[StatSample]) -> Result<(), StoreError> {
            if samples.is_empty() {
                return Ok(());
            }
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            let ids: BTreeSet<&str> = samples.iter().map(|s| s.item.as_str()).collect();
            for id in ids {
                sqlx::query(ADD_ITEM).bind(id).execute(&mut *tx).await.map_err(map_err)?;
            }
            for s in samples {
                let added = sqlx::query(ADD_SAMPLE)
                    .bind(&s.item)
                    .bind(s.at)
                    .bind(s.value)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if added.rows_affected() == 0 {
                    continue;
                }
                for span in AGGREGATES {
                    let width = span.seconds();
                    sqlx::query(FOLD)
                        .bind(&s.item)
                        .bind(width)
                        .bind(s.at.div_euclid(width) * width)
                        .bind(s.value)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
            }
            tx.commit().await.map_err(map_err)
        }

        async fn stat_buckets(
            &self,
            item: &str,
            span: StatSpan,
            from: i64,
            to: i64,
            width: i64,
        ) -> Result<Vec<StatBucket>, StoreError> {
            if width <= 0 {
                return Err(StoreError::Backend(format!("interval of {width} s")));
            }
            let q = match span {
                StatSpan::Raw => sqlx::query(RAW_BUCKETS),
                StatSpan::HalfHour | StatSpan::SixHours | StatSpan::Day => {
                    sqlx::query(AGGREGATE_BUCKETS)
                }
            };
            let rows = q
                .bind(item)
                .bind(from)
                .bind(to)
                .bind(width)
                .bind(span.seconds())
                .fetch_all(self.reads())
                .await
                .map_err(map_err)?;
            rows.iter()
                .map(|r| {
                    let count: i64 = get(r, "c")?;
                    Ok(StatBucket {
                        index: get(r, "b")?,
                        count: u64::try_from(count).unwrap_or(0),
                        sum: get(r, "s")?,
                        min: get(r, "lo")?,
                        max: get(r, "hi")?,
                    })
                })
                .collect()
        }

        async fn stat_items(&self) -> Result<Vec<String>, StoreError> {
            sqlx::query_scalar("SELECT id FROM stat_items")
                .fetch_all(self.reads())
                .await
                .map_err(map_err)
        }

        async fn prune_stats(
            &self,
            raw_before: i64,
            aggregates_before: i64,
        ) -> Result<u64, StoreError> {
            // Item by item, so each delete is a range of the primary key, not a scan.
            let nums: Vec<i64> = sqlx::query_scalar("SELECT num FROM stat_items")
                .fetch_all(self.reads())
                .await
                .map_err(map_err)?;
            let mut gone = 0;
            for num in nums {
                gone += sqlx::query("DELETE FROM stat_samples WHERE item = $1 AND at < $2")
                    .bind(num)
                    .bind(raw_before)
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?
                    .rows_affected();
                for span in AGGREGATES {
                    gone += sqlx::query(
                        "DELETE FROM stat_aggregates WHERE item = $1 AND span = $2 AND bucket < $3",
                    )
                    .bind(num)
                    .bind(span.seconds())
                    .bind(aggregates_before)
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?
                    .rows_affected();
                }
            }
            Ok(gone)
        }
    }
}
