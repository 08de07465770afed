//! Serving one agent on a socket, and the standalone `ferrocenter agent` process.
use crate::driver::libvirt_settings::{DomainType, MigrationTransport};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;

use axum::extract::ConnectInfo;
use axum::{Extension, Router};
use axum_server::accept::Accept;
use axum_server::Handle;
use ferrocenter_agent_client::{AgentConnector, ConnectOptions};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tracing::info;

use crate::accounts::{hash_root_password, AccountsState};
use crate::agent::{Agent, Persisted};
use crate::driver::sim::{SimDriver, SimOptions};
use crate::driver::Hypervisor;
use crate::faults::{self, FaultyStream};
use crate::{api, tls};

/// One host behind a listener: its agent, its TLS identity and its router.
#[derive(Clone)]
pub struct Host {
    pub agent: Arc<Agent>,
    pub tls: Arc<rustls::ServerConfig>,
    pub router: Router,
}

impl Host {
    pub fn new(agent: Arc<Agent>, tls: Arc<rustls::ServerConfig>) -> Host {
        Host {
            router: api::router(agent.clone()),
            agent,
            tls,
        }
    }
}

/// Picks the host by the address the client connected to, so one listener can serve a whole
/// fleet (each host on its own loopback address) with one socket instead of one per host.
#[derive(Clone)]
pub struct HostAcceptor {
    hosts: Arc<HashMap<IpAddr, Host>>,
    /// Serves any local address (a standalone agent).
    single: Option<Host>,
}

impl HostAcceptor {
    pub fn single(host: Host) -> Self {
        HostAcceptor {
            hosts: Arc::new(HashMap::new()),
            single: Some(host),
        }
    }

    pub fn fleet(hosts: HashMap<IpAddr, Host>) -> Self {
        HostAcceptor {
            hosts: Arc::new(hosts),
            single: None,
        }
    }
}

impl<S: Send + 'static> Accept<TcpStream, S> for HostAcceptor {
    type Stream = TlsStream<FaultyStream>;
    type Service = Router;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Router)>> + Send>>;

    fn accept(&self, stream: TcpStream, _service: S) -> Self::Future {
        let host = match &self.single {
            Some(h) => Some(h.clone()),
            None => stream
                .local_addr()
                .ok()
                .and_then(|a| self.hosts.get(&a.ip()).cloned()),
        };
        let peer = stream.peer_addr();
        Box::pin(async move {
            let host = host.ok_or_else(|| {
                io::Error::new(io::ErrorKind::ConnectionRefused, "no host at this address")
            })?;
            // The caller's address, for the login budget (`ferrocenter_http::peer`).
            let router = match peer {
                Ok(p) => host.router.layer(Extension(ConnectInfo(p))),
                Err(_) => host.router,
            };
            let stream = faults::gate(&host.agent.faults, stream)?;
            let tls = tokio::time::timeout(
                Duration::from_secs(10),
                TlsAcceptor::from(host.tls.clone()).accept(stream),
            )
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
            Ok((tls, router))
        })
    }
}

/// Serves on an already bound listener.
pub fn serve(
    listener: std::net::TcpListener,
    acceptor: HostAcceptor,
) -> (Handle, JoinHandle<io::Result<()>>) {
    let handle = Handle::new();
    // The acceptor hands each connection its host's router; this one only satisfies the type.
    let placeholder = Router::new();
    let server = axum_server::from_tcp(listener)
        .acceptor(acceptor)
        .handle(handle.clone())
        .serve(placeholder.into_make_service());
    (handle, tokio::spawn(server))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverKind {
    Sim,
    /// libvirt at this URI (`qemu:///system` on a host).
    Libvirt {
        uri: String,
        /// `None` chooses by the host's KVM modules.
        domain_type: Option<DomainType>,
        migration: MigrationTransport,
        /// A destination's libvirtd, `{address}` standing for its address.
        migration_uri: Option<String>,
    },
}

/// The URI `--driver libvirt` connects to unless told otherwise.
pub const DEFAULT_LIBVIRT_URI: &str = "qemu:///system";

#[derive(Debug, thiserror::Error)]
pub enum AgentStartError {
    #[error(
        "driver: this ferrocenter was built without the libvirt driver; build it with the cargo \
         feature `libvirt` (`cargo install --locked --path crates/ferrocenter --features libvirt`, \
         which needs libvirt-dev and pkg-config), or use --driver sim"
    )]
    LibvirtNotBuilt,
    #[error("root_password: required on the first start (no state in {0})")]
    RootPasswordRequired(PathBuf),
    #[error("root_password: must be 8 to 256 bytes long")]
    RootPasswordInvalid,
    #[error("data_dir: {0}")]
    DataDir(String),
    #[error("listen: cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
    #[error("tls: {0}")]
    Tls(String),
}

pub struct AgentOptions {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// The administrator account's name on the first start [default: root].
    pub root_user: Option<String>,
    pub root_password: Option<String>,
    pub driver: DriverKind,
    pub seed: Option<u64>,
    pub sim: SimOptions,
}

pub struct RunningAgent {
    pub agent: Arc<Agent>,
    pub addr: SocketAddr,
    pub thumbprint: String,
    handle: Handle,
    join: JoinHandle<io::Result<()>>,
}

impl RunningAgent {
    pub async fn stop(self, grace: Duration) {
        self.handle.graceful_shutdown(Some(grace));
        let _ = tokio::time::timeout(grace + Duration::from_secs(1), self.join).await;
    }
}

/// The kernel's host name (the UTS namespace's, which is what a host in a container or a
/// test namespace is called), else /etc/hostname.
pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is writable for its whole length, which is passed.
    let uts = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let from_kernel = uts
        .then(|| {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            String::from_utf8_lossy(&buf[..end]).trim().to_string()
        })
        .filter(|s| !s.is_empty() && s != "(none)");
    from_kernel
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "localhost".into())
}

/// Starts a standalone agent: state and certificate in the data dir, restored on restart.
pub async fn start_agent(opts: AgentOptions) -> Result<RunningAgent, AgentStartError> {
    #[cfg(not(feature = "libvirt"))]
    if let DriverKind::Libvirt { .. } = opts.driver {
        return Err(AgentStartError::LibvirtNotBuilt);
    }
    std::fs::create_dir_all(&opts.data_dir)
        .map_err(|e| AgentStartError::DataDir(format!("{}: {e}", opts.data_dir.display())))?;
    let state_file = opts.data_dir.join("state.json");
    let mut persisted: Option<Persisted> = std::fs::read(&state_file)
        .ok()
        .map(|b| serde_json::from_slice(&b))
        .transpose()
        .map_err(|e| AgentStartError::DataDir(format!("{}: {e}", state_file.display())))?;
    let host = hostname();
    let seed = opts.seed.unwrap_or_else(|| {
        host.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        })
    });
    let driver: Arc<dyn Hypervisor> = match &opts.driver {
        DriverKind::Sim => {
            let sim = SimDriver::new(seed, &host, opts.sim.clone());
            if let Some(p) = persisted.as_mut() {
                sim.insert_vms(p.take_vms());
            }
            Arc::new(sim)
        }
        #[cfg(feature = "libvirt")]
        DriverKind::Libvirt {
            uri,
            domain_type,
            migration,
            migration_uri,
        } => {
            let mut o = crate::driver::libvirt::LibvirtOptions::new(uri);
            o.domain_type = *domain_type;
            o.migration = *migration;
            if let Some(u) = migration_uri {
                o.migration_uri = u.clone();
            }
            Arc::new(crate::driver::libvirt::LibvirtDriver::configured(o))
        }
        #[cfg(not(feature = "libvirt"))]
        DriverKind::Libvirt { .. } => return Err(AgentStartError::LibvirtNotBuilt),
    };
    let accounts = match (&persisted, &opts.root_password) {
        (Some(p), _) => p.accounts.clone(),
        (None, Some(pw)) => {
            let hash = hash_root_password(pw).map_err(|_| AgentStartError::RootPasswordInvalid)?;
            AccountsState::new(
                opts.root_user.as_deref().unwrap_or(crate::accounts::ROOT),
                hash.into(),
            )
        }
        (None, None) => return Err(AgentStartError::RootPasswordRequired(opts.data_dir.clone())),
    };
    let agent = Agent::start(
        driver,
        &host,
        accounts,
        AgentConnector::new(ConnectOptions::default()),
        Some(state_file),
        Duration::from_secs(0),
    )
    .await;
    if let Some(p) = persisted {
        agent.restore(p);
    }
    let id = tls::load_or_create(&opts.data_dir, vec![host.clone(), "localhost".into()])
        .map_err(AgentStartError::Tls)?;
    let config = tls::server_config(&id).map_err(AgentStartError::Tls)?;
    let listener = std::net::TcpListener::bind(opts.listen)
        .and_then(|l| l.set_nonblocking(true).map(|_| l))
        .map_err(|e| AgentStartError::Bind {
            addr: opts.listen,
            reason: e.to_string(),
        })?;
    let addr = listener.local_addr().unwrap_or(opts.listen);
    let (handle, join) = serve(
        listener,
        HostAcceptor::single(Host::new(agent.clone(), config)),
    );
    info!(%addr, "agent serving");
    Ok(RunningAgent {
        agent,
        addr,
        thumbprint: id.thumbprint,
        handle,
        join,
    })
}
