//! Appliance statistics (management guide, chapter 6, "Statistics"): the monitored items
//! (`items`), what a query answers (`query`), the samples taken from the machine's readings
//! (`samples`) and the collector that takes them on a schedule anchored at its own start
//! (`collector`).
//!
//! Samples persist through `ports::StatsStore`: raw for [`RAW_RETENTION`], and folded as they
//! are written into 30-minute, 6-hour and daily aggregates kept for [`RETENTION`] (about 13
//! months). A MINUTES5 query reads raw samples; MINUTES30 and HOURS2 the 30-minute aggregates;
//! HOURS6 the 6-hour ones; DAY1 the daily ones, so a year of daily values is a year of rows.
//!
//! The ids of items with history (filesystems, interfaces) are kept in memory after the first
//! read of the store, so checking a query's names costs no store round trip.
pub mod collector;
pub mod items;
pub mod query;
pub mod samples;

pub use collector::StatsCollector;
pub use items::Item;
pub use query::{Function, Interval, Plan, MAX_INTERVALS};

use std::collections::HashSet;
use std::time::Duration;

use time::OffsetDateTime;

use crate::auth::{Caller, Privilege};
use crate::ports::{StatSample, SystemReadings};
use crate::{Core, CoreError};

/// How long raw samples are kept (MINUTES5 queries reach this far back).
pub const RAW_RETENTION: Duration = Duration::from_secs(7 * 86_400);
/// How long the aggregates are kept: the guide's "approximately 13 months".
pub const RETENTION: Duration = Duration::from_secs(396 * 86_400);
/// How long a reading of the machine or the database may take before the round is skipped.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A query (`monitored_item_data_request`); the enumerations as their API names, checked here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRequest {
    pub names: Vec<String>,
    pub interval: String,
    pub function: String,
    pub start_time: OffsetDateTime,
    pub end_time: OffsetDateTime,
}

/// One item's answer (`monitored_item_data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemData {
    pub name: String,
    pub interval: Interval,
    pub function: Function,
    /// The start aligned down to a multiple of the interval: where the first value begins.
    pub start_time: OffsetDateTime,
    /// The end as asked.
    pub end_time: OffsetDateTime,
    pub data: Vec<String>,
}

/// The collector's previous reading (rates are computed against it) and the item ids known to
/// have history.
#[derive(Default)]
pub(crate) struct MonitoringState {
    previous: parking_lot::Mutex<Option<SystemReadings>>,
    known: parking_lot::RwLock<HashSet<String>>,
    loaded: tokio::sync::OnceCell<()>,
}

impl Core {
    /// The item ids with history, read from the store once and then kept up to date by the
    /// collector.
    async fn known_items(&self) -> Result<(), CoreError> {
        self.monitoring
            .loaded
            .get_or_try_init(|| async {
                let ids = self.store.stat_items().await?;
                self.monitoring.known.write().extend(ids);
                Ok::<(), CoreError>(())
            })
            .await?;
        Ok(())
    }

    /// The item `id` if it is fixed or has history.
    async fn known_item(&self, id: &str) -> Result<Option<Item>, CoreError> {
        self.known_items().await?;
        let known = items::is_fixed(id) || self.monitoring.known.read().contains(id);
        Ok(known.then(|| items::describe(id)).flatten())
    }

    /// Every monitored item: the fixed ones, then those with history, sorted by id.
    pub async fn monitoring_list(&self, caller: &Caller) -> Result<Vec<Item>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        self.known_items().await?;
        let mut more: Vec<String> = self
            .monitoring
            .known
            .read()
            .iter()
            .filter(|id| !items::is_fixed(id))
            .cloned()
            .collect();
        more.sort();
        Ok(items::fixed_ids()
            .map(str::to_string)
            .chain(more)
            .filter_map(|id| items::describe(&id))
            .collect())
    }

    /// One item; an unknown id is not found.
    pub async fn monitoring_get(&self, caller: &Caller, id: &str) -> Result<Item, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        self.known_item(id)
            .await?
            .ok_or_else(|| CoreError::not_found("monitored item", id))
    }

    /// The statistics of each named item over the request's intervals (see `query`).
    pub async fn monitoring_query(
        &self,
        caller: &Caller,
        req: &DataRequest,
    ) -> Result<Vec<ItemData>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let interval = Interval::parse(&req.interval).ok_or_else(|| {
            CoreError::invalid(
                "item.interval",
                format!(
                    "'{}' is not one of MINUTES5, MINUTES30, HOURS2, HOURS6, DAY1",
                    req.interval
                ),
            )
        })?;
        let function = Function::parse(&req.function).ok_or_else(|| {
            CoreError::invalid(
                "item.function",
                format!("'{}' is not one of COUNT, MAX, AVG, MIN", req.function),
            )
        })?;
        let plan = query::plan(req.start_time, req.end_time, interval.seconds())?;
        let mut found = Vec::with_capacity(req.names.len());
        for (i, name) in req.names.iter().enumerate() {
            let item = self.known_item(name).await?.ok_or_else(|| {
                CoreError::invalid(
                    format!("item.names[{i}]"),
                    format!("'{name}' is not a monitored item"),
                )
            })?;
            found.push(item);
        }
        let start_time = OffsetDateTime::from_unix_timestamp(plan.origin)
            .map_err(|e| CoreError::internal(format!("the aligned start is out of range: {e}")))?;
        let mut out = Vec::with_capacity(found.len());
        for item in found {
            let buckets = self
                .store
                .stat_buckets(
                    &item.id,
                    interval.span(),
                    plan.origin,
                    plan.last(),
                    plan.width,
                )
                .await?;
            out.push(ItemData {
                data: query::values(&plan, &buckets, function, item.integral()),
                name: item.id,
                interval,
                function,
                start_time,
                end_time: req.end_time,
            });
        }
        Ok(out)
    }

    /// One round of the collector: the per-minute items, and the ten-minute ones when
    /// `ten_minutes`. Returns how many samples were written.
    pub async fn collect_statistics(&self, ten_minutes: bool) -> Result<usize, CoreError> {
        let readings = tokio::time::timeout(READ_TIMEOUT, self.machine.probe.read())
            .await
            .map_err(|_| CoreError::internal("the system probe did not answer in time"))?
            .map_err(|e| CoreError::internal(format!("the system probe: {e}")))?;
        let at = self.clock.now().unix_timestamp();
        let previous = self.monitoring.previous.lock().replace(readings.clone());
        let mut batch: Vec<StatSample> = samples::minute(previous.as_ref(), &readings, at);
        if ten_minutes {
            let db = tokio::time::timeout(READ_TIMEOUT, self.store.database_size())
                .await
                .ok()
                .and_then(Result::ok)
                .map(|d| d.bytes);
            batch.extend(samples::ten_minutes(&readings, db, at));
        }
        self.store.record_stats(&batch).await?;
        let mut known = self.monitoring.known.write();
        for s in &batch {
            if !known.contains(&s.item) {
                known.insert(s.item.clone());
            }
        }
        Ok(batch.len())
    }

    /// Deletes raw samples older than [`RAW_RETENTION`] and aggregates older than
    /// [`RETENTION`]; how many rows went.
    pub async fn prune_statistics(&self) -> Result<u64, CoreError> {
        let now = self.clock.now().unix_timestamp();
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Ok(self
            .store
            .prune_stats(now - secs(RAW_RETENTION), now - secs(RETENTION))
            .await?)
    }
}
