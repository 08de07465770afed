//! The libvirt driver (`ferrocenter agent --driver libvirt`, cargo feature `libvirt`): the host
//! as libvirt and the OS describe it, VMs as libvirt domains, disks as qcow2 volumes in storage
//! pools, and libvirt's domain lifecycle events as the driver's events.
//!
//! libvirt's API blocks (every call is an RPC to the daemon), so each operation runs on tokio's
//! blocking pool; the connection is opened lazily and opened again when it drops, and while
//! libvirt cannot be reached every operation answers `unavailable` naming the URI and libvirt's
//! reason, with the agent still serving.
mod domain;
mod events;
mod facts;
mod migrate;
pub mod xml;

pub use super::libvirt_settings::{DomainType, MigrationTransport, DEFAULT_MIGRATION_URI};
pub use migrate::destination_uri;

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_agent_client::wire::{ErrorCode, PowerAction, Vm};
use parking_lot::Mutex;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tracing::{info, warn};
use virt::connect::Connect;
use virt::error::ErrorNumber;

use super::{
    Capabilities, Discovered, DriverEvent, Hypervisor, ProgressSink, Resize, TransferTarget,
};
use crate::error::{ApiError, ApiResult};

/// How often the supervisor checks the connection (and polls domains when events are off).
const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// An open connection, closed when the last user lets go of it.
pub(crate) struct Conn(pub(crate) Connect);

impl Drop for Conn {
    fn drop(&mut self) {
        let _ = self.0.close();
    }
}

pub(crate) struct Shared {
    uri: String,
    conn: Mutex<Option<Arc<Conn>>>,
    /// Serialises opening, so concurrent callers open one connection.
    opening: Mutex<()>,
    tx: UnboundedSender<DriverEvent>,
    /// Domain events could not be registered on the current connection: poll instead.
    polling: std::sync::atomic::AtomicBool,
    /// Subscribe to libvirt's domain events (else always poll).
    use_events: bool,
}

/// libvirt's answer as an agent fault.
pub(crate) fn fault(what: &str, e: virt::error::Error) -> ApiError {
    let code = match e.code() {
        ErrorNumber::NoDomain
        | ErrorNumber::NoStoragePool
        | ErrorNumber::NoStorageVolume
        | ErrorNumber::NoNetwork => ErrorCode::NotFound,
        ErrorNumber::DomExist | ErrorNumber::OperationInvalid | ErrorNumber::StorageVolExist => {
            ErrorCode::InvalidState
        }
        ErrorNumber::NoSupport | ErrorNumber::ArgumentUnsupported => ErrorCode::NotSupported,
        ErrorNumber::NoConnect
        | ErrorNumber::InvalidConn
        | ErrorNumber::SystemError
        | ErrorNumber::Rpc
        | ErrorNumber::AuthFailed
        | ErrorNumber::OperationTimeout
        | ErrorNumber::AgentUnresponsive => ErrorCode::Unavailable,
        _ => ErrorCode::Internal,
    };
    ApiError::new(code, format!("{what}: libvirt: {}", e.message()))
}

impl Shared {
    /// The open connection, opening it if needed (on a blocking thread).
    pub(crate) fn conn(&self) -> ApiResult<Arc<Conn>> {
        if let Some(c) = self.conn.lock().clone() {
            return Ok(c);
        }
        let _opening = self.opening.lock();
        if let Some(c) = self.conn.lock().clone() {
            return Ok(c);
        }
        events::start_event_loop();
        let c = Connect::open(Some(&self.uri)).map_err(|e| {
            ApiError::new(
                ErrorCode::Unavailable,
                format!("libvirt at {} is not reachable: {}", self.uri, e.message()),
            )
        })?;
        let c = Arc::new(Conn(c));
        let polling = !self.use_events || !events::watch(&c, self.tx.clone());
        if polling {
            warn!(uri = %self.uri, "libvirt domain events unavailable; polling domain states");
        }
        self.polling
            .store(polling, std::sync::atomic::Ordering::SeqCst);
        *self.conn.lock() = Some(c.clone());
        info!(uri = %self.uri, "connected to libvirt");
        let _ = self.tx.send(DriverEvent::Resync);
        Ok(c)
    }

    /// Forgets a connection that libvirt dropped, so that the next call opens a new one.
    fn check_alive(&self) {
        let c = self.conn.lock().clone();
        if let Some(c) = c {
            if !c.0.is_alive().unwrap_or(false) {
                warn!(uri = %self.uri, "the connection to libvirt was lost");
                *self.conn.lock() = None;
            }
        }
    }
}

/// How the driver connects, defines VMs and migrates them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibvirtOptions {
    /// This host's libvirt (`qemu:///system`).
    pub uri: String,
    /// `None`: `kvm` where the host has hardware-assisted KVM, else `qemu` (see
    /// [`LibvirtOptions::domain_type`]).
    pub domain_type: Option<DomainType>,
    pub migration: MigrationTransport,
    /// A destination's libvirtd, `{address}` standing for its management address.
    pub migration_uri: String,
}

impl LibvirtOptions {
    pub fn new(uri: &str) -> LibvirtOptions {
        LibvirtOptions {
            uri: uri.to_string(),
            domain_type: None,
            migration: MigrationTransport::Tls,
            migration_uri: DEFAULT_MIGRATION_URI.into(),
        }
    }

    /// The domain type VMs get: as configured, else `kvm` when the CPU's KVM module
    /// (`kvm_intel`, `kvm_amd`) is loaded and `qemu` otherwise — a `/dev/kvm` without them
    /// (PVM's software nested virtualization, for one) runs only guests built for it.
    pub fn domain_type(&self) -> DomainType {
        self.domain_type.unwrap_or_else(|| {
            let module = |m: &str| std::path::Path::new("/sys/module").join(m).exists();
            if module("kvm_intel") || module("kvm_amd") {
                DomainType::Kvm
            } else {
                DomainType::Qemu
            }
        })
    }
}

pub struct LibvirtDriver {
    shared: Arc<Shared>,
    events: Mutex<Option<UnboundedReceiver<DriverEvent>>>,
    domain_type: DomainType,
    migration: MigrationTransport,
    migration_uri: String,
}

impl LibvirtDriver {
    /// A driver for the libvirt at `uri`. It connects on first use and from a supervising
    /// thread, so an agent starts (and reports the fault) while libvirt is down.
    pub fn new(uri: &str) -> LibvirtDriver {
        Self::with_options(LibvirtOptions::new(uri), true)
    }

    /// A driver that polls domain states rather than subscribing to libvirt's events: what
    /// `new` falls back to when libvirt cannot deliver events.
    pub fn polling(uri: &str) -> LibvirtDriver {
        Self::with_options(LibvirtOptions::new(uri), false)
    }

    /// A driver as configured.
    pub fn configured(options: LibvirtOptions) -> LibvirtDriver {
        Self::with_options(options, true)
    }

    fn with_options(options: LibvirtOptions, use_events: bool) -> LibvirtDriver {
        let domain_type = options.domain_type();
        if domain_type == DomainType::Qemu && options.domain_type.is_none() {
            warn!("no hardware-assisted KVM (kvm_intel or kvm_amd) on this host: VMs run under QEMU's emulator");
        }
        let uri = options.uri.as_str();
        let (tx, rx) = unbounded_channel();
        let shared = Arc::new(Shared {
            uri: uri.to_string(),
            conn: Mutex::new(None),
            opening: Mutex::new(()),
            tx,
            polling: std::sync::atomic::AtomicBool::new(false),
            use_events,
        });
        let weak = Arc::downgrade(&shared);
        let _ = std::thread::Builder::new()
            .name("libvirt-watch".into())
            .spawn(move || supervise(weak));
        LibvirtDriver {
            shared,
            events: Mutex::new(Some(rx)),
            domain_type,
            migration: options.migration,
            migration_uri: options.migration_uri,
        }
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn blocking<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Shared, &Connect) -> ApiResult<T> + Send + 'static,
    {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let c = shared.conn()?;
            let r = f(&shared, &c.0);
            // A connection libvirtd closed fails calls with an internal error ("client socket
            // is closed") rather than a connection error, so any failure checks it.
            if r.is_err() {
                shared.check_alive();
            }
            r
        })
        .await
        .unwrap_or_else(|e| {
            Err(ApiError::new(
                ErrorCode::Internal,
                format!("a libvirt call stopped: {e}"),
            ))
        })
    }
}

/// Keeps the connection open and, when domain events are unavailable, polls domain states.
fn supervise(shared: Weak<Shared>) {
    let mut last = std::collections::HashMap::new();
    loop {
        {
            let Some(s) = shared.upgrade() else { return };
            s.check_alive();
            match s.conn() {
                Ok(c) if s.polling.load(std::sync::atomic::Ordering::SeqCst) => {
                    events::poll(&c.0, &mut last, &s.tx);
                }
                Ok(_) => {}
                Err(_) => last.clear(),
            }
        }
        std::thread::sleep(WATCH_INTERVAL);
    }
}

fn not_supported(what: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotSupported,
        format!("{what} is not supported by the libvirt driver yet"),
    )
}

#[async_trait]
impl Hypervisor for LibvirtDriver {
    fn name(&self) -> &'static str {
        "libvirt"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            migration: true,
            host_power: false,
            persistent_vms: true,
            transfer_switches_over: true,
        }
    }

    fn subscribe(&self) -> Option<UnboundedReceiver<DriverEvent>> {
        self.events.lock().take()
    }

    async fn discover(&self) -> ApiResult<Discovered> {
        self.blocking(|_, c| facts::discover(c)).await
    }

    async fn list_vms(&self) -> ApiResult<Vec<Vm>> {
        self.blocking(|_, c| domain::list(c)).await
    }

    async fn get_vm(&self, uuid: &str) -> ApiResult<Option<Vm>> {
        let uuid = uuid.to_string();
        self.blocking(move |_, c| domain::get(c, &uuid)).await
    }

    async fn define_vm(&self, vm: Vm) -> ApiResult<Vm> {
        let kind = self.domain_type;
        self.blocking(move |_, c| domain::define(c, &vm, kind))
            .await
    }

    async fn undefine_vm(&self, uuid: &str) -> ApiResult<Vm> {
        let uuid = uuid.to_string();
        self.blocking(move |_, c| domain::undefine(c, &uuid)).await
    }

    async fn power(&self, uuid: &str, action: PowerAction) -> ApiResult<Vm> {
        let uuid = uuid.to_string();
        self.blocking(move |_, c| domain::power(c, &uuid, action))
            .await
    }

    async fn reconfigure(&self, uuid: &str, resize: Resize) -> ApiResult<Vm> {
        let uuid = uuid.to_string();
        self.blocking(move |_, c| domain::reconfigure(c, &uuid, resize))
            .await
    }

    async fn transfer(
        &self,
        vm: &Vm,
        to: &TransferTarget,
        progress: ProgressSink,
    ) -> ApiResult<()> {
        let (vm, to) = (vm.clone(), to.clone());
        let dest_uri = destination_uri(&self.migration_uri, &to.address);
        let transport = self.migration;
        self.blocking(move |_, c| migrate::transfer(c, &vm, &to, &dest_uri, transport, progress))
            .await
    }

    async fn cancel_transfer(&self, uuid: &str) -> ApiResult<()> {
        let uuid = uuid.to_string();
        self.blocking(move |_, c| migrate::cancel(c, &uuid)).await
    }

    async fn discard_incoming(&self, vm: &Vm) -> ApiResult<()> {
        let vm = vm.clone();
        self.blocking(move |_, c| domain::discard_volumes(c, &vm))
            .await
    }

    async fn receive(&self, vm: Vm) -> ApiResult<Vm> {
        let uuid = vm.uuid.clone();
        self.blocking(move |_, c| domain::get(c, &uuid))
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidState,
                    format!("VM {} has not arrived on this host", vm.uuid),
                )
            })
    }

    async fn reboot_host(&self) -> ApiResult<()> {
        Err(not_supported("rebooting the host"))
    }
}
