//! The clock of the core's background rounds (heartbeats, schedules, sweeps): a round every
//! period until the server stops. A round that overruns delays the next tick rather than
//! bunching the missed ones, so a slow store never makes rounds run back to back.
use std::time::Duration;

use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

pub(crate) struct Ticker {
    tick: Interval,
    stop: CancellationToken,
}

impl Ticker {
    /// The first tick is at once.
    pub(crate) fn new(period: Duration, stop: CancellationToken) -> Ticker {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Ticker { tick, stop }
    }

    /// Waits for the next round: `false` once `stop` is cancelled.
    pub(crate) async fn next(&mut self) -> bool {
        tokio::select! {
            _ = self.tick.tick() => true,
            () = self.stop.cancelled() => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rounds_come_until_stopped() {
        let stop = CancellationToken::new();
        let mut t = Ticker::new(Duration::from_secs(60), stop.clone());
        let started = tokio::time::Instant::now();
        assert!(t.next().await);
        assert!(t.next().await);
        assert_eq!(started.elapsed(), Duration::from_secs(60));
        stop.cancel();
        assert!(!t.next().await);
    }
}
