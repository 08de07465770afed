//! The simulated hypervisor: hardware from a seed, VMs in memory, timed migrations and reboots.
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::time::Duration;

use ferrocenter_agent_client::wire::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use async_trait::async_trait;
use tokio::sync::mpsc::UnboundedReceiver;

use super::{
    Capabilities, Discovered, DriverEvent, Hypervisor, ProgressSink, Resize, TransferProgress,
    TransferTarget,
};
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Bytes of VM memory moved per second of simulated migration.
    pub migration_bytes_per_sec: u64,
    pub reboot_time: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            migration_bytes_per_sec: 1 << 30,
            reboot_time: Duration::from_secs(10),
        }
    }
}

struct State {
    discovered: Discovered,
    sensors: BTreeMap<Sensor, SensorStatus>,
    vms: BTreeMap<String, Vm>,
}

pub struct SimDriver {
    state: Mutex<State>,
    options: SimOptions,
    /// Transfers in flight, by VM uuid: notified to abandon them.
    transfers: Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Notify>>>,
}

const PROFILES: &[(&str, &str, &str, u32, u32, u32)] = &[
    (
        "Dell Inc.",
        "PowerEdge R650",
        "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
        2,
        32,
        2000,
    ),
    (
        "HPE",
        "ProLiant DL380 Gen10 Plus",
        "Intel(R) Xeon(R) Gold 6330 CPU @ 2.00GHz",
        2,
        28,
        2000,
    ),
    (
        "Lenovo",
        "ThinkSystem SR655",
        "AMD EPYC 7543 32-Core Processor",
        1,
        32,
        2800,
    ),
    (
        "Supermicro",
        "SYS-620U-TNR",
        "Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz",
        2,
        16,
        2400,
    ),
];

fn mac(rng: &mut StdRng) -> String {
    let b: [u8; 5] = rng.gen();
    format!("52:54:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3])
}

fn uuid_from(rng: &mut StdRng) -> String {
    let b: [u8; 16] = rng.gen();
    uuid::Builder::from_random_bytes(b).into_uuid().to_string()
}

impl SimDriver {
    /// A host whose hardware is a pure function of `seed`, so fleets are reproducible.
    pub fn new(seed: u64, hostname: &str, options: SimOptions) -> SimDriver {
        let mut rng = StdRng::seed_from_u64(seed);
        let (vendor, model, cpu, packages, cores, mhz) = PROFILES[rng.gen_range(0..PROFILES.len())];
        let memory_gib: u64 = [256, 384, 512, 768][rng.gen_range(0..4)];
        let local_tb: u64 = rng.gen_range(2..=8);
        let local_cap = local_tb << 40;
        let discovered = Discovered {
            hostname: hostname.to_string(),
            hardware: Hardware {
                vendor: vendor.into(),
                model: model.into(),
                bios_uuid: uuid_from(&mut rng),
                cpu_model: cpu.into(),
                cpu_packages: packages,
                cpu_cores: packages * cores,
                cpu_threads: packages * cores * 2,
                cpu_mhz: mhz,
                memory_bytes: memory_gib << 30,
            },
            architecture: "x86_64".into(),
            os_name: "Debian GNU/Linux".into(),
            os_version: "12".into(),
            hypervisor: HypervisorVersions {
                name: "KVM".into(),
                version: "6.1.0".into(),
                libvirt_version: "9.0.0".into(),
                qemu_version: "7.2.0".into(),
            },
            nics: (0..rng.gen_range(2..=4))
                .map(|i| Nic {
                    name: format!("eno{}", i + 1),
                    mac: mac(&mut rng),
                    speed_mbps: [10_000, 25_000][rng.gen_range(0..2)],
                    link_up: true,
                })
                .collect(),
            datastores: vec![
                Datastore {
                    name: format!("local-{hostname}"),
                    url: "file:///var/lib/libvirt/images".into(),
                    kind: "local".into(),
                    capacity_bytes: local_cap,
                    free_bytes: local_cap - rng.gen_range(0..local_cap / 4),
                },
                Datastore {
                    name: "nfs-shared-01".into(),
                    url: "nfs://storage.sim/export/vmstore".into(),
                    kind: "nfs".into(),
                    capacity_bytes: 100 << 40,
                    free_bytes: 60 << 40,
                },
            ],
            networks: vec![
                Network {
                    name: "Management Network".into(),
                    kind: "bridge".into(),
                    vlan: None,
                },
                Network {
                    name: "VM Network".into(),
                    kind: "bridge".into(),
                    vlan: Some(rng.gen_range(100..200)),
                },
            ],
            ipmi_address: Some(format!(
                "ipmi-{}.sim",
                hostname.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
            )),
            // A simulated BMC answers while the host runs.
            ipmi: Ipmi {
                username: Some("ADMIN".into()),
                port: Some(623),
                power_status: Some("POWER_ON".into()),
            },
            os_release: Some("bookworm".into()),
            nqn: Some(format!(
                "nqn.2014-08.org.nvmexpress:uuid:{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                rng.gen::<u32>(),
                rng.gen::<u16>(),
                rng.gen::<u16>() & 0xfff,
                rng.gen::<u16>() & 0xfff,
                rng.gen::<u64>() & 0xffff_ffff_ffff
            )),
            sensors: BTreeMap::new(),
            boot_time: None,
        };
        SimDriver {
            state: Mutex::new(State {
                discovered,
                sensors: Sensor::ALL
                    .iter()
                    .map(|s| (*s, SensorStatus::Normal))
                    .collect(),
                vms: BTreeMap::new(),
            }),
            options,
            transfers: Mutex::default(),
        }
    }

    /// `count` VMs with sizes drawn from `seed`, named after the host.
    pub fn seed_vms(seed: u64, hostname: &str, count: usize) -> Vec<Vm> {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x005e_ed0f_0000);
        // Instance uuids from a stream of their own, so that adding them changed none of the
        // seeded figures drawn from `rng`.
        let mut instances = StdRng::seed_from_u64(seed ^ 0x0015_7a9c_e000);
        (0..count)
            .map(|i| Vm {
                uuid: uuid_from(&mut rng),
                instance_uuid: uuid_from(&mut instances),
                name: format!("{hostname}-vm{i:03}"),
                vcpus: [1, 2, 2, 4][rng.gen_range(0..4)],
                memory_bytes: [1u64, 2, 4, 8][rng.gen_range(0..4)] << 30,
                power_state: VmPowerState::PoweredOn,
                guest_os_id: ["debian12_64Guest", "rhel9_64Guest", "ubuntu64Guest"]
                    [rng.gen_range(0..3)]
                .into(),
                disks: vec![VmDisk {
                    label: "Hard disk 1".into(),
                    capacity_bytes: [20u64, 40, 80][rng.gen_range(0..3)] << 30,
                    datastore: "nfs-shared-01".into(),
                    image: None,
                }],
                nics: vec![VmNic {
                    label: "Network adapter 1".into(),
                    mac: mac(&mut rng),
                    network: "VM Network".into(),
                }],
                migrating_to: None,
            })
            .collect()
    }
}

impl SimDriver {
    // ---- the simulator's own controls (not part of the driver port)

    /// Defines VMs as given, without the agent (seeding a fleet, restoring saved VMs). VMs whose
    /// uuid is already defined are skipped.
    pub fn insert_vms(&self, vms: impl IntoIterator<Item = Vm>) {
        let mut s = self.state.lock();
        for vm in vms {
            s.vms.entry(vm.uuid.clone()).or_insert(vm);
        }
    }

    /// Sets a sensor (the fleet's sensor fault); true when its status changed.
    pub fn set_sensor(&self, sensor: Sensor, status: SensorStatus) -> bool {
        self.state.lock().sensors.insert(sensor, status) != Some(status)
    }

    /// How long moving this VM's memory to another host takes.
    pub fn transfer_time(&self, vm: &Vm) -> Duration {
        let rate = self.options.migration_bytes_per_sec.max(1);
        Duration::from_secs_f64(vm.memory_bytes as f64 / rate as f64)
    }

    /// The simulated host as its driver reports it, read without the agent (tests).
    pub fn discovered(&self) -> Discovered {
        let s = self.state.lock();
        let mut d = s.discovered.clone();
        d.sensors = s.sensors.clone();
        d
    }
}

#[async_trait]
impl Hypervisor for SimDriver {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            migration: true,
            host_power: true,
            persistent_vms: false,
            transfer_switches_over: false,
        }
    }

    fn subscribe(&self) -> Option<UnboundedReceiver<DriverEvent>> {
        None
    }

    async fn discover(&self) -> ApiResult<Discovered> {
        Ok(self.discovered())
    }

    async fn list_vms(&self) -> ApiResult<Vec<Vm>> {
        Ok(self.state.lock().vms.values().cloned().collect())
    }

    async fn get_vm(&self, uuid: &str) -> ApiResult<Option<Vm>> {
        Ok(self.state.lock().vms.get(uuid).cloned())
    }

    async fn define_vm(&self, vm: Vm) -> ApiResult<Vm> {
        let mut s = self.state.lock();
        if s.vms.contains_key(&vm.uuid) {
            return Err(ApiError::invalid_state(format!(
                "a VM with uuid {} is already registered",
                vm.uuid
            )));
        }
        s.vms.insert(vm.uuid.clone(), vm.clone());
        Ok(vm)
    }

    async fn undefine_vm(&self, uuid: &str) -> ApiResult<Vm> {
        self.state
            .lock()
            .vms
            .remove(uuid)
            .ok_or_else(|| ApiError::not_found("VM", uuid))
    }

    async fn power(&self, uuid: &str, action: PowerAction) -> ApiResult<Vm> {
        let mut s = self.state.lock();
        let vm = s
            .vms
            .get_mut(uuid)
            .ok_or_else(|| ApiError::not_found("VM", uuid))?;
        vm.power_state = match action {
            // A simulated guest obeys at once.
            PowerAction::On | PowerAction::Reset => VmPowerState::PoweredOn,
            PowerAction::Off | PowerAction::Shutdown => VmPowerState::PoweredOff,
            PowerAction::Suspend => VmPowerState::Suspended,
        };
        Ok(vm.clone())
    }

    async fn reconfigure(&self, uuid: &str, resize: Resize) -> ApiResult<Vm> {
        let mut s = self.state.lock();
        let vm = s
            .vms
            .get_mut(uuid)
            .ok_or_else(|| ApiError::not_found("VM", uuid))?;
        if let Some(v) = resize.vcpus {
            vm.vcpus = v;
        }
        if let Some(m) = resize.memory_bytes {
            vm.memory_bytes = m;
        }
        Ok(vm.clone())
    }

    /// Sleeps for the copy's time, reporting progress each tenth of it; a cancel ends it.
    async fn transfer(
        &self,
        vm: &Vm,
        _to: &TransferTarget,
        progress: ProgressSink,
    ) -> ApiResult<()> {
        let cancel = std::sync::Arc::new(tokio::sync::Notify::new());
        self.transfers
            .lock()
            .insert(vm.uuid.clone(), cancel.clone());
        let total = vm.memory_bytes;
        let step = self.transfer_time(vm) / 10;
        let copy = async {
            for i in 1..=10u64 {
                tokio::time::sleep(step).await;
                progress(TransferProgress {
                    processed_bytes: total / 10 * i,
                    total_bytes: total,
                });
            }
        };
        let r = tokio::select! {
            _ = copy => Ok(()),
            _ = cancel.notified() => Err(ApiError::new(
                ErrorCode::InvalidState,
                "the migration was cancelled; the VM stays on this host",
            )),
        };
        self.transfers.lock().remove(&vm.uuid);
        r
    }

    async fn cancel_transfer(&self, uuid: &str) -> ApiResult<()> {
        match self.transfers.lock().get(uuid) {
            Some(n) => {
                n.notify_one();
                Ok(())
            }
            None => Err(ApiError::invalid_state(format!(
                "no migration of VM {uuid} is copying"
            ))),
        }
    }

    async fn receive(&self, vm: Vm) -> ApiResult<Vm> {
        self.define_vm(vm).await
    }

    /// Nothing is made before the commit here.
    async fn discard_incoming(&self, _vm: &Vm) -> ApiResult<()> {
        Ok(())
    }

    async fn reboot_host(&self) -> ApiResult<()> {
        tokio::time::sleep(self.options.reboot_time).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hardware_is_a_function_of_the_seed() {
        let a = SimDriver::new(7, "h1", SimOptions::default()).discovered();
        let b = SimDriver::new(7, "h1", SimOptions::default()).discovered();
        let c = SimDriver::new(8, "h1", SimOptions::default()).discovered();
        assert_eq!(a, b);
        assert_ne!(a.hardware.bios_uuid, c.hardware.bios_uuid);
        assert_eq!(
            SimDriver::seed_vms(3, "h", 4),
            SimDriver::seed_vms(3, "h", 4)
        );
    }

    #[test]
    fn migration_time_is_proportional_to_memory() {
        let d = SimDriver::new(
            1,
            "h",
            SimOptions {
                migration_bytes_per_sec: 1 << 30,
                reboot_time: Duration::ZERO,
            },
        );
        let mut vm = SimDriver::seed_vms(1, "h", 1).remove(0);
        vm.memory_bytes = 4 << 30;
        assert_eq!(d.transfer_time(&vm), Duration::from_secs(4));
    }
}
