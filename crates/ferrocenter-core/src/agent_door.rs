//! The agent door: the one core module that knows `ferrocenter_agent_client`. It implements the
//! [`Agents`] port over the agent's HTTPS client, turns the agent's wire types into the core's
//! models (`HostFacts`, `HostRuntime`, `VmInfo`, …) and the agent's errors into core faults.
//! Everything else in the core sees only the port.
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_agent_client::wire::{self, ErrorCode};
use ferrocenter_agent_client::{AgentClient, AgentConnector, AgentError};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::inventory::{HostFacts, HostRuntime, LockdownMode, VmInfo};
use crate::ports::{
    AgentAbout, AgentEndpoint, AgentEvent, AgentEvents, AgentSession, Agents, Migrated,
    MigrationProgress, MigrationTicket, PowerAction,
};
use crate::CoreError;

/// The DNS host-name grammar, shared with the agent and the client library.
pub(crate) use ferrocenter_agent_client::is_dns_name;
/// How the server connects to agents (timeouts, idle pool), from the server configuration.
pub use ferrocenter_agent_client::ConnectOptions;
/// The certificate thumbprint forms, shared with the agent and the client library.
pub(crate) use ferrocenter_agent_client::{normalize_thumbprint, pem_thumbprint};

/// The real door: one shared HTTPS pool for every agent.
pub struct AgentClientDoor {
    connector: AgentConnector,
}

impl AgentClientDoor {
    pub fn new(options: ConnectOptions) -> Self {
        AgentClientDoor {
            connector: AgentConnector::new(options),
        }
    }
}

impl Agents for AgentClientDoor {
    fn open(&self, e: &AgentEndpoint) -> Arc<dyn AgentSession> {
        Arc::new(ClientSession {
            name: e.name.clone(),
            client: self
                .connector
                .client(&e.address, e.port, e.thumbprint.as_deref()),
        })
    }
}

struct ClientSession {
    name: String,
    client: AgentClient,
}

impl ClientSession {
    fn fault(&self) -> impl Fn(AgentError) -> CoreError + '_ {
        move |e| agent_fault(&self.name, e)
    }
}

/// The core models have the agent's JSON shape (the store keeps what the agent sent), so a
/// wire value becomes a core one by that shape; the test below holds the two to it.
fn recast<T: Serialize, U: DeserializeOwned>(t: &T) -> Result<U, CoreError> {
    serde_json::to_value(t)
        .and_then(U::deserialize)
        .map_err(|e| CoreError::internal(format!("agent answer: {e}")))
}

/// A refusal of a VM spec names the agent's field (`disks[0].capacity_bytes`); the core's
/// callers know the core's names (`disks[0].capacity`), which each surface renames its own way.
/// A disk the host refuses as smaller than its image is only known there.
fn spec_fields_as_core_names(e: CoreError) -> CoreError {
    let CoreError::InvalidArgument { field, reason } = e else {
        return e;
    };
    let field = match field.as_str() {
        "vcpus" => "cpus".to_string(),
        "memory_bytes" => "memory_mib".to_string(),
        "guest_os_id" => "guest_os".to_string(),
        f => match f.strip_suffix(".capacity_bytes") {
            Some(disk) if disk.starts_with("disks[") => format!("{disk}.capacity"),
            _ => field,
        },
    };
    CoreError::InvalidArgument { field, reason }
}

fn wire_power(a: PowerAction) -> wire::PowerAction {
    match a {
        PowerAction::On => wire::PowerAction::On,
        PowerAction::Off => wire::PowerAction::Off,
        PowerAction::Suspend => wire::PowerAction::Suspend,
        PowerAction::Reset => wire::PowerAction::Reset,
    }
}

fn wire_lockdown(m: LockdownMode) -> wire::LockdownMode {
    match m {
        LockdownMode::Disabled => wire::LockdownMode::Disabled,
        LockdownMode::Normal => wire::LockdownMode::Normal,
        LockdownMode::Strict => wire::LockdownMode::Strict,
    }
}

fn core_event(d: &wire::EventData) -> Result<AgentEvent, CoreError> {
    Ok(match d {
        wire::EventData::VmPowerChanged { vm_uuid, .. } => AgentEvent::VmPowerChanged {
            vm_uuid: vm_uuid.clone(),
        },
        wire::EventData::SensorChanged { sensor, status } => AgentEvent::SensorChanged {
            sensor: recast(sensor)?,
            status: recast(status)?,
        },
        wire::EventData::Rebooted { .. } => AgentEvent::Rebooted,
        wire::EventData::PasswordChanged { account } => AgentEvent::PasswordChanged {
            account: account.clone(),
        },
        wire::EventData::MigrationEnded {
            vm_uuid,
            role,
            outcome,
            destination,
        } => AgentEvent::MigrationEnded {
            vm_uuid: vm_uuid.clone(),
            committed: *outcome == wire::MigrationState::Committed,
            destination: match role {
                wire::MigrationRole::Source => destination.as_deref().and_then(|d| {
                    let (host, port) = d.rsplit_once(':')?;
                    Some((host.to_string(), port.parse().ok()?))
                }),
                wire::MigrationRole::Destination => None,
            },
        },
    })
}

fn events_of(page: &wire::EventsPage) -> Result<AgentEvents, CoreError> {
    Ok(AgentEvents {
        events: page
            .events
            .iter()
            .map(|e| core_event(&e.data))
            .collect::<Result<_, _>>()?,
        next: page.next,
        truncated: page.truncated,
    })
}

#[async_trait]
impl AgentSession for ClientSession {
    async fn about(&self) -> Result<AgentAbout, CoreError> {
        let a = self.client.about().await.map_err(self.fault())?;
        Ok(AgentAbout {
            product: a.product,
            version: a.version,
        })
    }

    async fn login(&self, user: &str, password: &str) -> Result<(), CoreError> {
        self.client
            .login(user, password)
            .await
            .map(|_| ())
            .map_err(self.fault())
    }

    async fn logout(&self) {
        let _ = self.client.logout().await;
    }

    async fn ensure_service_account(&self, name: &str, password: &str) -> Result<bool, CoreError> {
        match self.client.create_account(name, password).await {
            Ok(_) => Ok(true),
            // The agent answers InvalidState for an account that exists.
            Err(e) if e.code() == Some(ErrorCode::InvalidState) => self
                .client
                .change_password(name, password)
                .await
                .map(|()| false)
                .map_err(self.fault()),
            Err(e) => Err(self.fault()(e)),
        }
    }

    async fn delete_service_account(&self, name: &str) -> Result<(), CoreError> {
        match self.client.delete_account(name).await {
            Err(e) if e.code() == Some(ErrorCode::NotFound) => Ok(()),
            r => r.map_err(self.fault()),
        }
    }

    async fn claim(
        &self,
        server_uuid: &str,
        server_address: &str,
        force: bool,
    ) -> Result<(), CoreError> {
        self.client
            .claim(&wire::ClaimRequest {
                server_uuid: server_uuid.into(),
                server_address: server_address.into(),
                force,
            })
            .await
            .map(|_| ())
            .map_err(self.fault())
    }

    async fn release_claim(&self, server_uuid: &str) -> Result<(), CoreError> {
        self.client
            .release_claim(server_uuid)
            .await
            .map_err(self.fault())
    }

    async fn facts(&self) -> Result<HostFacts, CoreError> {
        recast(&self.client.facts().await.map_err(self.fault())?)
    }

    async fn runtime(&self) -> Result<HostRuntime, CoreError> {
        recast(&self.client.runtime().await.map_err(self.fault())?)
    }

    async fn events(&self, since: u64) -> Result<AgentEvents, CoreError> {
        events_of(&self.client.events(since).await.map_err(self.fault())?)
    }

    async fn heartbeat(&self, since: u64) -> Result<(HostRuntime, AgentEvents), CoreError> {
        match self.client.heartbeat(since).await {
            Ok(b) => Ok((recast(&b.runtime)?, events_of(&b.events)?)),
            // An agent older than the endpoint: the two requests it does answer.
            Err(e) if e.code() == Some(ErrorCode::NotFound) => {
                Ok((self.runtime().await?, self.events(since).await?))
            }
            Err(e) => Err(self.fault()(e)),
        }
    }

    async fn uptime_secs(&self) -> Result<u64, CoreError> {
        Ok(self
            .client
            .uptime()
            .await
            .map_err(self.fault())?
            .uptime_secs)
    }

    async fn set_maintenance(&self, on: bool) -> Result<HostRuntime, CoreError> {
        recast(
            &self
                .client
                .set_maintenance(on)
                .await
                .map_err(self.fault())?,
        )
    }

    async fn set_lockdown(&self, mode: LockdownMode) -> Result<HostRuntime, CoreError> {
        recast(
            &self
                .client
                .set_lockdown(wire_lockdown(mode))
                .await
                .map_err(self.fault())?,
        )
    }

    async fn standby(&self, down: bool) -> Result<HostRuntime, CoreError> {
        let action = if down {
            wire::StandbyAction::Down
        } else {
            wire::StandbyAction::Up
        };
        recast(&self.client.standby(action).await.map_err(self.fault())?)
    }

    async fn reboot(&self, force: bool) -> Result<(), CoreError> {
        self.client.reboot(force).await.map_err(self.fault())
    }

    async fn shutdown(&self, force: bool) -> Result<(), CoreError> {
        self.client.shutdown(force).await.map_err(self.fault())
    }

    async fn vms(&self) -> Result<Vec<VmInfo>, CoreError> {
        recast(&self.client.vms().await.map_err(self.fault())?)
    }

    async fn vm(&self, uuid: &str) -> Result<VmInfo, CoreError> {
        recast(&self.client.vm(uuid).await.map_err(self.fault())?)
    }

    async fn register_vm(&self, vm: &VmInfo) -> Result<(), CoreError> {
        let known: wire::Vm = recast(vm)?;
        self.client
            .create_vm(&wire::VmSpec {
                uuid: Some(known.uuid),
                instance_uuid: Some(known.instance_uuid),
                name: known.name,
                vcpus: known.vcpus,
                memory_bytes: known.memory_bytes,
                guest_os_id: known.guest_os_id,
                disks: known.disks,
                nics: known.nics,
                power_on: false,
            })
            .await
            .map(|_| ())
            .map_err(|e| spec_fields_as_core_names(agent_fault(&self.name, e)))
    }

    async fn reconfigure_vm(
        &self,
        uuid: &str,
        vcpus: Option<u32>,
        memory_bytes: Option<u64>,
    ) -> Result<VmInfo, CoreError> {
        let r = wire::VmReconfigure {
            vcpus,
            memory_bytes,
        };
        recast(
            &self
                .client
                .reconfigure_vm(uuid, &r)
                .await
                .map_err(self.fault())?,
        )
    }

    async fn unregister_vm(&self, uuid: &str) -> Result<(), CoreError> {
        self.client
            .unregister_vm(uuid)
            .await
            .map(|_| ())
            .map_err(self.fault())
    }

    async fn power(&self, uuid: &str, action: PowerAction) -> Result<VmInfo, CoreError> {
        recast(
            &self
                .client
                .power(uuid, wire_power(action))
                .await
                .map_err(self.fault())?,
        )
    }

    async fn prepare_incoming(&self, vm: &VmInfo) -> Result<MigrationTicket, CoreError> {
        let t = self
            .client
            .prepare_incoming(&recast(vm)?)
            .await
            .map_err(self.fault())?;
        Ok(MigrationTicket {
            migration_id: t.migration_id,
            ticket: t.ticket,
        })
    }

    async fn migrate(
        &self,
        vm_uuid: &str,
        destination: &AgentEndpoint,
        ticket: MigrationTicket,
        timeout: Duration,
    ) -> Result<Migrated, CoreError> {
        let req = wire::MigrateRequest {
            destination_address: destination.address.clone(),
            destination_port: destination.port,
            destination_thumbprint: destination.thumbprint.clone().unwrap_or_default(),
            migration_id: ticket.migration_id,
            ticket: ticket.ticket,
        };
        let r = self
            .client
            .migrate(vm_uuid, &req, timeout)
            .await
            .map_err(self.fault())?;
        Ok(Migrated {
            vm: recast(&r.vm)?,
            duration_ms: r.duration_ms,
        })
    }

    async fn abort_incoming(&self, ticket: &MigrationTicket) -> Result<(), CoreError> {
        self.client
            .migration_step(
                &ticket.migration_id,
                "abort",
                &wire::TicketRequest {
                    ticket: ticket.ticket.clone(),
                    vm: None,
                },
            )
            .await
            .map(|_| ())
            .map_err(self.fault())
    }

    async fn migration_progress(&self, vm_uuid: &str) -> Result<MigrationProgress, CoreError> {
        let p = self
            .client
            .migration_progress(vm_uuid)
            .await
            .map_err(self.fault())?;
        Ok(MigrationProgress {
            processed_bytes: p.processed_bytes,
            total_bytes: p.total_bytes,
            percent: p.percent,
        })
    }

    async fn cancel_migration(&self, vm_uuid: &str) -> Result<(), CoreError> {
        self.client
            .cancel_migration(vm_uuid)
            .await
            .map(|_| ())
            .map_err(self.fault())
    }
}

/// The one translation of agent errors into core faults.
fn agent_fault(host: &str, e: AgentError) -> CoreError {
    match e {
        AgentError::NoHost { reason, .. } => CoreError::NoHost {
            name: host.to_string(),
            reason,
        },
        AgentError::Timeout { .. } => CoreError::NoHost {
            name: host.to_string(),
            reason: "the host did not answer in time".into(),
        },
        AgentError::InvalidLogin => CoreError::InvalidLogin,
        AgentError::SslVerify {
            thumbprint,
            self_signed,
        } => CoreError::SslVerify {
            thumbprint,
            self_signed,
        },
        AgentError::AlreadyBeingManaged { server_address } => CoreError::AlreadyBeingManaged {
            ip_address: server_address,
        },
        AgentError::NotSupportedHost {
            product, version, ..
        } => CoreError::NotSupportedHost { product, version },
        AgentError::Api { body, .. } => {
            use ErrorCode as C;
            match body.code {
                C::InvalidArgument => {
                    CoreError::invalid(body.field.unwrap_or_else(|| "spec".into()), body.message)
                }
                C::NotFound => CoreError::NotFound {
                    what: "object on the host".into(),
                    id: body.message,
                },
                C::InvalidState | C::Busy => CoreError::invalid_state(body.message),
                C::InsufficientCapacity => CoreError::InvalidState {
                    message: format!("insufficient capacity: {}", body.message),
                },
                C::Unavailable => CoreError::Unavailable {
                    message: body.message,
                },
                // The host's own login budget (guessing at its root password from here).
                C::TooManyRequests => CoreError::Unavailable {
                    message: format!("the host refused the login: {}", body.message),
                },
                C::NotSupported => CoreError::not_supported(body.message),
                C::InvalidLogin | C::Unauthenticated | C::PermissionDenied => {
                    CoreError::InvalidLogin
                }
                C::AlreadyBeingManaged => CoreError::AlreadyBeingManaged {
                    ip_address: body.server_address.unwrap_or_default(),
                },
                C::Internal => CoreError::internal(body.message),
            }
        }
        AgentError::Protocol(m) => CoreError::HostConnect {
            name: host.to_string(),
            reason: m,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn wire_facts() -> wire::HostFacts {
        wire::HostFacts {
            hostname: "kvm-1".into(),
            hardware: wire::Hardware {
                vendor: "v".into(),
                model: "m".into(),
                bios_uuid: "u".into(),
                cpu_model: "c".into(),
                cpu_packages: 2,
                cpu_cores: 16,
                cpu_threads: 32,
                cpu_mhz: 2400,
                memory_bytes: 1 << 36,
            },
            architecture: "x86_64".into(),
            os_name: "Debian".into(),
            os_version: "12".into(),
            hypervisor: wire::HypervisorVersions {
                name: "KVM".into(),
                version: "8".into(),
                libvirt_version: "9".into(),
                qemu_version: "7".into(),
            },
            nics: vec![wire::Nic {
                name: "eth0".into(),
                mac: "52:54:00:00:00:01".into(),
                speed_mbps: 10000,
                link_up: true,
            }],
            datastores: vec![wire::Datastore {
                name: "local".into(),
                url: "file:///var".into(),
                kind: "dir".into(),
                capacity_bytes: 10,
                free_bytes: 5,
            }],
            networks: vec![wire::Network {
                name: "br0".into(),
                kind: "bridge".into(),
                vlan: Some(7),
            }],
            boot_time: 1_700_000_000,
            sensors: BTreeMap::from([
                (wire::Sensor::Cpu, wire::SensorStatus::Normal),
                (wire::Sensor::PowerSupply, wire::SensorStatus::Error),
            ]),
            ipmi_address: Some("10.0.0.9".into()),
            ipmi: wire::Ipmi {
                username: Some("admin".into()),
                port: Some(623),
                power_status: Some("POWER_ON".into()),
            },
            os_release: None,
            nqn: Some("nqn.x".into()),
            agent_version: "0.1.0".into(),
        }
    }

    #[test]
    fn a_refused_spec_names_the_core_field() {
        let named = |f: &str| match spec_fields_as_core_names(CoreError::invalid(f, "why")) {
            CoreError::InvalidArgument { field, .. } => field,
            e => panic!("{e:?}"),
        };
        assert_eq!(named("disks[2].capacity_bytes"), "disks[2].capacity");
        assert_eq!(named("disks[0].image"), "disks[0].image");
        assert_eq!(named("vcpus"), "cpus");
        assert_eq!(named("memory_bytes"), "memory_mib");
    }

    /// The core models keep the agent's JSON shape exactly: what the store held before still
    /// reads, and what is written now is what was written before.
    #[test]
    fn core_models_have_the_wire_shape() {
        let w = wire_facts();
        let core: HostFacts = recast(&w).unwrap();
        assert_eq!(
            serde_json::to_value(&core).unwrap(),
            serde_json::to_value(&w).unwrap()
        );
        assert_eq!(
            core.sensor(crate::inventory::Sensor::PowerSupply),
            crate::inventory::SensorStatus::Error
        );
        let rt = wire::Runtime {
            power_state: wire::HostPowerState::StandBy,
            in_maintenance: true,
            lockdown: wire::LockdownMode::Strict,
            quarantined: false,
            boot_time: 1,
            uptime_secs: 2,
            cpu_capacity_mhz: 3,
            cpu_used_mhz: 4,
            memory_capacity_bytes: 5,
            memory_used_bytes: 6,
            vm_count: 7,
            claim: Some(wire::Claim {
                server_uuid: "s".into(),
                server_address: "a".into(),
                claimed_at: 8,
            }),
        };
        let core: HostRuntime = recast(&rt).unwrap();
        assert_eq!(
            serde_json::to_value(&core).unwrap(),
            serde_json::to_value(&rt).unwrap()
        );
        let vm = wire::Vm {
            uuid: "x".into(),
            instance_uuid: "i".into(),
            name: "vm".into(),
            vcpus: 2,
            memory_bytes: 3,
            power_state: wire::VmPowerState::Suspended,
            guest_os_id: "g".into(),
            disks: vec![wire::VmDisk {
                label: "d".into(),
                capacity_bytes: 1,
                datastore: "local".into(),
                image: Some("debian-12.qcow2".into()),
            }],
            nics: vec![wire::VmNic {
                label: "n".into(),
                mac: "m".into(),
                network: "br0".into(),
            }],
            migrating_to: None,
        };
        let core: VmInfo = recast(&vm).unwrap();
        assert_eq!(
            serde_json::to_value(&core).unwrap(),
            serde_json::to_value(&vm).unwrap()
        );
    }
}
