//! `ferrocenter simulate`: many sim agents in one process, each on its own loopback address and
//! certificate, plus a control endpoint that injects faults per agent.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_server::Handle;
use ferrocenter_agent_client::wire::{Sensor, SensorStatus};
use ferrocenter_agent_client::{AgentConnector, ConnectOptions};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::accounts::{hash_root_password, AccountsState};
use crate::agent::Agent;
use crate::driver::sim::{SimDriver, SimOptions};
use crate::error::ApiError;
use crate::{serve, tls};

#[derive(Debug, Clone)]
pub struct SimulateOptions {
    pub hosts: usize,
    pub vms_per_host: usize,
    pub address_base: Ipv4Addr,
    pub port: u16,
    /// The administrator account's name on every host (usually root).
    pub root_user: String,
    pub root_password: String,
    pub seed: u64,
    /// Plain HTTP on loopback for fault injection.
    pub control: SocketAddr,
    pub sim: SimOptions,
    /// Timeout of agent-to-agent calls (migrations).
    pub peer_timeout: Duration,
}

/// One line of the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestHost {
    pub index: usize,
    pub address: String,
    pub port: u16,
    pub thumbprint: String,
    pub root_user: String,
    pub hostname: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub control: String,
    pub hosts: Vec<ManifestHost>,
}

pub struct Fleet {
    pub manifest: Manifest,
    agents: Vec<Arc<Agent>>,
    /// Each host's simulated hypervisor, for the faults only a simulator has.
    sims: Vec<Arc<SimDriver>>,
    server: (Handle, JoinHandle<std::io::Result<()>>),
    control: (Handle, JoinHandle<std::io::Result<()>>),
    pub startup: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("hosts: must be between 1 and 65000")]
    Hosts,
    #[error("vms_per_host: must be at most 1000")]
    Vms,
    #[error("address_base: {0}")]
    Address(String),
    #[error("root_password: must be 8 to 256 bytes long")]
    RootPassword,
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
    #[error("tls: {0}")]
    Tls(String),
}

/// Lets one process hold tens of thousands of sockets: each simulated host needs a listener
/// and a connection. As root the hard limit is raised too, up to the kernel's `nr_open`.
pub fn raise_fd_limit() {
    let nr_open: u64 = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1 << 20);
    let want = nr_open.min(1 << 20);
    // SAFETY: getrlimit/setrlimit on this process with a valid struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return;
        }
        let raised = libc::rlimit {
            rlim_cur: want.max(lim.rlim_cur),
            rlim_max: want.max(lim.rlim_max),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Binds with a deep accept queue: a whole fleet's reconnect storm arrives at one socket.
fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, SimulateError> {
    let err = |e: std::io::Error| SimulateError::Bind {
        addr,
        reason: e.to_string(),
    };
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .map_err(err)?;
    socket.set_reuseaddr(true).map_err(err)?;
    socket.bind(addr).map_err(err)?;
    let listener = socket.listen(4096).map_err(err)?.into_std().map_err(err)?;
    listener.set_nonblocking(true).map_err(err)?;
    Ok(listener)
}

pub async fn start_fleet(opts: SimulateOptions) -> Result<Fleet, SimulateError> {
    if opts.hosts == 0 || opts.hosts > 65_000 {
        return Err(SimulateError::Hosts);
    }
    if opts.vms_per_host > 1000 {
        return Err(SimulateError::Vms);
    }
    if !opts.address_base.is_loopback() {
        return Err(SimulateError::Address(
            "must be a loopback address (127.x.y.z)".into(),
        ));
    }
    let base = u32::from(opts.address_base);
    if (base as u64 + opts.hosts as u64) > u32::from(Ipv4Addr::new(127, 255, 255, 254)) as u64 {
        return Err(SimulateError::Address(
            "the fleet would run past 127.255.255.254".into(),
        ));
    }
    // One argon2 hash for the whole fleet: every agent starts with the same root password.
    let root_hash: Arc<str> = hash_root_password(&opts.root_password)
        .map_err(|_| SimulateError::RootPassword)?
        .into();
    raise_fd_limit();
    let started = Instant::now();
    let connector = AgentConnector::new(ConnectOptions {
        request_timeout: opts.peer_timeout,
        ..ConnectOptions::default()
    });
    // One listening socket serves the whole fleet: the acceptor picks the host by the loopback
    // address the client connected to, so a fleet needs one descriptor per connection, not two.
    let listener = bind(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        opts.port,
    ))?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(opts.port);
    let mut members = Vec::with_capacity(opts.hosts);
    let mut sims = Vec::with_capacity(opts.hosts);
    let mut by_ip = std::collections::HashMap::with_capacity(opts.hosts);
    let mut hosts = Vec::with_capacity(opts.hosts);
    for index in 0..opts.hosts {
        let ip = Ipv4Addr::from(base + index as u32);
        let hostname = format!("esx-{:05}.sim", index + 1);
        let seed = opts.seed.wrapping_mul(1_000_003).wrapping_add(index as u64);
        let driver = Arc::new(SimDriver::new(seed, &hostname, opts.sim.clone()));
        driver.insert_vms(SimDriver::seed_vms(seed, &hostname, opts.vms_per_host));
        let agent = Agent::start(
            driver.clone(),
            &hostname,
            AccountsState::new(&opts.root_user, root_hash.clone()),
            connector.clone(),
            None,
            Duration::from_secs(3600 + seed % 86_400),
        )
        .await;
        sims.push(driver);
        let id =
            tls::generate(vec![hostname.clone(), ip.to_string()]).map_err(SimulateError::Tls)?;
        let config = tls::server_config(&id).map_err(SimulateError::Tls)?;
        by_ip.insert(IpAddr::V4(ip), serve::Host::new(agent.clone(), config));
        hosts.push(ManifestHost {
            index,
            address: ip.to_string(),
            port,
            thumbprint: id.thumbprint,
            root_user: opts.root_user.clone(),
            hostname,
        });
        members.push(agent);
    }
    let server = serve::serve(listener, serve::HostAcceptor::fleet(by_ip));
    let agents: Arc<Vec<Member>> = Arc::new(
        members
            .iter()
            .cloned()
            .zip(sims.iter().cloned())
            .map(|(agent, sim)| Member { agent, sim })
            .collect(),
    );
    let control_listener = bind(opts.control)?;
    let control_addr = control_listener.local_addr().unwrap_or(opts.control);
    let handle = Handle::new();
    let app = Router::new()
        .route("/agents", get(list))
        .route("/agents/{index}/faults", post(inject))
        .with_state(agents);
    let join = tokio::spawn(
        axum_server::from_tcp(control_listener)
            .handle(handle.clone())
            .serve(app.into_make_service()),
    );
    Ok(Fleet {
        manifest: Manifest {
            control: control_addr.to_string(),
            hosts,
        },
        agents: members,
        sims,
        server,
        control: (handle, join),
        startup: started.elapsed(),
    })
}

impl Fleet {
    pub fn agent(&self, index: usize) -> &Arc<Agent> {
        &self.agents[index]
    }

    /// The simulated hypervisor of one host.
    pub fn sim(&self, index: usize) -> &Arc<SimDriver> {
        &self.sims[index]
    }

    pub fn write_manifest(&self, path: &PathBuf) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&self.manifest)?)?;
        std::fs::rename(tmp, path)
    }

    pub async fn stop(self) {
        self.control.0.shutdown();
        self.server.0.shutdown();
        let _ = self.server.1.await;
        let _ = self.control.1.await;
    }
}

/// `POST /agents/{index}/faults`: one fault per call.
#[derive(Debug, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    StopAnswering {
        enabled: bool,
    },
    Slow {
        ms: u64,
    },
    RefuseTls {
        enabled: bool,
    },
    RootPassword {
        password: String,
    },
    Reboot,
    PowerOn,
    Sensor {
        sensor: Sensor,
        status: SensorStatus,
    },
    ExhaustCapacity {
        enabled: bool,
    },
    /// Report this API version, as an older agent would.
    ApiVersion {
        api_version: u32,
    },
    Clear,
}

/// One host of the fleet as the control endpoint sees it.
struct Member {
    agent: Arc<Agent>,
    sim: Arc<SimDriver>,
}

async fn list(State(agents): State<Arc<Vec<Member>>>) -> Response {
    let v: Vec<_> = agents
        .iter()
        .enumerate()
        .map(|(i, m)| serde_json::json!({"index": i, "hostname": m.agent.hostname(), "runtime": m.agent.runtime()}))
        .collect();
    Json(v).into_response()
}

async fn inject(
    State(agents): State<Arc<Vec<Member>>>,
    Path(index): Path<String>,
    body: Bytes,
) -> Response {
    let r: Result<(), ApiError> = (|| {
        let i: usize = index
            .parse()
            .map_err(|_| ApiError::invalid("index", "must be a host index from the manifest"))?;
        let Member { agent, sim } = agents
            .get(i)
            .ok_or_else(|| ApiError::not_found("host index", &index))?;
        let fault: Fault =
            serde_json::from_slice(&body).map_err(|e| ApiError::invalid("fault", e.to_string()))?;
        let f = &agent.faults;
        match fault {
            Fault::StopAnswering { enabled } => f.stop_answering.store(enabled, Ordering::SeqCst),
            Fault::Slow { ms } => {
                if ms > 600_000 {
                    return Err(ApiError::invalid("ms", "must be at most 600000"));
                }
                f.slow_ms.store(ms, Ordering::SeqCst);
            }
            Fault::RefuseTls { enabled } => f.refuse_tls.store(enabled, Ordering::SeqCst),
            Fault::RootPassword { password } => agent.force_root_password(&password)?,
            Fault::Reboot => agent.reboot(true)?,
            Fault::PowerOn => agent.power_on_host(),
            Fault::Sensor { sensor, status } => {
                if sim.set_sensor(sensor, status) {
                    agent.note_sensor(sensor, status);
                }
            }
            Fault::ExhaustCapacity { enabled } => agent.exhaust_capacity(enabled),
            Fault::ApiVersion { api_version } => f
                .api_version
                .store(api_version.saturating_add(1), Ordering::SeqCst),
            Fault::Clear => {
                f.clear();
                agent.exhaust_capacity(false);
            }
        }
        Ok(())
    })();
    match r {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
