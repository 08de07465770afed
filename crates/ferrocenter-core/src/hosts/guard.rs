//! The state guard of every host operation, in one place: the flows call it before they act,
//! and bindings that show what a host can do now (vim's `disabledMethod`) ask it too.
use crate::inventory::{ConnectionState, Host, HostState};
use crate::CoreError;

/// The host operations whose availability depends on the host's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostOperation {
    Reconnect,
    Disconnect,
    EnterMaintenance,
    ExitMaintenance,
    Reboot,
    Shutdown,
    StandbyDown,
    StandbyUp,
    EnterLockdown,
    ExitLockdown,
    Uptime,
    /// A VM powering on on this host.
    PowerOnVm,
}

impl HostOperation {
    pub const ALL: [HostOperation; 12] = [
        HostOperation::Reconnect,
        HostOperation::Disconnect,
        HostOperation::EnterMaintenance,
        HostOperation::ExitMaintenance,
        HostOperation::Reboot,
        HostOperation::Shutdown,
        HostOperation::StandbyDown,
        HostOperation::StandbyUp,
        HostOperation::EnterLockdown,
        HostOperation::ExitLockdown,
        HostOperation::Uptime,
        HostOperation::PowerOnVm,
    ];
}

/// Operations on the host itself need it connected.
pub(crate) fn connected(h: &Host) -> Result<(), CoreError> {
    if h.connection_state != ConnectionState::Connected {
        return Err(CoreError::invalid_state(format!(
            "host {} is {}",
            h.name,
            h.connection_state.as_str()
        )));
    }
    Ok(())
}

fn in_maintenance(h: &Host) -> bool {
    matches!(h.state, HostState::Maintenance | HostState::PreMaintenance)
}

/// Whether `op` may run on `host` as it is now; the refusal says why. Rules that depend on
/// the caller's arguments (force, a thumbprint-only reconnect) stay with their flows.
pub fn allowed(h: &Host, op: HostOperation) -> Result<(), CoreError> {
    use HostOperation as Op;
    match op {
        Op::Reconnect => match h.connection_state {
            ConnectionState::Disconnected | ConnectionState::NotResponding => Ok(()),
            other => Err(CoreError::invalid_state(format!(
                "host {} is {}: only a disconnected or not-responding host can be reconnected",
                h.name,
                other.as_str()
            ))),
        },
        Op::Disconnect => {
            if h.connection_state == ConnectionState::Disconnected {
                return Err(CoreError::already_in_state(format!(
                    "host {} is already {}",
                    h.name,
                    ConnectionState::Disconnected.as_str()
                )));
            }
            Ok(())
        }
        Op::EnterMaintenance => {
            if in_maintenance(h) {
                return Err(CoreError::invalid_state(format!(
                    "host {} is already in or entering maintenance mode",
                    h.name
                )));
            }
            connected(h)
        }
        Op::ExitMaintenance => {
            if h.state != HostState::Maintenance {
                return Err(CoreError::invalid_state(format!(
                    "host {} is not in maintenance mode",
                    h.name
                )));
            }
            // Right after a reboot the host is not responding until heartbeats reconnect it;
            // an exit run then changed an agent the server had not reconnected (its VMs and
            // runtime not read again), leaving the record and the host apart, and the host
            // flapped to not responding once out of maintenance.
            if h.connection_state != ConnectionState::Connected {
                return Err(CoreError::invalid_state(format!(
                    "host {} is {}: it can leave maintenance mode once it is connected again",
                    h.name,
                    h.connection_state.as_str()
                )));
            }
            Ok(())
        }
        Op::Reboot | Op::Shutdown | Op::Uptime => connected(h),
        Op::StandbyDown | Op::StandbyUp => {
            connected(h)?;
            let in_standby = h.power_state == "standBy";
            if op == Op::StandbyDown && in_standby {
                return Err(CoreError::invalid_state(format!(
                    "host {} is already in standby",
                    h.name
                )));
            }
            if op == Op::StandbyUp && !in_standby {
                return Err(CoreError::invalid_state(format!(
                    "host {} is not in standby",
                    h.name
                )));
            }
            Ok(())
        }
        Op::EnterLockdown | Op::ExitLockdown => {
            let enter = op == Op::EnterLockdown;
            // Before the connection check: the mode last read is enough to answer, so a
            // disconnected host still gets vim's AdminDisabled / AdminNotDisabled.
            if h.in_lockdown() == enter {
                return Err(CoreError::already_in_state(if enter {
                    format!("host {} is already in lockdown mode", h.name)
                } else {
                    format!("host {} is not in lockdown mode", h.name)
                }));
            }
            connected(h)
        }
        Op::PowerOnVm => match h.state {
            HostState::PreMaintenance | HostState::Maintenance => {
                Err(CoreError::invalid_state(format!(
                    "host {} is entering or in maintenance mode: VMs may not power on",
                    h.name
                )))
            }
            HostState::Disabled => Err(CoreError::invalid_state(format!(
                "host {} is disabled",
                h.name
            ))),
            HostState::Enabled => Ok(()),
        },
    }
}
