//! Heartbeats: every connected host is checked on an interval. After `heartbeat_failures`
//! misses it is notResponding; the server keeps trying with backoff and reconnects a host that
//! answers again, unless its credentials no longer work, which is recorded and ends the retries.
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::ReconnectSpec;
use crate::auth::{Caller, Realm, Role};
use crate::inventory::{ConnectionState, Host, HostFilter};
use crate::ports::{AgentEvent, AgentSession};
use crate::ticker::Ticker;
use crate::{Core, CoreError};

#[derive(Default)]
pub(crate) struct Beats {
    /// Consecutive misses per host, and for notResponding hosts the ticks to skip (backoff).
    misses: Mutex<HashMap<String, (u32, u32)>>,
    /// The last round that checked hosts (the operator's metrics).
    last_round: Mutex<Option<HeartbeatRound>>,
}

/// How long one heartbeat round took, over how many hosts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeartbeatRound {
    pub seconds: f64,
    pub hosts: usize,
    pub answered: usize,
}

pub(crate) fn system_caller() -> Caller {
    Caller {
        principal_id: "system".into(),
        user: "system".into(),
        realm: Realm::Local,
        role: Role::SuperAdmin,
    }
}

impl Core {
    /// The last heartbeat round, once one has run.
    pub fn last_heartbeat_round(&self) -> Option<HeartbeatRound> {
        *self.beats.last_round.lock()
    }

    /// Starts the heartbeat loop (the appliance service `heartbeat`); it runs until `stop` is
    /// cancelled, or the service is stopped.
    pub fn start_heartbeats(&self, stop: CancellationToken) {
        self.services.start_heartbeats(stop);
    }

    /// The loop itself, until `stop` is cancelled.
    pub(crate) fn spawn_heartbeat_loop(
        self: &Arc<Self>,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let core = self.clone();
        tokio::spawn(async move {
            let mut ticker = Ticker::new(core.config.hosts.heartbeat_interval, stop);
            while ticker.next().await {
                core.heartbeat_round().await;
            }
        })
    }

    /// One round over every connected or not-responding host, a bounded number at once. Its
    /// summary line is how an operator (and the scale benchmark) sees that every host answered,
    /// for example after a restart.
    pub async fn heartbeat_round(self: &Arc<Self>) {
        // A server not set up manages no host: during an upgrade its store holds the source's
        // hosts, whose agents the source still holds until the upgrade claims them.
        if !self.is_configured() {
            return;
        }
        let started = std::time::Instant::now();
        let hosts = match self.store.list_hosts(&HostFilter::default()).await {
            Ok(h) => h,
            Err(e) => {
                warn!(error = %e, "heartbeat: cannot list hosts");
                return;
            }
        };
        let sem = Arc::new(tokio::sync::Semaphore::new(64));
        let mut joins = Vec::new();
        for h in hosts {
            if !matches!(
                h.connection_state,
                ConnectionState::Connected | ConnectionState::NotResponding
            ) {
                continue;
            }
            let core = self.clone();
            // The semaphore is never closed, so acquiring ends only with a permit.
            let Ok(permit) = sem.clone().acquire_owned().await else {
                break;
            };
            joins.push(tokio::spawn(async move {
                let answered = core.beat(h).await;
                drop(permit);
                answered
            }));
        }
        let checked = joins.len();
        let mut answered = 0usize;
        for j in joins {
            if j.await.unwrap_or(false) {
                answered += 1;
            }
        }
        self.retry_left_claims();
        *self.beats.last_round.lock() = Some(HeartbeatRound {
            seconds: started.elapsed().as_secs_f64(),
            hosts: checked,
            answered,
        });
        if checked > 0 {
            info!(
                answered,
                hosts = checked,
                seconds = format!("{:.3}", started.elapsed().as_secs_f64()),
                "heartbeat round"
            );
        }
    }

    /// One host's heartbeat; whether it answered.
    async fn beat(self: &Arc<Self>, host: Host) -> bool {
        if host.connection_state == ConnectionState::NotResponding {
            let skip = {
                let mut m = self.beats.misses.lock();
                let e = m.entry(host.id.clone()).or_insert((0, 0));
                if e.1 > 0 {
                    e.1 -= 1;
                    true
                } else {
                    false
                }
            };
            if !skip {
                self.try_reconnect(host).await;
            }
            return false;
        }
        match self.check_host(&host).await {
            Ok(()) => {
                self.beats.misses.lock().remove(&host.id);
                true
            }
            Err(e) => {
                let misses = {
                    let mut m = self.beats.misses.lock();
                    let entry = m.entry(host.id.clone()).or_insert((0, 0));
                    entry.0 += 1;
                    entry.0
                };
                if misses >= self.config.hosts.heartbeat_failures {
                    self.mark_not_responding(&host, &e).await;
                }
                false
            }
        }
    }

    /// Records a VM's power state as the host's agent reports it; false if the VM is unknown
    /// here (not on record, or on record at another host): the host is then resynced.
    /// Only the power state is written, and only on the record as it was read, so a power
    /// operation that wrote meanwhile is not undone; the record and the agent are then read
    /// again (the agent's answer after that write is at least as new as it).
    async fn observe_vm_power(
        &self,
        agent: &dyn AgentSession,
        host: &Host,
        vm_uuid: &str,
    ) -> Result<bool, CoreError> {
        for _ in 0..3 {
            // The agent names VMs by BIOS uuid, which only its own host's VMs make unique. A VM
            // this host reports but the record places elsewhere is a migration the inventory
            // missed (its write failed, or the server died after the agents' switch-over): not
            // found here, so the host resyncs.
            let Some(vm) = self.store.find_vm_on_host(&host.id, vm_uuid).await? else {
                return Ok(false);
            };
            let Ok(v) = agent.vm(vm_uuid).await else {
                return Ok(true);
            };
            let seen = v.power_state.as_str().to_string();
            if seen == vm.power_state
                || self
                    .store
                    .record_vm_power(&vm, &seen, self.clock.now())
                    .await?
            {
                return Ok(true);
            }
        }
        Ok(true)
    }

    /// Reads the runtime and the host's events since the cursor, updating VM power states.
    async fn check_host(&self, host: &Host) -> Result<(), CoreError> {
        let agent = self.agent(host).await?;
        // One request: the runtime, then the events after the cursor.
        let (rt, page) = agent.heartbeat(host.event_cursor).await?;
        if let Some(claim) = &rt.claim {
            if claim.server_uuid != self.server_uuid().await? {
                self.lose_to_another_server(host, claim).await;
                return Ok(());
            }
        }
        // The listed record serves a quiet heartbeat (most of them); events and resyncs work on
        // a fresh one, since an operation may have changed the host since the round began.
        let fresh;
        let h = if page.events.is_empty() && !page.truncated {
            host
        } else {
            fresh = match self.store.get_host(&host.id).await? {
                Some(h) => h,
                None => return Ok(()),
            };
            &fresh
        };
        let mut resync = page.truncated;
        for ev in &page.events {
            match ev {
                AgentEvent::VmPowerChanged { vm_uuid } => {
                    if !self.observe_vm_power(agent.as_ref(), h, vm_uuid).await? {
                        resync = true;
                    }
                }
                AgentEvent::Rebooted => resync = true,
                AgentEvent::MigrationEnded {
                    committed,
                    destination,
                    ..
                } => {
                    // The destination adopts the VM's record first, so that it keeps its id
                    // and moId rather than being dropped here and registered anew there.
                    if let (true, Some((address, port))) = (committed, destination) {
                        self.resync_host_at(address, *port).await;
                    }
                    resync = true;
                }
                AgentEvent::SensorChanged { sensor, status } => {
                    self.record_event(
                        "HostSensorChangedEvent",
                        "host",
                        &h.id,
                        &h.name,
                        "system",
                        format!("Sensor {sensor:?} of {} is {status:?}", h.name),
                        json!({"sensor": sensor, "status": status}),
                    )
                    .await;
                }
                AgentEvent::PasswordChanged { account } => {
                    self.record_event(
                        "AccountUpdatedEvent",
                        "host",
                        &h.id,
                        &h.name,
                        "system",
                        format!("The password of {account} was changed on {}", h.name),
                        json!({"account": account}),
                    )
                    .await;
                }
            }
        }
        let mut facts = None;
        if resync {
            let vms = agent.vms().await?;
            self.sync_vms(h, &vms).await?;
            facts = agent.facts().await.ok();
        }
        // A reading that moved only the counters (most of them) goes to the read model alone:
        // the store is written when the host's state, facts or event cursor changed. After a
        // restart the counters are the stored ones until the first heartbeat.
        let quiet = facts.is_none()
            && page.next == h.event_cursor
            && h.runtime.as_ref().is_some_and(|was| was.same_state(&rt));
        if quiet {
            self.read_model.note_counters(&h.id, &rt);
            return Ok(());
        }
        // Only what was observed is written: an operation may have changed the host's state
        // while this heartbeat waited on the agent.
        self.store
            .record_host_observation(&h.id, Some(&rt), facts.as_ref(), page.next)
            .await?;
        Ok(())
    }

    /// Brings the VM records of the host at `address:port` in line with its agent, if it is a
    /// connected host of this server; a failure leaves that host's own heartbeat to do it.
    async fn resync_host_at(&self, address: &str, port: u16) {
        let Ok(Some(host)) = self.store.find_host_by_address(address, port).await else {
            return;
        };
        if host.connection_state != ConnectionState::Connected {
            return;
        }
        let synced = async {
            let vms = self.agent(&host).await?.vms().await?;
            self.sync_vms(&host, &vms).await
        }
        .await;
        if let Err(e) = synced {
            warn!(host = %host.name, error = %e, "could not resync a migration's destination");
        }
    }

    /// The agent is claimed by another server now (an upgrade moved the host, or another
    /// server added it with `force`): this server no longer manages it, rather than fight
    /// for it. The host becomes disconnected, with an event naming its new manager; a
    /// reconnect (with `force`) takes it back.
    async fn lose_to_another_server(&self, host: &Host, claim: &crate::inventory::ClaimInfo) {
        let moved = self
            .store
            .transition_host_connection(
                &host.id,
                ConnectionState::Connected,
                ConnectionState::Disconnected,
            )
            .await;
        if !matches!(moved, Ok(true)) {
            return;
        }
        self.sessions.forget(&host.id);
        warn!(host = %host.name, manager = %claim.server_address, "host is managed by another server now: disconnected");
        self.record_event(
            "HostDisconnectedEvent",
            "host",
            &host.id,
            &host.name,
            "system",
            format!(
                "Host {} is managed by another server now (server {} at {}): disconnected",
                host.name, claim.server_uuid, claim.server_address
            ),
            json!({"managed_by": claim.server_uuid, "manager_address": claim.server_address}),
        )
        .await;
    }

    async fn mark_not_responding(&self, host: &Host, why: &CoreError) {
        // Only a host still connected: a disconnect that raced this heartbeat stands.
        let moved = self
            .store
            .transition_host_connection(
                &host.id,
                ConnectionState::Connected,
                ConnectionState::NotResponding,
            )
            .await;
        if !matches!(moved, Ok(true)) {
            return;
        }
        let h = host;
        self.sessions.forget(&h.id);
        warn!(host = %h.name, error = %why, "host is not responding");
        self.record_event(
            "HostNotRespondingEvent",
            "host",
            &h.id,
            &h.name,
            "system",
            format!("Host {} is not responding: {why}", h.name),
            json!({}),
        )
        .await;
    }

    /// A not-responding host that answers again is reconnected; if its credentials no longer
    /// work, that is recorded and the server stops trying (the host becomes disconnected).
    async fn try_reconnect(self: &Arc<Self>, host: Host) {
        let Ok(task) = self
            .reconnect_host(&system_caller(), &host.id, ReconnectSpec::default())
            .await
        else {
            return;
        };
        let mut done = None;
        for _ in 0..600 {
            match self.tasks.get(&task.id).await {
                Ok(t) if t.state.is_finished() => {
                    done = Some(t);
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let Some(t) = done else { return };
        match t.error {
            None => {
                self.beats.misses.lock().remove(&host.id);
                info!(host = %host.name, "host answered again and was reconnected");
            }
            Some(CoreError::InvalidLogin) => {
                if let Ok(Some(mut h)) = self.store.get_host(&host.id).await {
                    h.connection_state = ConnectionState::Disconnected;
                    let _ = self.store.update_host(&h).await;
                }
                self.record_event(
                    "HostCnxFailedAccountFailedEvent",
                    "host",
                    &host.id,
                    &host.name,
                    "system",
                    format!(
                        "The credentials for {} no longer work; reconnect it with new ones",
                        host.name
                    ),
                    json!({}),
                )
                .await;
            }
            Some(_) => {
                // Back off: wait 1, 2, 4, then 8 intervals between tries.
                let mut m = self.beats.misses.lock();
                let e = m.entry(host.id.clone()).or_insert((0, 0));
                e.0 = e.0.saturating_add(1);
                e.1 = (1u32 << e.0.min(4).saturating_sub(1)).min(8);
            }
        }
    }
}

impl Core {
    /// At start: a host left `connecting` by a killed process is either an add that never
    /// finished (no runtime read yet), which is removed so it is absent rather than half-added,
    /// or a reconnect, which leaves it disconnected. Then the claims adds left without a host
    /// record are released (`claims.rs`).
    pub async fn recover_hosts(&self) -> Result<(usize, usize), CoreError> {
        let stuck = self
            .store
            .list_hosts(&HostFilter {
                connection_state: Some(ConnectionState::Connecting),
                ..Default::default()
            })
            .await?;
        // A maintenance entry cut short goes back to the state before it.
        for mut h in self.store.list_hosts(&HostFilter::default()).await? {
            if h.state == crate::inventory::HostState::PreMaintenance {
                h.state = h
                    .previous_state
                    .take()
                    .unwrap_or(crate::inventory::HostState::Enabled);
                self.store.update_host(&h).await?;
                if let Ok(agent) = self.agent(&h).await {
                    let _ = agent.set_maintenance(false).await;
                }
            }
        }
        let (mut removed, mut disconnected) = (0, 0);
        for mut h in stuck {
            if h.runtime.is_none() {
                super::add::take_back_abandoned(&self.self_arc(), h).await?;
                removed += 1;
            } else {
                h.connection_state = ConnectionState::Disconnected;
                self.store.update_host(&h).await?;
                disconnected += 1;
            }
        }
        if removed + disconnected > 0 {
            warn!(
                removed,
                disconnected, "recovered hosts left connecting by the previous process"
            );
        }
        // After the take-backs, so that a claim their records held is released once.
        let claims = self.self_arc().release_left_claims(false).await;
        if claims > 0 {
            warn!(
                claims,
                "released the claims adds of the previous process left without a host record"
            );
        }
        Ok((removed, disconnected))
    }
}
