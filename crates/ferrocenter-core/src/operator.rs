//! What the operator's unauthenticated probes and the metrics read: whether the server is ready
//! (its store answers a trivial query, its task engine takes tasks) and the figures the metrics
//! export. Counts and timings only: nothing here names a host, a user or a secret.
use std::time::{Duration, Instant};

use crate::hosts::HeartbeatRound;
use crate::inventory::{ConnectionState, HostFilter};
use crate::{Core, CoreError, SERVER_UUID_KEY};

/// How long readiness waits for the store before calling it not ready.
pub const STORE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Each part readiness checks: `Ok` with what it measured, or why it is not ready.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// The store's answer time to a trivial query.
    pub store: Result<Duration, String>,
    /// The task engine takes tasks (it stops at shutdown).
    pub tasks: Result<(), String>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.store.is_ok() && self.tasks.is_ok()
    }
}

/// The figures of the operator's metrics that are read when scraped.
#[derive(Debug, Clone, Default)]
pub struct OperatorFigures {
    /// Tasks recorded, by state (`queued`, `running`, `success`, `error`).
    pub tasks_by_state: Vec<(String, u64)>,
    /// Hosts by connection state (`connecting`, `connected`, `notResponding`, `disconnected`).
    pub hosts_by_state: Vec<(&'static str, u64)>,
    pub last_heartbeat_round: Option<HeartbeatRound>,
    /// The store's answer time to a trivial query.
    pub store_latency: Option<Duration>,
}

const CONNECTION_STATES: [ConnectionState; 4] = [
    ConnectionState::Connecting,
    ConnectionState::Connected,
    ConnectionState::NotResponding,
    ConnectionState::Disconnected,
];

impl Core {
    /// Times one trivial store query, bounded by [`STORE_PROBE_TIMEOUT`].
    async fn store_ping(&self) -> Result<Duration, String> {
        let started = Instant::now();
        match tokio::time::timeout(STORE_PROBE_TIMEOUT, self.store.get_setting(SERVER_UUID_KEY))
            .await
        {
            Ok(Ok(_)) => Ok(started.elapsed()),
            Ok(Err(e)) => Err(format!("the store did not answer: {e}")),
            Err(_) => Err(format!(
                "the store did not answer within {} s",
                STORE_PROBE_TIMEOUT.as_secs()
            )),
        }
    }

    pub async fn readiness(&self) -> Readiness {
        Readiness {
            store: self.store_ping().await,
            tasks: if self.tasks.is_accepting() {
                Ok(())
            } else {
                Err("the task engine is not taking tasks (the server is stopping)".into())
            },
        }
    }

    pub async fn operator_figures(&self) -> Result<OperatorFigures, CoreError> {
        let mut hosts_by_state = Vec::with_capacity(CONNECTION_STATES.len());
        for state in CONNECTION_STATES {
            let n = self
                .store
                .count_hosts(&HostFilter {
                    connection_state: Some(state),
                    ..HostFilter::default()
                })
                .await?;
            hosts_by_state.push((state.as_str(), n));
        }
        Ok(OperatorFigures {
            tasks_by_state: self.store.count_tasks_by_state().await?,
            hosts_by_state,
            last_heartbeat_round: self.last_heartbeat_round(),
            store_latency: self.store_ping().await.ok(),
        })
    }
}
