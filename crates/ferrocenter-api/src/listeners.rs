//! The HTTPS (and optional plain HTTP) listeners, and their graceful shutdown.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use ferrocenter_core::auth::Listener;
use ferrocenter_core::lookup::{Advertised, ExternalAddress};
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
    /// Where clients reach the server (`external_address`), named by the Lookup Service's
    /// registrations; without a port, the main listener's bound port.
    pub external_address: ExternalAddress,
    /// The server certificate as base64 DER, the registrations' `sslTrust`.
    pub ssl_trust: Vec<String>,
    /// The server awaits its setup: the main listener's address is taken but it does not
    /// listen until the setup starts it (the `api-listener` service); no plain HTTP listener.
    pub await_setup: bool,
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
    /// Every HTTPS listener's TLS configuration (one, shared): a new certificate reaches them
    /// all through it.
    pub tls: TlsReload,
}

/// Serves a new certificate on every HTTPS listener, for connections accepted from now on.
#[derive(Clone)]
pub struct TlsReload(RustlsConfig);

impl TlsReload {
    pub fn reload(&self, cert_pem: &[u8], key_pem: &[u8]) -> Result<(), ServeError> {
        let config = ferrocenter_tls::server_config(cert_pem, key_pem)
            .map_err(|e| ServeError::Tls(e.to_string()))?;
        self.0.reload_from_config(Arc::new(config));
        Ok(())
    }
}

/// Binds every listener and starts serving. Fails, naming the configuration key, if one cannot
/// bind; nothing is served then (every socket is bound before any is served).
pub async fn start(core: Arc<Core>, opts: &ListenerOptions) -> Result<Listeners, ServeError> {
    // On the provider the server chose (global FIPS or not) before starting the listeners.
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| ServeError::Tls(format!("{}: {e}", p.display())))
    };
    let config = ferrocenter_tls::server_config(&read(&opts.cert_pem)?, &read(&opts.key_pem)?)
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    tracing::info!(fips = config.fips(), "listeners' TLS configuration built");
    let tls = RustlsConfig::from_config(Arc::new(config));
    core.auth
        .set_login_throttle(Arc::new(LoginBudget(LoginLimiter::new(opts.login_rate))));
    core.set_token_crypto(Arc::new(ferrocenter_saml::XmlSecTokens));
    // The SSO domain's signing key is made on first start, not on the first token request;
    // a server awaiting its setup does not know its domain yet (the setup makes the key).
    if core.is_configured() {
        if let Err(e) = core.token_signing_certificates().await {
            tracing::warn!("the token signing key is not ready: {e}");
        }
    }
    let vim = Arc::new(ferrocenter_vim::CollectorState::default());
    let jobs = Arc::new(ferrocenter_zstack::JobStore::new(
        opts.zstack_web_hooks.clone(),
    ));
    let metrics = opts
        .metrics
        .then(|| Arc::new(crate::metrics::Metrics::default()));
    // Every socket is bound before any router is made: the Lookup Service's registrations name
    // the main listener's port, which is only known once it is bound (port 0 picks one).
    let mut wanted = vec![
        ("listen", opts.listen, Listener::Api, Some(tls.clone())),
        (
            "appliance_listen",
            opts.appliance_listen,
            Listener::Appliance,
            Some(tls.clone()),
        ),
    ];
    if let Some(addr) = opts.http_listen.filter(|_| !opts.await_setup) {
        wanted.push(("http_listen", addr, Listener::Api, None));
    }
    let mut bound_sockets = Vec::with_capacity(wanted.len());
    for (key, addr, kind, tls) in wanted {
        let listener = bind(key, addr)?;
        let bound = listener.local_addr().unwrap_or(addr);
        bound_sockets.push((key, listener, bound, kind, tls));
    }
    let api_port = bound_sockets
        .iter()
        .find(|s| s.0 == "listen")
        .map_or(opts.listen.port(), |s| s.2.port());
    let advertised = Arc::new(Advertised {
        address: opts.external_address.with_default_port(api_port),
        ssl_trust: opts.ssl_trust.clone(),
    });
    let vim_url: Arc<str> = format!("{}/sdk", advertised.address.https_origin()).into();
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
            service_url: vim_url.clone(),
        },
        zstack: ferrocenter_zstack::ZstackState {
            core: core.clone(),
            listener,
            jobs: jobs.clone(),
            session_lifetime: opts.zstack_session_lifetime,
            trust_agent_on_first_use: opts.zstack_trust_agent_on_first_use,
            tls,
        },
        lookup: ferrocenter_lookup::LookupState {
            core: core.clone(),
            advertised: advertised.clone(),
        },
        sts: ferrocenter_saml::StsState { core: core.clone() },
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
        tls: TlsReload(tls.clone()),
    };

    for (key, listener, bound, kind, tls) in bound_sockets {
        let router = match key {
            "appliance_listen" => appliance_router(state(Listener::Appliance, true)),
            _ => api_router(state(Listener::Api, tls.is_some())),
        };
        // The inbound firewall sees each connection before anything is read from it, also
        // after the listener is stopped and started again as a service.
        let firewall = FirewallAcceptor::new(core.clone(), key, metrics.clone());
        let unit = ListenerUnit::serve(key, (listener, bound), kind, tls, router, firewall);
        if key == "listen" && opts.await_setup {
            unit.stop(Duration::ZERO).await;
        }
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
