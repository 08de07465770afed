//! The machine ferrocenter runs on, as the appliance services see it: what it reads (a system
//! probe: CPU, memory, swap, filesystems, network, load, uptime) and what it may do to itself
//! (restart or stop the server process; reboot or power off the machine only when configured).
//! The real adapters live in `ferrocenter-system`; a core built without them ([`NoMachine`])
//! answers that no data is available, which the health rules report as gray.
use async_trait::async_trait;
use time::OffsetDateTime;

/// Why the machine could not be read or acted on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MachineError {
    /// Nothing to read from, or the action is not allowed here; the text says which.
    #[error("{0}")]
    Unavailable(String),
    /// Reading or acting failed.
    #[error("{0}")]
    Failed(String),
}

/// Cumulative CPU time since boot, in clock ticks, over all CPUs: rates are computed by the
/// core between two readings, so the probe only reads.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    pub busy: u64,
    pub total: u64,
}

/// One mounted filesystem.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilesystemReading {
    /// Where it is mounted.
    pub mount: String,
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
}

/// One network interface's cumulative counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InterfaceReading {
    pub name: String,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
}

/// Everything the probe reads at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemReadings {
    pub taken_at: OffsetDateTime,
    pub cpu_count: u32,
    pub cpu: CpuTimes,
    /// 1, 5 and 15 minute load averages.
    pub load: [f64; 3],
    pub mem_total_bytes: u64,
    pub mem_available_bytes: u64,
    pub swap_total_bytes: u64,
    pub swap_free_bytes: u64,
    pub filesystems: Vec<FilesystemReading>,
    pub interfaces: Vec<InterfaceReading>,
    pub uptime_seconds: u64,
    /// The server process's resident memory.
    pub process_rss_bytes: u64,
}

/// Reads the machine.
#[async_trait]
pub trait SystemProbe: Send + Sync + 'static {
    async fn read(&self) -> Result<SystemReadings, MachineError>;
    /// Free and total bytes of the filesystem holding `path` (the store's file, the data dir).
    async fn space_at(&self, path: &std::path::Path) -> Result<FilesystemReading, MachineError>;
    /// The name of the network interface that holds the local address `ip` (the inbound
    /// firewall's `interface_name`), `None` when no interface does or it cannot be read. Called
    /// on the accept path, so it must be quick and must not block for long.
    fn interface_of(&self, ip: std::net::IpAddr) -> Option<String> {
        let _ = ip;
        None
    }
}

/// What may be done to the server process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessAction {
    Restart,
    Stop,
    /// Stop, put the staged update the install plan names in place and run it
    /// (`appliance.update.pending.install`).
    Install,
}

/// What may be done to the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineAction {
    Reboot,
    PowerOff,
}

/// Acts on the server process and, where configured, the machine.
#[async_trait]
pub trait Lifecycle: Send + Sync + 'static {
    /// Whether a reboot or power-off acts on the machine (configured so) rather than on the
    /// server process.
    fn acts_on_machine(&self) -> bool {
        false
    }
    async fn process(&self, action: ProcessAction) -> Result<(), MachineError>;
    async fn machine(&self, action: MachineAction) -> Result<(), MachineError>;
}

/// No machine: reads answer that no data is available, actions are refused. What a core built
/// for tests of other capabilities gets.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoMachine;

#[async_trait]
impl SystemProbe for NoMachine {
    async fn read(&self) -> Result<SystemReadings, MachineError> {
        Err(MachineError::Unavailable(
            "no system probe is configured".into(),
        ))
    }
    async fn space_at(&self, _: &std::path::Path) -> Result<FilesystemReading, MachineError> {
        Err(MachineError::Unavailable(
            "no system probe is configured".into(),
        ))
    }
}

#[async_trait]
impl Lifecycle for NoMachine {
    async fn process(&self, _: ProcessAction) -> Result<(), MachineError> {
        Err(MachineError::Unavailable(
            "no lifecycle control is configured".into(),
        ))
    }
    async fn machine(&self, _: MachineAction) -> Result<(), MachineError> {
        Err(MachineError::Unavailable(
            "no lifecycle control is configured".into(),
        ))
    }
}
