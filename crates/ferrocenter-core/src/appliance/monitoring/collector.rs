//! The statistics collector: a round every [`PERIOD`] from its start (so the collection times
//! are fixed relative to the start, as the guide says, not to clock time), the ten-minute items
//! every tenth round starting with the first, and a prune of expired statistics every hour.
//! It can be stopped and started again (the appliance's services control it).
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::ports::{Component, ComponentError, ComponentState};
use crate::Core;

/// Between two rounds.
pub const PERIOD: Duration = Duration::from_secs(60);
/// Every how many rounds the filesystems and the database are sampled (ten minutes).
pub const SLOW_EVERY: u64 = 10;
/// Every how many rounds expired statistics are pruned (an hour).
pub const PRUNE_EVERY: u64 = 60;

struct Running {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// Owns the collecting task; `start`, `stop` and `is_running` are what a service registry
/// needs.
pub struct StatsCollector {
    core: Arc<Core>,
    running: parking_lot::Mutex<Option<Running>>,
}

impl StatsCollector {
    /// A collector of `core`'s statistics, not started.
    pub fn new(core: Arc<Core>) -> StatsCollector {
        StatsCollector {
            core,
            running: parking_lot::Mutex::new(None),
        }
    }

    /// Starts collecting, anchored at now; false if it was already running.
    pub fn start(&self) -> bool {
        let mut running = self.running.lock();
        if running.as_ref().is_some_and(|r| !r.task.is_finished()) {
            return false;
        }
        let stop = CancellationToken::new();
        let task = tokio::spawn(collect(self.core.clone(), stop.clone()));
        *running = Some(Running { stop, task });
        true
    }

    /// Stops collecting and waits for a round under way to end; false if it was not running.
    pub async fn stop(&self) -> bool {
        let Some(r) = self.running.lock().take() else {
            return false;
        };
        r.stop.cancel();
        let _ = r.task.await;
        true
    }

    pub fn is_running(&self) -> bool {
        self.running
            .lock()
            .as_ref()
            .is_some_and(|r| !r.task.is_finished())
    }
}

/// The service id of the statistics collector.
pub const STATISTICS: &str = "statistics-collector";

/// The collector as an appliance service: stopped, no samples are taken (queries show `''`
/// for the intervals it missed); started again, its rounds are anchored at the new start.
#[async_trait::async_trait]
impl Component for StatsCollector {
    fn name(&self) -> &str {
        STATISTICS
    }

    fn description(&self) -> &str {
        "The statistics collector: samples CPU, memory, swap, load and network every minute, \
         filesystems and the database every ten (appliance.monitoring)."
    }

    fn state(&self) -> ComponentState {
        if self.is_running() {
            ComponentState::Started
        } else {
            ComponentState::Stopped
        }
    }

    async fn start(&self) -> Result<(), ComponentError> {
        StatsCollector::start(self);
        Ok(())
    }

    async fn stop(&self) -> Result<(), ComponentError> {
        StatsCollector::stop(self).await;
        Ok(())
    }
}

async fn collect(core: Arc<Core>, stop: CancellationToken) {
    let start = tokio::time::Instant::now();
    let mut tick = tokio::time::interval_at(start, PERIOD);
    // A round missed (a suspended machine) is skipped, keeping the times on the anchor.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let at = tokio::select! {
            at = tick.tick() => at,
            () = stop.cancelled() => return,
        };
        let round = u64::try_from((at - start).as_millis() / PERIOD.as_millis()).unwrap_or(0);
        if let Err(e) = core.collect_statistics(round % SLOW_EVERY == 0).await {
            warn!(error = %e, "statistics: a round was not recorded");
        }
        if round % PRUNE_EVERY == 0 {
            if let Err(e) = core.prune_statistics().await {
                warn!(error = %e, "statistics: expired statistics were not pruned");
            }
        }
    }
}
