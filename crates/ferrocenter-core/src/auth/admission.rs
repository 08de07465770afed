//! What keeps password checks from taking the server down: the edge's per-address login
//! budget, reached through [`LoginThrottle`] (the listeners plug in the limiter they share with
//! the agent), and a bound on concurrent password hashing, so that a storm of logins can never
//! occupy every blocking thread or the memory argon2 takes per hash. A login that finds every
//! hashing slot busy waits briefly, then is refused; nothing queues without bound.
use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::CoreError;

/// The per-source-address login budget, as the edge enforces it.
pub trait LoginThrottle: Send + Sync {
    /// Takes one attempt from `peer`'s budget, or answers how long it must wait.
    fn admit(&self, peer: IpAddr) -> Result<(), Duration>;
    /// Gives back the attempt of a login that succeeded.
    fn succeeded(&self, peer: IpAddr);
}

/// Bounds concurrent password hashing.
#[derive(Debug)]
pub struct HashGate {
    slots: Semaphore,
    wait: Duration,
}

impl HashGate {
    pub fn new(workers: usize, wait: Duration) -> Self {
        HashGate {
            slots: Semaphore::new(workers.max(1)),
            wait,
        }
    }

    /// Runs `work` on a blocking thread once a hashing slot is free; refuses if none frees
    /// within the wait.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CoreError> {
        let busy = || CoreError::TooManyLoginAttempts {
            scope: " at once".into(),
            retry_after_secs: 1,
        };
        let _slot = tokio::time::timeout(self.wait, self.slots.acquire())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| CoreError::internal(format!("hashing task failed: {e}")))
    }
}

/// Hashing slots by default: one per core, at least two.
pub fn default_hash_workers() -> usize {
    std::thread::available_parallelism()
        .map(std::num::NonZero::get)
        .unwrap_or(2)
        .max(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_gate_refuses_after_its_wait() {
        let gate = std::sync::Arc::new(HashGate::new(1, Duration::from_millis(50)));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let g = gate.clone();
        let holder = tokio::spawn(async move { g.run(move || rx.recv().ok()).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let refused = gate.run(|| ()).await.unwrap_err();
        assert!(matches!(refused, CoreError::TooManyLoginAttempts { .. }));
        tx.send(()).unwrap();
        holder.await.unwrap().unwrap();
        assert!(gate.run(|| 1).await.is_ok());
    }
}
