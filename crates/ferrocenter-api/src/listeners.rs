//! The HTTPS (and optional plain HTTP) listeners, and their graceful shutdown.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use ferrocenter_core::auth::Listener;
use ferrocenter_core::ports::Component;
use ferrocenter_core::Core;
use ferrocenter_http::login_limit::{LoginLimiter, LoginRate};

use crate::accept_hook::FirewallAcceptor;
use crate::bind::{bind, ServeError};
use crate::listener_service::{ListenerService, ListenerUnit};
use crate::login_budget::LoginBudget;

use crate::routes::{api_router, appliance_router, ListenerState};

#[derive(Debug, Clone)]
pub struct ListenerOptions {
    pub listen: SocketAddr,
    pub appliance_listen: SocketAddr,
    pub http_listen: Option<SocketAddr>,
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
    pub max_body_bytes: usize,
    pub diagnostics: bool,
    /// ZStack's `identity.session.timeout`.
    pub zstack_session_lifetime: Duration,
    /// Whether ZStack's AddKVMHost pins the agent's certificate on first contact.
    pub zstack_trust_agent_on_first_use: bool,
    /// Login attempts per source address, shared by every listener and surface.
    pub login_rate: LoginRate,
    /// Where ZStack's `X-Web-Hook` may send results (none by default).
    pub zstack_web_hooks: ferrocenter_zstack::HookDestinations,
    /// Serve Prometheus metrics at `/metrics` (`enable_metrics`).
    pub metrics: bool,
}

/// The addresses actually bound (port 0 picks a free port).
#[derive(Debug, Clone, Copy)]
pub struct BoundAddrs {
    pub api: SocketAddr,
    pub appliance: SocketAddr,
    pub http: Option<SocketAddr>,
}

pub struct Listeners {
    pub addrs: BoundAddrs,
    /// ZStack's jobs that ended without a task, shared by every listener.
    pub zstack_jobs: Arc<ferrocenter_zstack::JobStore>,
    units: Vec<Arc<ListenerUnit>>,
}

/// Binds every listener and starts serving. Fails, naming the configuration key, if one cannot
/// bind; the ones already started are stopped again.
pub async fn start(core: Arc<Core>, opts: &ListenerOptions) -> Result<Listeners, ServeError> {
    // Only one crypto provider is compiled in; installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls = RustlsConfig::from_pem_file(&opts.cert_pem, &opts.key_pem)
        .await
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    core.auth
        .set_login_throttle(Arc::new(LoginBudget(LoginLimiter::new(opts.login_rate))));
    let vim = Arc::new(ferrocenter_vim::CollectorState::default());
    let jobs = Arc::new(ferrocenter_zstack::JobStore::new(
        opts.zstack_web_hooks.clone(),
    ));
    let metrics = opts
        .metrics
        .then(|| Arc::new(crate::metrics::Metrics::default()));
    let state = |listener, tls| ListenerState {
        vapi: ferrocenter_vapi::VapiState {
            core: core.clone(),
            listener,
            max_body_bytes: opts.max_body_bytes,
        },
        vim: ferrocenter_vim::VimState {
            core: core.clone(),
            listener,
            max_body_bytes: opts.max_body_bytes,
            vim: vim.clone(),
        },
        zstack: ferrocenter_zstack::ZstackState {
            core: core.clone(),
            listener,
            jobs: jobs.clone(),
            session_lifetime: opts.zstack_session_lifetime,
            trust_agent_on_first_use: opts.zstack_trust_agent_on_first_use,
            tls,
        },
        max_body_bytes: opts.max_body_bytes,
        diagnostics: opts.diagnostics,
        metrics: metrics.clone(),
    };
    let mut listeners = Listeners {
        addrs: BoundAddrs {
            api: opts.listen,
            appliance: opts.appliance_listen,
            http: None,
        },
        zstack_jobs: jobs.clone(),
        units: vec![],
    };

    let mut specs = vec![
        (
            "listen",
            opts.listen,
            Listener::Api,
            Some(tls.clone()),
            api_router(state(Listener::Api, true)),
        ),
        (
            "appliance_listen",
            opts.appliance_listen,
            Listener::Appliance,
            Some(tls.clone()),
            appliance_router(state(Listener::Appliance, true)),
        ),
    ];
    if let Some(addr) = opts.http_listen {
        specs.push((
            "http_listen",
            addr,
            Listener::Api,
            None,
            api_router(state(Listener::Api, false)),
        ));
    }
    for (key, addr, kind, tls, router) in specs {
        let listener = match bind(key, addr) {
            Ok(l) => l,
            Err(e) => {
                listeners.shutdown(Duration::from_secs(1)).await;
                return Err(e);
            }
        };
        let bound = listener.local_addr().unwrap_or(addr);
        // The inbound firewall sees each connection before anything is read from it, also
        // after the listener is stopped and started again as a service.
        let firewall = FirewallAcceptor::new(core.clone(), key, metrics.clone());
        let unit = ListenerUnit::serve(key, (listener, bound), kind, tls, router, firewall);
        match key {
            "listen" => listeners.addrs.api = bound,
            "appliance_listen" => listeners.addrs.appliance = bound,
            _ => {
                tracing::warn!(addr = %bound, "plain HTTP listener enabled: traffic on it, credentials included, is unencrypted");
                listeners.addrs.http = Some(bound);
            }
        }
        listeners.units.push(Arc::new(unit));
    }
    Ok(listeners)
}

impl Listeners {
    /// Stops accepting connections and lets requests in flight finish within `grace`.
    pub async fn shutdown(self, grace: Duration) {
        let mut stops = tokio::task::JoinSet::new();
        for u in self.units {
            stops.spawn(async move { u.stop(grace).await });
        }
        while stops.join_next().await.is_some() {}
    }

    /// The main and appliance listeners as appliance services (`api-listener`,
    /// `appliance-listener`), stopped by the service with `grace` for requests in flight. The
    /// plain HTTP listener is not one: it shares the main listener's routes and sessions.
    pub fn components(&self, grace: Duration) -> Vec<Arc<dyn Component>> {
        self.units
            .iter()
            .filter(|u| u.key != "http_listen")
            .map(|u| {
                Arc::new(ListenerService {
                    unit: u.clone(),
                    grace,
                }) as Arc<dyn Component>
            })
            .collect()
    }
}
