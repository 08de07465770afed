//! Claims this server made on agents that no host record holds. An add writes its intent (where
//! the agent answers, and an account whose password, sealed under the server's key, can release
//! the claim) before it claims, and drops it once the host record holds the same, or once its
//! undo released the claim. A process killed in between leaves the intent behind: recovery at
//! the next start releases the claim through it, and while the agent cannot be reached the
//! heartbeat rounds try again, so an agent is not left claimed by a server that does not list
//! it (another server would need `force`).
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use time::OffsetDateTime;
use tracing::{info, warn};

use crate::{Core, CoreError};

/// A claim being made, or left, on the agent at `address:port`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimIntent {
    pub id: String,
    /// The add making the claim; while it runs, the claim is its own. None for a claim that an
    /// add taken back at start could not release.
    pub task_id: Option<String>,
    pub address: String,
    pub port: u16,
    pub thumbprint: String,
    /// An account that may release the claim: the one the add logged in with, or the service
    /// account.
    pub agent_user: String,
    /// Its password, sealed (`crate::secrets`); never stored in the clear.
    pub agent_secret: String,
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for ClaimIntent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimIntent")
            .field("id", &self.id)
            .field("task_id", &self.task_id)
            .field("address", &self.address)
            .field("port", &self.port)
            .field("thumbprint", &self.thumbprint)
            .field("agent_user", &self.agent_user)
            .field("agent_secret", &"<sealed>")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// What a try at releasing a left claim came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Released, found already gone, or held by a host record: the intent is dropped.
    Settled,
    /// Not this try's (its add still runs, another add of the agent does) or the agent could
    /// not be reached: the intent stays for a later try.
    Kept,
}

#[derive(Default)]
pub(crate) struct Claims {
    /// Per agent (`address:port`), one at a time: an add writing its intent, or a release
    /// deciding that a claim left behind is no one's, so a release never takes the claim of an
    /// add of the same agent that starts meanwhile.
    agents: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Per intent whose agent did not answer: tries so far, and heartbeat rounds still to skip.
    backoff: Mutex<HashMap<String, (u32, u32)>>,
    /// A round of retries is under way (rounds do not overlap).
    retrying: AtomicBool,
}

impl Claims {
    fn agent(&self, address: &str, port: u16) -> Arc<tokio::sync::Mutex<()>> {
        self.agents
            .lock()
            .entry(format!("{address}:{port}"))
            .or_default()
            .clone()
    }

    /// Whether this heartbeat round skips the intent (it backs off 1, 2, 4, then 8 rounds).
    fn skip(&self, id: &str) -> bool {
        let mut b = self.backoff.lock();
        match b.get_mut(id) {
            Some((_, skip)) if *skip > 0 => {
                *skip -= 1;
                true
            }
            _ => false,
        }
    }

    fn missed(&self, id: &str) {
        let mut b = self.backoff.lock();
        let e = b.entry(id.to_string()).or_insert((0, 0));
        e.0 = e.0.saturating_add(1);
        e.1 = (1u32 << e.0.min(4).saturating_sub(1)).min(8);
    }
}

/// An agent that may answer later: the claim is tried again.
fn unreachable(e: &CoreError) -> bool {
    matches!(
        e,
        CoreError::NoHost { .. }
            | CoreError::HostConnect { .. }
            | CoreError::Unavailable { .. }
            | CoreError::Timeout { .. }
    )
}

impl Core {
    /// Stores an add's intent before its claim, one writer per agent at a time (see `Claims`).
    pub(crate) async fn write_claim_intent(&self, c: &ClaimIntent) -> Result<(), CoreError> {
        let agent = self.claims.agent(&c.address, c.port);
        let _one_at_a_time = agent.lock().await;
        self.store.put_claim_intent(c).await?;
        Ok(())
    }

    /// Releases the claims adds left behind (their add no longer runs and no host record holds
    /// them), each agent at once; with `backoff`, agents that did not answer lately are tried
    /// less often. Returns how many intents were settled.
    pub(crate) async fn release_left_claims(self: &Arc<Self>, backoff: bool) -> usize {
        let intents = match self.store.list_claim_intents().await {
            Ok(i) => i,
            Err(e) => {
                warn!(error = %e, "cannot list the claims left by adds");
                return 0;
            }
        };
        let mut joins = Vec::new();
        for c in intents {
            if backoff && self.claims.skip(&c.id) {
                continue;
            }
            let core = self.clone();
            joins.push(tokio::spawn(async move {
                let id = c.id.clone();
                let r = core.release_left_claim(c).await;
                if let Err(e) = &r {
                    warn!(intent = %id, error = %e, "a claim left by an add: try failed");
                }
                r
            }));
        }
        let mut settled = 0;
        for j in joins {
            if matches!(j.await, Ok(Ok(Outcome::Settled))) {
                settled += 1;
            }
        }
        settled
    }

    /// A heartbeat round's share: the left claims are tried again in the background, one round
    /// of tries at a time, so an agent that hangs does not hold up the heartbeats.
    pub(crate) fn retry_left_claims(self: &Arc<Self>) {
        if self.claims.retrying.swap(true, Ordering::SeqCst) {
            return;
        }
        let core = self.clone();
        tokio::spawn(async move {
            core.release_left_claims(true).await;
            core.claims.retrying.store(false, Ordering::SeqCst);
        });
    }

    async fn release_left_claim(&self, c: ClaimIntent) -> Result<Outcome, CoreError> {
        if let Some(task) = &c.task_id {
            if let Some(t) = self.store.get_task(task).await? {
                if !t.state.is_finished() {
                    return Ok(Outcome::Kept);
                }
            }
        }
        let agent = self.claims.agent(&c.address, c.port);
        let _one_at_a_time = agent.lock().await;
        if self
            .store
            .find_host_by_address(&c.address, c.port)
            .await?
            .is_some()
        {
            // The add got as far as its host record (or another add of the agent did): the
            // record holds the claim now, and removing the host releases it.
            return self.settle(&c).await;
        }
        for other in self.store.list_claim_intents().await? {
            if other.id == c.id || (other.address, other.port) != (c.address.clone(), c.port) {
                continue;
            }
            let Some(task) = &other.task_id else { continue };
            if let Some(t) = self.store.get_task(task).await? {
                if !t.state.is_finished() {
                    // Another add of this agent runs: the claim is its now.
                    return Ok(Outcome::Kept);
                }
            }
        }
        let secret = match self.secrets.open(&c.agent_secret) {
            Ok(s) => s,
            Err(e) => {
                warn!(address = %c.address, port = c.port, error = %e,
                    "a claim left by an add cannot be released: its credentials do not open");
                return self.settle(&c).await;
            }
        };
        let thumbprint = (!c.thumbprint.is_empty()).then_some(c.thumbprint.as_str());
        let session = self.open_agent(&c.address, &c.address, c.port, thumbprint);
        let server_uuid = self.server_uuid().await?;
        let released = async {
            session.login(&c.agent_user, &secret).await?;
            let r = session.release_claim(&server_uuid).await;
            session.logout().await;
            r
        }
        .await;
        match released {
            Ok(()) => info!(address = %c.address, port = c.port,
                "released the claim an add left behind"),
            Err(CoreError::NotFound { .. }) => {}
            Err(e) if unreachable(&e) => {
                warn!(address = %c.address, port = c.port, error = %e,
                    "a claim left by an add: the agent cannot be reached, trying again later");
                self.claims.missed(&c.id);
                return Ok(Outcome::Kept);
            }
            Err(e) => warn!(address = %c.address, port = c.port, error = %e,
                "a claim left by an add cannot be released; the agent refused"),
        }
        self.settle(&c).await
    }

    async fn settle(&self, c: &ClaimIntent) -> Result<Outcome, CoreError> {
        self.store.delete_claim_intent(&c.id).await?;
        self.claims.backoff.lock().remove(&c.id);
        Ok(Outcome::Settled)
    }
}
