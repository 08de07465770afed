//! The policy's scheduled checks: a round every `schedule_tick` checks LOCAL_AND_ONLINE with
//! the policy's repository when a check time has come, anchored on the policy's last change
//! and the last scheduled check (so a time before either is not owed, and a check missed
//! while the server was down runs once when it starts). A check records its event, found or
//! failed with the reason; with `auto_stage`, the newest update found is staged when nothing
//! is staged or being staged.
use tokio_util::sync::CancellationToken;

use super::state::FoundAt;
use crate::ticker::Ticker;
use crate::version::compare_versions;
use crate::Core;

/// The user the scheduled checks' events and stage tasks are recorded under.
pub const SCHEDULER: &str = "update-schedule";

impl Core {
    /// Starts the scheduled checks until `stop`.
    pub fn start_update_checks(&self, stop: CancellationToken) {
        let core = self.self_arc();
        let every = self.config.update.schedule_tick;
        tokio::spawn(async move {
            let mut ticker = Ticker::new(every, stop);
            while ticker.next().await {
                core.update_check_round().await;
            }
        });
    }

    async fn update_check_round(&self) {
        let policy = match self.read_update_policy().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "update schedule: cannot read the policy");
                return;
            }
        };
        let Some(changed) = policy.updated_at else {
            return;
        };
        let last = match self.read_update_record().await {
            Ok(r) => r.last_scheduled_check,
            Err(e) => {
                tracing::warn!(error = %e, "update schedule: cannot read the state");
                return;
            }
        };
        let anchor = last.map_or(changed, |l| l.max(changed));
        let now = self.clock.now();
        match policy.next_check(anchor) {
            Some(due) if due <= now => {}
            _ => return,
        }
        if let Err(e) = self
            .change_update_record(|r| r.last_scheduled_check = Some(now))
            .await
        {
            tracing::warn!(error = %e, "update schedule: cannot record the check");
            return;
        }
        let mut at = Vec::new();
        if let Some(path) = self.config.update.local_source.clone() {
            at.push(FoundAt::Local { path });
        }
        match self.online_source(None).await {
            Ok(online) => at.extend(online),
            Err(e) => tracing::warn!(error = %e, "update schedule: no online repository"),
        }
        if at.is_empty() {
            let message = "Scheduled update check failed: no repository is configured \
                           (the policy's custom_URL, update_default_url or update_local_source)"
                .to_string();
            tracing::warn!("{message}");
            self.record_event(
                super::CHECKED_EVENT,
                "appliance",
                "update",
                "update",
                SCHEDULER,
                message,
                serde_json::json!({"error": "no repository"}),
            )
            .await;
            return;
        }
        // A failure is recorded as the check's event by the check itself.
        let Ok(found) = self.check_update_sources(at, SCHEDULER).await else {
            return;
        };
        if !policy.auto_stage || self.update.staging.lock().is_some() {
            return;
        }
        match self.read_update_record().await {
            Ok(r) if r.staged.is_none() => {}
            _ => return,
        }
        let newest = found
            .into_iter()
            .filter_map(|f| f.manifest().ok().map(|m| (m.version, f)))
            .max_by(|(a, _), (b, _)| compare_versions(a, b));
        if let Some((version, f)) = newest {
            if let Err(e) = self.start_update_stage(f, &version, SCHEDULER).await {
                tracing::warn!(version, error = %e, "update schedule: the stage did not start");
            }
        }
    }
}
