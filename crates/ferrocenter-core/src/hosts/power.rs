//! Host power: reboot, shutdown, and standby (at once, or as a task that waits for VMs).

use super::connection::host_task;
use super::guard::{allowed, connected as require_connected, HostOperation};
use crate::auth::{Caller, Privilege};
use crate::inventory::{ConnectionState, Host, HostState};
use crate::tasks::Task;
use crate::tasks::TaskKind;
use crate::{Core, CoreError};
use serde_json::json;

impl Core {
    /// Reboot or shutdown: refused unless the host is in maintenance mode or `force`.
    pub async fn host_power(
        &self,
        caller: &Caller,
        host_id: &str,
        reboot: bool,
        force: bool,
    ) -> Result<Task, CoreError> {
        self.auth.authorize(caller, Privilege::HostConfigPower)?;
        let host = self.host(host_id).await?;
        allowed(
            &host,
            if reboot {
                HostOperation::Reboot
            } else {
                HostOperation::Shutdown
            },
        )?;
        if host.state != HostState::Maintenance && !force {
            return Err(CoreError::invalid_state(format!(
                "host {} is not in maintenance mode (use force)",
                host.name
            )));
        }
        let core = self.self_arc();
        let user = caller.user.clone();
        let what = if reboot { "Reboot" } else { "Shut down" };
        self.tasks
            .submit(
                host_task(
                    if reboot {
                        TaskKind::HostReboot
                    } else {
                        TaskKind::HostShutdown
                    },
                    &host,
                    caller,
                    format!("{what} host {}", host.name),
                    false,
                    None,
                ),
                move |_ctx| async move {
                    let agent = core.agent(&host).await?;
                    // The agent applies its own maintenance rule; the server's was checked above.
                    let r = if reboot {
                        agent.reboot(force).await
                    } else {
                        agent.shutdown(force).await
                    };
                    r?;
                    // An agent answers for a moment after accepting: marked before it has gone,
                    // the host could be reconnected by a heartbeat to the system about to go
                    // away. Bounded, so a host slow to go still shows going away.
                    for _ in 0..50 {
                        if agent.uptime_secs().await.is_err() {
                            break;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                    core.sessions.forget(&host.id);
                    core.mark_going_away(&host.id, reboot, &user).await?;
                    Ok(crate::tasks::TaskResult::Host { host: host.id })
                },
            )
            .await
    }

    /// A host that accepted a reboot or shutdown goes away: shown so at once rather than
    /// connected and powered on until heartbeats miss it. vim's states: not responding, with
    /// power unknown while it reboots, and poweredOff after a shutdown the server asked for.
    /// Heartbeats reconnect it when it answers again (with its new boot time).
    async fn mark_going_away(
        &self,
        host_id: &str,
        reboot: bool,
        user: &str,
    ) -> Result<(), CoreError> {
        let Some(mut h) = self.store.get_host(host_id).await? else {
            return Ok(());
        };
        if h.connection_state == ConnectionState::Connected {
            h.connection_state = ConnectionState::NotResponding;
        }
        h.power_state = if reboot { "unknown" } else { "poweredOff" }.into();
        h.last_op_at = self.clock.now();
        self.store.update_host(&h).await?;
        self.record_event(
            "HostShutdownEvent",
            "host",
            &h.id,
            &h.name,
            user,
            format!(
                "Host {} is {}",
                h.name,
                if reboot { "rebooting" } else { "shutting down" }
            ),
            json!({"reason": if reboot { "reboot" } else { "shutdown" }}),
        )
        .await;
        Ok(())
    }

    pub async fn host_standby(
        &self,
        caller: &Caller,
        host_id: &str,
        down: bool,
    ) -> Result<Host, CoreError> {
        self.auth.authorize(caller, Privilege::HostConfigPower)?;
        let mut host = self.host(host_id).await?;
        require_connected(&host)?;
        let agent = self.agent(&host).await?;
        let rt = agent.standby(down).await?;
        host.power_state = if down { "standBy" } else { "poweredOn" }.into();
        host.runtime = Some(rt);
        self.store.update_host(&host).await?;
        Ok(host)
    }

    /// Standby as a task: down needs a connected host not already in standby and no powered-on
    /// VM; up needs a host in standby.
    pub async fn host_standby_task(
        &self,
        caller: &Caller,
        host_id: &str,
        down: bool,
        timeout_secs: i64,
    ) -> Result<Task, CoreError> {
        self.auth.authorize(caller, Privilege::HostConfigPower)?;
        let host = self.host(host_id).await?;
        allowed(
            &host,
            if down {
                HostOperation::StandbyDown
            } else {
                HostOperation::StandbyUp
            },
        )?;
        let core = self.self_arc();
        let who = caller.clone();
        let timeout =
            (timeout_secs > 0).then(|| std::time::Duration::from_secs(timeout_secs as u64));
        self.tasks
            .submit(
                host_task(
                    if down {
                        TaskKind::HostStandbyDown
                    } else {
                        TaskKind::HostStandbyUp
                    },
                    &host,
                    caller,
                    format!(
                        "{} host {}",
                        if down {
                            "Enter standby on"
                        } else {
                            "Exit standby on"
                        },
                        host.name
                    ),
                    true,
                    timeout,
                ),
                move |ctx| async move {
                    if down {
                        // Like maintenance mode, standby waits until no VM runs on the host.
                        loop {
                            let vms = core.store.list_vms(Some(&host.id)).await?;
                            if !vms.iter().any(|v| v.power_state == "poweredOn") {
                                break;
                            }
                            ctx.progress(10, "waiting for powered-on VMs to stop or move")
                                .await;
                            ctx.sleep(core.config.hosts.maintenance_poll).await?;
                        }
                    }
                    let h = core.host_standby(&who, &host.id, down).await?;
                    Ok(crate::tasks::TaskResult::HostPower {
                        host: h.id,
                        power_state: h.power_state,
                    })
                },
            )
            .await
    }
}
