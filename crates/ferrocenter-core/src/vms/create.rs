//! Creating a VM: checked and placed before any task exists (so a bad spec is refused at once,
//! naming the field), then defined on its host, recorded, and powered on if asked, as ordered
//! steps: a failure after the host defined the VM undefines it again, so nothing is left
//! half-made.
//!
//! Fields are named by the core (`name`, `cpus`, `memory_mib`, `guest_os`, `datastore`,
//! `disks[i].capacity`, `disks[i].datastore`, `disks[i].image`, `nics[i].network`, and for placement `host`,
//! `cluster`, `datacenter`, `placement`); each surface renames them with its own table.
use std::sync::Arc;

use serde_json::json;

use crate::auth::{Caller, Privilege};
use crate::hosts::guard::connected as require_connected;
use crate::hosts::{allowed, HostOperation};
use crate::inventory::{
    Datastore, Host, HostRuntime, HostState, Network, VmDisk, VmInfo, VmNic, VmPowerState, VmRecord,
};
use crate::model::{new_uuid, EntityRef};
use crate::placement::new_vm::{choose_host, Candidate};
use crate::ports::{AgentSession, PowerAction};
use crate::saga::{Saga, Step, StepFuture};
use crate::tasks::{Task, TaskKind, TaskResult, TaskSpec};
use crate::validate;
use crate::{Core, CoreError};

/// The most vCPUs a VM may have (the agents' limit).
pub const VCPUS_MAX: i64 = 768;
/// Memory bounds in MiB: 4 MiB to 24 TiB (the agents' limits).
pub const MEMORY_MIB_MIN: i64 = 4;
pub const MEMORY_MIB_MAX: i64 = 24 << 20;
/// The guest a VM gets when the spec names none.
pub const DEFAULT_GUEST: &str = "otherLinux64Guest";

/// A new disk: its size, the datastore it goes to (the VM's own when None), and the image it
/// is a copy of (empty when None).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewDisk {
    /// Required even with an image: the host grows the copy to it, and refuses a size below
    /// the image's (`disks[i].capacity`), which only the host knows.
    pub capacity_bytes: i64,
    pub datastore_id: Option<String>,
    /// A file (volume) name on the disk's datastore ([`validate::disk_image`]).
    pub image: Option<String>,
}

/// A new network adapter on a network.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewNic {
    pub network_id: String,
}

/// What a VM is made of and where it goes. Placement narrows from the datacenter to the
/// cluster to the host; at least one of them is needed, and those given must agree.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VmCreateSpec {
    /// The VM's id, when the caller chooses it (ZStack's resourceUuid): 32 lower-case hex.
    pub id: Option<String>,
    pub name: String,
    pub guest_os_id: Option<String>,
    pub datacenter_id: Option<String>,
    pub cluster_id: Option<String>,
    pub host_id: Option<String>,
    /// Where the VM's files (and its disks without one of their own) go; the first datastore
    /// of the host when None.
    pub datastore_id: Option<String>,
    pub vcpus: i64,
    pub memory_mib: i64,
    pub disks: Vec<NewDisk>,
    pub nics: Vec<NewNic>,
    pub power_on: bool,
}

/// How a surface spells the core's fields (`disks[0].image` → `config.deviceChange[1].device.
/// backing.fileName`): refusals name the field as the caller sent it, those the host makes
/// inside the task (a disk smaller than its image) as much as those made before.
pub type FieldNames = Arc<dyn Fn(&str) -> String + Send + Sync>;

fn renamed(names: &FieldNames, e: CoreError) -> CoreError {
    match e {
        CoreError::InvalidArgument { field, reason } => CoreError::InvalidArgument {
            field: names(&field),
            reason,
        },
        e => e,
    }
}

/// A spec checked against the inventory: the host chosen and the VM as the host will hold it.
struct Placed {
    host: Host,
    info: VmInfo,
}

impl Core {
    /// Creates a VM as a task; the spec is checked and the host chosen before the task exists.
    /// Fields are named the core's way.
    pub async fn create_vm(&self, caller: &Caller, spec: VmCreateSpec) -> Result<Task, CoreError> {
        self.create_vm_named(caller, spec, Arc::new(str::to_string))
            .await
    }

    /// [`Core::create_vm`], its refusals (the task's too) naming fields by `names`.
    pub async fn create_vm_named(
        &self,
        caller: &Caller,
        spec: VmCreateSpec,
        names: FieldNames,
    ) -> Result<Task, CoreError> {
        self.submit_create(caller, spec, names.clone())
            .await
            .map_err(|e| renamed(&names, e))
    }

    async fn submit_create(
        &self,
        caller: &Caller,
        spec: VmCreateSpec,
        names: FieldNames,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::VirtualMachineCreate)?;
        if spec.power_on {
            self.auth
                .authorize(caller, Privilege::VirtualMachinePowerOn)?;
        }
        let id = match &spec.id {
            Some(id) => {
                validate::uuid("id", id)?;
                if self.store.get_vm(id).await?.is_some() {
                    return Err(CoreError::AlreadyExists {
                        what: "VM".into(),
                        name: id.clone(),
                    });
                }
                id.clone()
            }
            None => new_uuid(),
        };
        let Placed { host, info } = self.place_new_vm(&spec).await?;
        self.vm_names_free(&host.datacenter_id, &info.name).await?;
        let core = self.self_arc();
        let who = caller.clone();
        let power_on = spec.power_on;
        self.tasks
            .submit(
                TaskSpec {
                    kind: TaskKind::VmCreate,
                    // On the host's queue: a removal or maintenance of the host waits for it.
                    target: Some(EntityRef::new("host", host.id.clone())),
                    initiator: caller.user.clone(),
                    description: format!("Create VM {} on {}", info.name, host.name),
                    cancelable: false,
                    timeout: None,
                },
                move |ctx| async move {
                    let vm = core
                        .define_new_vm(&who, &host, id, info, &ctx)
                        .await
                        .map_err(|e| renamed(&names, e))?;
                    if power_on {
                        ctx.progress(80, "powering on").await;
                        // The VM stays, powered off, if it cannot power on (vCenter's
                        // create-then-power-on does the same): the task reports why.
                        core.power_vm(&who, &vm.id, PowerAction::On).await?;
                    }
                    Ok(TaskResult::VmCreated {
                        vm: vm.id,
                        moid: vm.moid,
                    })
                },
            )
            .await
    }

    /// The steps of a create under the name's reservation; a failed step undoes those done.
    async fn define_new_vm(
        &self,
        caller: &Caller,
        host: &Host,
        id: String,
        info: VmInfo,
        ctx: &crate::tasks::TaskContext,
    ) -> Result<VmRecord, CoreError> {
        let _name = self.vm_name_book.reserve(&host.datacenter_id, &info.name)?;
        // Checked again under the reservation: a create that finished meanwhile took it.
        self.vm_names_free(&host.datacenter_id, &info.name).await?;
        let host = self.host(&host.id).await?;
        require_connected(&host)?;
        let mut st = Creating {
            core: self.self_arc(),
            host,
            id,
            info,
            agent: None,
            record: None,
        };
        self.run_saga(&CREATE, &mut st, Some(ctx)).await?;
        let record = st
            .record
            .ok_or_else(|| CoreError::internal("VM create: no record"))?;
        self.record_event(
            "VmCreatedEvent",
            "vm",
            &record.id,
            &record.name,
            &caller.user,
            format!(
                "Created virtual machine {} on {}",
                record.name, st.host.name
            ),
            json!({"host": st.host.id}),
        )
        .await;
        Ok(record)
    }

    /// Refuses a name another VM of the datacenter has (vCenter: unique per folder; ferrocenter
    /// has one VM folder per datacenter).
    pub(crate) async fn vm_names_free(
        &self,
        datacenter_id: &str,
        name: &str,
    ) -> Result<(), CoreError> {
        use crate::inventory::query::{Condition, ListQuery, QueryOp, QueryValue, VmField};
        let q = ListQuery {
            conditions: vec![
                Condition::new(
                    VmField::DatacenterId,
                    QueryOp::Eq,
                    vec![QueryValue::Text(datacenter_id.into())],
                    "datacenter",
                )?,
                Condition::new(
                    VmField::Name,
                    QueryOp::Eq,
                    vec![QueryValue::Text(name.into())],
                    "name",
                )?,
            ],
            limit: 1,
            ..Default::default()
        };
        if self.store.query_vms(&q).await?.rows.is_empty() {
            Ok(())
        } else {
            Err(CoreError::AlreadyExists {
                what: "VM".into(),
                name: name.into(),
            })
        }
    }

    /// Checks a spec's values and its references, and picks the host.
    async fn place_new_vm(&self, spec: &VmCreateSpec) -> Result<Placed, CoreError> {
        validate::entity_name("name", &spec.name)?;
        if !(1..=VCPUS_MAX).contains(&spec.vcpus) {
            return Err(CoreError::invalid(
                "cpus",
                format!("must be between 1 and {VCPUS_MAX}"),
            ));
        }
        if !(MEMORY_MIB_MIN..=MEMORY_MIB_MAX).contains(&spec.memory_mib) {
            return Err(CoreError::invalid(
                "memory_mib",
                format!("must be between {MEMORY_MIB_MIN} and {MEMORY_MIB_MAX} MiB"),
            ));
        }
        let guest = spec.guest_os_id.as_deref().unwrap_or(DEFAULT_GUEST);
        if guest.is_empty()
            || guest.len() > 64
            || !guest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(CoreError::invalid(
                "guest_os",
                "must be 1 to 64 letters, digits or '_'",
            ));
        }
        for (i, d) in spec.disks.iter().enumerate() {
            if d.capacity_bytes <= 0 {
                return Err(CoreError::invalid(
                    format!("disks[{i}].capacity"),
                    "must be positive",
                ));
            }
            if let Some(image) = &d.image {
                validate::disk_image(&format!("disks[{i}].image"), image)?;
            }
        }
        // The named containers exist and agree.
        let mut datacenter_id = spec.datacenter_id.clone();
        if let Some(d) = &datacenter_id {
            if self.store.get_datacenter(d).await?.is_none() {
                return Err(CoreError::invalid(
                    "datacenter",
                    format!("no datacenter {d}"),
                ));
            }
        }
        let cluster = match &spec.cluster_id {
            Some(c) => {
                let c = self
                    .store
                    .get_cluster(c)
                    .await?
                    .ok_or_else(|| CoreError::invalid("cluster", format!("no cluster {c}")))?;
                if datacenter_id.get_or_insert_with(|| c.datacenter_id.clone()) != &c.datacenter_id
                {
                    return Err(CoreError::invalid(
                        "cluster",
                        format!("cluster {} is in another datacenter", c.name),
                    ));
                }
                Some(c)
            }
            None => None,
        };
        let named_host = match &spec.host_id {
            Some(h) => {
                let h = self
                    .store
                    .get_host(h)
                    .await?
                    .ok_or_else(|| CoreError::invalid("host", format!("no host {h}")))?;
                if let Some(c) = &cluster {
                    if h.cluster_id.as_deref() != Some(c.id.as_str()) {
                        return Err(CoreError::invalid(
                            "host",
                            format!("host {} is not in cluster {}", h.name, c.name),
                        ));
                    }
                }
                if datacenter_id.get_or_insert_with(|| h.datacenter_id.clone()) != &h.datacenter_id
                {
                    return Err(CoreError::invalid(
                        "host",
                        format!("host {} is in another datacenter", h.name),
                    ));
                }
                Some(h)
            }
            None => None,
        };
        let Some(datacenter_id) = datacenter_id else {
            return Err(CoreError::invalid(
                "placement",
                "name where the VM goes: a host, a cluster or a datacenter",
            ));
        };
        // The datastores and networks named exist in that datacenter.
        let datastores = self.store.list_datastores(Some(&datacenter_id)).await?;
        let networks = self.store.list_networks(Some(&datacenter_id)).await?;
        let find_ds = |field: String, id: &str| -> Result<Datastore, CoreError> {
            datastores
                .iter()
                .find(|d| d.id == id)
                .cloned()
                .ok_or_else(|| CoreError::invalid(field, format!("no datastore {id} here")))
        };
        let vm_ds = match &spec.datastore_id {
            Some(d) => Some(find_ds("datastore".into(), d)?),
            None => None,
        };
        let mut disk_ds = Vec::new();
        for (i, d) in spec.disks.iter().enumerate() {
            disk_ds.push(match &d.datastore_id {
                Some(id) => Some(find_ds(format!("disks[{i}].datastore"), id)?),
                None => None,
            });
        }
        let mut nets: Vec<Network> = Vec::new();
        for (i, n) in spec.nics.iter().enumerate() {
            nets.push(
                networks
                    .iter()
                    .find(|x| x.id == n.network_id)
                    .cloned()
                    .ok_or_else(|| {
                        CoreError::invalid(
                            format!("nics[{i}].network"),
                            format!("no network {} here", n.network_id),
                        )
                    })?,
            );
        }
        // The host: the one named, else the placement's choice among the candidates.
        let candidates = match named_host {
            Some(h) => vec![h],
            None => {
                self.store
                    .list_hosts(&crate::inventory::HostFilter {
                        datacenter_id: Some(datacenter_id.clone()),
                        cluster_id: cluster.as_ref().map(|c| c.id.clone()),
                        ..Default::default()
                    })
                    .await?
            }
        };
        let single = spec.host_id.is_some();
        let mut fit = Vec::new();
        let mut why = None;
        for h in candidates {
            match self
                .host_takes(&h, spec.power_on, vm_ds.as_ref(), &disk_ds, &nets)
                .await
            {
                Ok(first_ds) => fit.push(Candidate {
                    free_memory: h.runtime.as_ref().map_or(0, HostRuntime::free_memory_bytes),
                    first_ds,
                    host: h,
                }),
                Err(e) if single => return Err(e),
                Err(e) => why = Some(e),
            }
        }
        let need = (spec.memory_mib as u64) << 20;
        let Some(chosen) = choose_host(fit, if spec.power_on { need } else { 0 }) else {
            return Err(match why {
                Some(e) => CoreError::invalid_state(format!("no host can take the VM: {e}")),
                None => {
                    CoreError::invalid_state("no host can take the VM: the place named has none")
                }
            });
        };
        let home = vm_ds.map(|d| d.name).or(chosen.first_ds);
        let mut disks = Vec::new();
        for (i, (d, ds)) in spec.disks.iter().zip(disk_ds).enumerate() {
            let Some(ds) = ds.map(|d| d.name).or_else(|| home.clone()) else {
                return Err(CoreError::invalid(
                    "datastore",
                    format!("host {} has no datastore for the disks", chosen.host.name),
                ));
            };
            disks.push(VmDisk {
                label: format!("Hard disk {}", i + 1),
                capacity_bytes: d.capacity_bytes as u64,
                datastore: ds,
                image: d.image.clone(),
            });
        }
        let nics = nets
            .iter()
            .enumerate()
            .map(|(i, n)| VmNic {
                label: format!("Network adapter {}", i + 1),
                mac: new_mac(),
                network: n.name.clone(),
            })
            .collect();
        Ok(Placed {
            info: VmInfo {
                uuid: uuid::Uuid::new_v4().to_string(),
                instance_uuid: uuid::Uuid::new_v4().to_string(),
                name: spec.name.clone(),
                vcpus: spec.vcpus as u32,
                memory_bytes: need,
                power_state: VmPowerState::PoweredOff,
                guest_os_id: guest.to_string(),
                disks,
                nics,
                migrating_to: None,
            },
            host: chosen.host,
        })
    }

    /// Whether `h` can hold the VM: connected, taking VMs, seeing its datastores and networks.
    /// Returns the first datastore the host sees (the default home of the VM's files).
    async fn host_takes(
        &self,
        h: &Host,
        power_on: bool,
        vm_ds: Option<&Datastore>,
        disk_ds: &[Option<Datastore>],
        nets: &[Network],
    ) -> Result<Option<String>, CoreError> {
        require_connected(h)?;
        if h.state != HostState::Enabled {
            return Err(CoreError::invalid_state(format!(
                "host {} takes no new VMs ({})",
                h.name,
                h.state.as_str()
            )));
        }
        if power_on {
            allowed(h, HostOperation::PowerOnVm)?;
        }
        let seen = self.store.datastores_of_host(&h.id).await?;
        for (field, d) in vm_ds
            .map(|d| ("datastore".to_string(), d))
            .into_iter()
            .chain(
                disk_ds
                    .iter()
                    .enumerate()
                    .filter_map(|(i, d)| d.as_ref().map(|d| (format!("disks[{i}].datastore"), d))),
            )
        {
            if !seen.iter().any(|s| s.id == d.id) {
                return Err(CoreError::invalid(
                    field,
                    format!("host {} does not see datastore {}", h.name, d.name),
                ));
            }
        }
        let attached = self.store.networks_of_host(&h.id).await?;
        for (i, n) in nets.iter().enumerate() {
            if !attached.iter().any(|a| a.id == n.id) {
                return Err(CoreError::invalid(
                    format!("nics[{i}].network"),
                    format!("host {} is not on network {}", h.name, n.name),
                ));
            }
        }
        Ok(seen.first().map(|d| d.name.clone()))
    }
}

/// A random locally administered MAC in QEMU's prefix (52:54:00), as libvirt makes them.
fn new_mac() -> String {
    let b = *uuid::Uuid::new_v4().as_bytes();
    format!("52:54:00:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
}

/// The state a create's steps share.
pub struct Creating {
    core: Arc<Core>,
    host: Host,
    /// The record's id, chosen before the steps run.
    id: String,
    info: VmInfo,
    agent: Option<Arc<dyn AgentSession>>,
    record: Option<VmRecord>,
}

/// Creating a VM on its host, step by step.
pub static CREATE: Saga<Creating> = Saga {
    name: "vm create",
    steps: &[
        Step {
            name: "define",
            note: "defining the VM on its host",
            action: define,
            undo: Some(undefine),
        },
        Step {
            name: "record",
            note: "recording the VM",
            action: record,
            undo: Some(forget),
        },
    ],
};

/// Defined powered off: a power-on event must not reach a heartbeat before the record exists
/// (it would register the VM a second time).
fn define(s: &mut Creating) -> StepFuture<'_> {
    Box::pin(async move {
        if s.agent.is_some() {
            return Ok(());
        }
        let agent = s.core.agent(&s.host).await?;
        agent.register_vm(&s.info).await?;
        s.agent = Some(agent);
        Ok(())
    })
}

fn undefine(s: &mut Creating) -> StepFuture<'_> {
    Box::pin(async move {
        if let Some(agent) = s.agent.take() {
            agent.unregister_vm(&s.info.uuid).await?;
        }
        Ok(())
    })
}

fn record(s: &mut Creating) -> StepFuture<'_> {
    Box::pin(async move {
        if s.record.is_some() {
            return Ok(());
        }
        let now = s.core.clock.now();
        let moid = s
            .core
            .moid_block("vm", 1)
            .await?
            .pop()
            .ok_or_else(|| CoreError::internal("no moId reserved"))?;
        let info = &s.info;
        let r = VmRecord {
            id: s.id.clone(),
            moid,
            host_id: s.host.id.clone(),
            uuid: info.uuid.clone(),
            instance_uuid: info.instance_uuid.clone(),
            name: info.name.clone(),
            power_state: VmPowerState::PoweredOff.as_str().to_string(),
            vcpus: info.vcpus,
            memory_bytes: info.memory_bytes,
            guest_os_id: info.guest_os_id.clone(),
            info: info.clone(),
            created_at: now,
            last_op_at: now,
        };
        if let Err(e) = s.core.store.insert_vm(&r).await {
            // A heartbeat's resync that ran between the define and now registered the VM
            // itself: that record is this VM's.
            match s
                .core
                .store
                .find_vm_by_instance_uuid(&r.instance_uuid)
                .await?
            {
                Some(found) if found.host_id == r.host_id => {
                    s.record = Some(found);
                    return Ok(());
                }
                _ => return Err(e.into()),
            }
        }
        s.record = Some(r);
        Ok(())
    })
}

fn forget(s: &mut Creating) -> StepFuture<'_> {
    Box::pin(async move {
        if let Some(r) = s.record.take() {
            s.core.store.delete_vm(&r.id).await?;
        }
        Ok(())
    })
}
