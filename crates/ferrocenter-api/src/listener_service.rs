//! One listener as a component the appliance services start and stop: stopped, its port is
//! closed (connections are refused) after the requests in flight are given the grace period;
//! started, it binds the same address again and serves the same routes.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;
use ferrocenter_core::auth::Listener;
use ferrocenter_core::ports::{Component, ComponentError, ComponentState};
use parking_lot::Mutex;
use tokio::task::JoinHandle;

use crate::accept_hook::FirewallAcceptor;
use crate::bind::{bind, ServeError};

pub(crate) struct ListenerUnit {
    /// The configuration key of its address (`listen`).
    pub(crate) key: &'static str,
    /// The address bound at start (a port 0 became a real one), bound again on a start.
    pub(crate) addr: SocketAddr,
    pub(crate) listener: Listener,
    tls: Option<RustlsConfig>,
    router: Router,
    /// The inbound firewall, consulted on every accept.
    firewall: FirewallAcceptor,
    running: Mutex<Option<(Handle, JoinHandle<std::io::Result<()>>)>>,
}

impl ListenerUnit {
    /// Serves `socket` (already bound, so a failure to bind was reported at once).
    pub(crate) fn serve(
        key: &'static str,
        (socket, addr): (std::net::TcpListener, SocketAddr),
        listener: Listener,
        tls: Option<RustlsConfig>,
        router: Router,
        firewall: FirewallAcceptor,
    ) -> ListenerUnit {
        let unit = ListenerUnit {
            key,
            addr,
            listener,
            tls,
            router,
            firewall,
            running: Mutex::new(None),
        };
        unit.spawn(socket);
        unit
    }

    fn spawn(&self, socket: std::net::TcpListener) {
        let handle = Handle::new();
        // The peer address reaches handlers, which pass it to logins (budget and lockout).
        let service = self
            .router
            .clone()
            .into_make_service_with_connect_info::<SocketAddr>();
        let join = match &self.tls {
            Some(tls) => tokio::spawn(
                axum_server::from_tcp_rustls(socket, tls.clone())
                    .map(|a| a.acceptor(self.firewall.clone()))
                    .handle(handle.clone())
                    .serve(service),
            ),
            None => tokio::spawn(
                axum_server::from_tcp(socket)
                    .acceptor(self.firewall.clone())
                    .handle(handle.clone())
                    .serve(service),
            ),
        };
        *self.running.lock() = Some((handle, join));
    }

    fn is_running(&self) -> bool {
        self.running
            .lock()
            .as_ref()
            .is_some_and(|(_, j)| !j.is_finished())
    }

    /// Binds the address again and serves; nothing if it serves already.
    pub(crate) fn start(&self) -> Result<(), ServeError> {
        if self.is_running() {
            return Ok(());
        }
        let socket = bind(self.key, self.addr)?;
        self.spawn(socket);
        Ok(())
    }

    /// Stops accepting at once, and lets requests in flight finish within `grace`.
    pub(crate) async fn stop(&self, grace: Duration) {
        let Some((handle, join)) = self.running.lock().take() else {
            return;
        };
        handle.graceful_shutdown(Some(grace));
        let _ = tokio::time::timeout(grace + Duration::from_secs(1), join).await;
    }
}

/// A listener as an appliance service.
pub(crate) struct ListenerService {
    pub(crate) unit: Arc<ListenerUnit>,
    pub(crate) grace: Duration,
}

impl ListenerService {
    fn names(&self) -> (&'static str, &'static str) {
        match self.unit.listener {
            Listener::Api => (
                "api-listener",
                "The main HTTPS listener (listen): /api, /rest, /sdk and /zstack.",
            ),
            Listener::Appliance => (
                "appliance-listener",
                "The appliance management HTTPS listener (appliance_listen), for local accounts.",
            ),
        }
    }
}

#[async_trait]
impl Component for ListenerService {
    fn name(&self) -> &str {
        self.names().0
    }

    fn description(&self) -> &str {
        self.names().1
    }

    fn state(&self) -> ComponentState {
        if self.unit.is_running() {
            ComponentState::Started
        } else {
            ComponentState::Stopped
        }
    }

    async fn start(&self) -> Result<(), ComponentError> {
        self.unit.start().map_err(|e| ComponentError(e.to_string()))
    }

    async fn stop(&self) -> Result<(), ComponentError> {
        self.unit.stop(self.grace).await;
        Ok(())
    }

    fn listener(&self) -> Option<Listener> {
        Some(self.unit.listener)
    }
}
