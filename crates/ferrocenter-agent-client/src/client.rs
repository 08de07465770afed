use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::error::Error as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::AgentError;
use crate::pinning::{normalize_thumbprint, PinVerifier, Pins};
use crate::wire::*;

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Idle keep-alive connections per agent are closed after this long.
    pub pool_idle_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            pool_idle_timeout: Duration::from_secs(90),
        }
    }
}

/// Where each synthetic server name really points. A name stands for an address, a port and
/// the pinned thumbprint, so a different pin never reuses a pooled connection that was verified
/// against the old one.
/// (address, port, pinned thumbprint).
type EndpointKey = (String, u16, Option<String>);

#[derive(Debug, Default)]
struct Endpoints {
    by_name: RwLock<HashMap<String, (String, u16)>>,
    by_endpoint: RwLock<HashMap<EndpointKey, String>>,
    next: AtomicU64,
}

impl Endpoints {
    fn name_for(&self, host: &str, port: u16, pin: Option<&str>) -> String {
        let key = (host.to_ascii_lowercase(), port, pin.map(str::to_string));
        if let Some(n) = self.by_endpoint.read().get(&key) {
            return n.clone();
        }
        let mut by_endpoint = self.by_endpoint.write();
        if let Some(n) = by_endpoint.get(&key) {
            return n.clone();
        }
        let name = format!(
            "a{}.agent.invalid",
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        self.by_name
            .write()
            .insert(name.clone(), (key.0.clone(), key.1));
        by_endpoint.insert(key, name.clone());
        name
    }
}

/// Resolves the synthetic names back to the agent's address. Each endpoint gets its own name so
/// that the TLS layer can pin per address and port.
struct EndpointResolver(Arc<Endpoints>);

impl Resolve for EndpointResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let target = self.0.by_name.read().get(name.as_str()).cloned();
        Box::pin(async move {
            let (host, port) = target.ok_or("unknown agent endpoint")?;
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
                Ok(ip) => vec![SocketAddr::new(ip, port)],
                Err(_) => tokio::net::lookup_host((host.as_str(), port))
                    .await?
                    .collect(),
            };
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

struct Shared {
    http: reqwest::Client,
    pins: Arc<Pins>,
    endpoints: Arc<Endpoints>,
    options: ConnectOptions,
}

/// One HTTPS client for every agent: a shared connection pool with a TLS pin per endpoint.
#[derive(Clone)]
pub struct AgentConnector {
    shared: Arc<Shared>,
}

impl AgentConnector {
    pub fn new(options: ConnectOptions) -> AgentConnector {
        let pins = Arc::new(Pins::default());
        let endpoints = Arc::new(Endpoints::default());
        let tls = rustls::ClientConfig::builder_with_provider(ferrocenter_tls::provider())
            .with_safe_default_protocol_versions();
        #[allow(
            clippy::expect_used,
            reason = "both of the process's providers support TLS 1.2 and 1.3"
        )]
        let tls = tls
            .expect("the TLS provider supports the default protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinVerifier::new(pins.clone())))
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .dns_resolver(Arc::new(EndpointResolver(endpoints.clone())))
            .connect_timeout(options.connect_timeout)
            .pool_idle_timeout(options.pool_idle_timeout)
            .pool_max_idle_per_host(4)
            // reqwest sets TCP_USER_TIMEOUT to 30 s by default. With its keepalive probes on an
            // idle connection, Linux then ended about half of the idle agent connections with
            // ETIMEDOUT 30 s after their last request, although the agent answered every probe,
            // so a heartbeat round every 60 s had to make new TLS connections to them. A dead
            // agent is still found: a request times out (`request_timeout`), and the keepalive
            // probes (after 15 s idle, 3 of them 15 s apart) end an idle connection to it.
            .tcp_user_timeout(None)
            .build();
        #[allow(
            clippy::expect_used,
            reason = "the builder fails only on a TLS backend it cannot load; ours is preconfigured"
        )]
        let http = http.expect("building the agent HTTPS client");
        AgentConnector {
            shared: Arc::new(Shared {
                http,
                pins,
                endpoints,
                options,
            }),
        }
    }

    /// A client for the agent at `host:port` that trusts exactly the certificate with
    /// `thumbprint`. Without a thumbprint every call fails with `SslVerify` carrying the
    /// agent's thumbprint, which is how a caller learns it.
    pub fn client(&self, host: &str, port: u16, thumbprint: Option<&str>) -> AgentClient {
        let pin = thumbprint.and_then(normalize_thumbprint);
        let name = self.shared.endpoints.name_for(host, port, pin.as_deref());
        self.shared.pins.expected.write().insert(name.clone(), pin);
        AgentClient {
            shared: self.shared.clone(),
            base: format!("https://{name}:{port}/api/v1"),
            name,
            host: host.to_string(),
            port,
            session: Arc::new(Mutex::new(Session::default())),
        }
    }
}

#[derive(Default)]
struct Session {
    credentials: Option<(String, String)>,
    token: Option<String>,
}

/// A handle on one agent. Cheap to clone; clones share the session.
#[derive(Clone)]
pub struct AgentClient {
    shared: Arc<Shared>,
    base: String,
    name: String,
    host: String,
    port: u16,
    session: Arc<Mutex<Session>>,
}

impl std::fmt::Debug for AgentClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentClient")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

enum Auth {
    None,
    Session,
}

impl AgentClient {
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn map_transport(&self, e: reqwest::Error) -> AgentError {
        if e.is_timeout() {
            return AgentError::Timeout {
                host: self.host.clone(),
            };
        }
        let expected = self
            .shared
            .pins
            .expected
            .read()
            .get(&self.name)
            .cloned()
            .flatten();
        let seen = self.shared.pins.seen.lock().get(&self.name).cloned();
        if let Some(seen) = seen {
            if expected.as_deref() != Some(seen.thumbprint.as_str()) {
                return AgentError::SslVerify {
                    thumbprint: seen.thumbprint,
                    self_signed: seen.self_signed,
                };
            }
        }
        let mut reason = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            reason = s.to_string();
            source = s.source();
        }
        AgentError::NoHost {
            host: format!("{}:{}", self.host, self.port),
            reason,
        }
    }

    async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        token: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<(StatusCode, Vec<u8>), AgentError> {
        let mut rb = self
            .shared
            .http
            .request(method, format!("{}{}", self.base, path))
            .timeout(timeout.unwrap_or(self.shared.options.request_timeout));
        if let Some(t) = token {
            rb = rb.header(SESSION_HEADER, t);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        // Clear what the last handshake saw, so a verification failure reports this one.
        self.shared.pins.seen.lock().remove(&self.name);
        let resp = rb.send().await.map_err(|e| self.map_transport(e))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| self.map_transport(e))?;
        Ok((status, bytes.to_vec()))
    }

    fn decode<T: DeserializeOwned>(status: StatusCode, body: &[u8]) -> Result<T, AgentError> {
        if status.is_success() {
            let body = if body.is_empty() {
                b"null".as_slice()
            } else {
                body
            };
            return serde_json::from_slice(body)
                .map_err(|e| AgentError::Protocol(format!("bad response body: {e}")));
        }
        let err: ErrorBody = serde_json::from_slice(body).map_err(|_| {
            AgentError::Protocol(format!(
                "HTTP {status} with a body that is not an agent error"
            ))
        })?;
        Err(match err.code {
            ErrorCode::InvalidLogin => AgentError::InvalidLogin,
            ErrorCode::AlreadyBeingManaged => AgentError::AlreadyBeingManaged {
                server_address: err.server_address.unwrap_or_default(),
            },
            _ => AgentError::Api {
                status: status.as_u16(),
                body: err,
            },
        })
    }

    async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        auth: Auth,
        timeout: Option<Duration>,
    ) -> Result<T, AgentError> {
        let token = match auth {
            Auth::None => None,
            Auth::Session => Some(self.token().await?),
        };
        let (status, resp) = self
            .send(method.clone(), path, body, token.as_deref(), timeout)
            .await?;
        if status == StatusCode::UNAUTHORIZED && token.is_some() {
            // The agent restarted or the session idled out: log in again once.
            self.session.lock().token = None;
            let token = self.token().await?;
            let (status, resp) = self.send(method, path, body, Some(&token), timeout).await?;
            return Self::decode(status, &resp);
        }
        Self::decode(status, &resp)
    }

    async fn token(&self) -> Result<String, AgentError> {
        let (token, creds) = {
            let s = self.session.lock();
            (s.token.clone(), s.credentials.clone())
        };
        if let Some(t) = token {
            return Ok(t);
        }
        let (user, password) =
            creds.ok_or_else(|| AgentError::Protocol("no credentials: call login first".into()))?;
        Ok(self.login(&user, &password).await?.token)
    }

    /// Product and version, unauthenticated; refuses agents this client cannot manage.
    pub async fn about(&self) -> Result<About, AgentError> {
        let about: About = self
            .call::<(), _>(Method::GET, "/about", None, Auth::None, None)
            .await?;
        if about.product != AGENT_PRODUCT || about.api_version < API_VERSION {
            return Err(AgentError::NotSupportedHost {
                product: about.product,
                version: about.version,
                api_version: about.api_version,
            });
        }
        Ok(about)
    }

    /// Logs in and keeps the credentials to log in again when the session ends.
    pub async fn login(&self, user: &str, password: &str) -> Result<LoginResponse, AgentError> {
        let body = LoginRequest {
            user: user.into(),
            password: password.into(),
        };
        let (status, resp) = self
            .send(Method::POST, "/session", Some(&body), None, None)
            .await?;
        let r: LoginResponse = Self::decode(status, &resp)?;
        let mut s = self.session.lock();
        s.credentials = Some((user.to_string(), password.to_string()));
        s.token = Some(r.token.clone());
        Ok(r)
    }

    pub async fn logout(&self) -> Result<(), AgentError> {
        self.call::<(), ()>(Method::DELETE, "/session", None, Auth::Session, None)
            .await?;
        let mut s = self.session.lock();
        s.token = None;
        s.credentials = None;
        Ok(())
    }

    pub async fn create_account(&self, name: &str, password: &str) -> Result<Account, AgentError> {
        let body = CreateAccountRequest {
            name: name.into(),
            password: password.into(),
        };
        self.call(Method::POST, "/accounts", Some(&body), Auth::Session, None)
            .await
    }

    pub async fn change_password(&self, name: &str, password: &str) -> Result<(), AgentError> {
        let body = ChangePasswordRequest {
            password: password.into(),
        };
        self.call(
            Method::PUT,
            &format!("/accounts/{name}/password"),
            Some(&body),
            Auth::Session,
            None,
        )
        .await
    }

    /// Deletes a service account (root only).
    pub async fn delete_account(&self, name: &str) -> Result<(), AgentError> {
        self.call::<(), ()>(
            Method::DELETE,
            &format!("/accounts/{name}"),
            None,
            Auth::Session,
            None,
        )
        .await
    }

    pub async fn claim(&self, req: &ClaimRequest) -> Result<Claim, AgentError> {
        self.call(Method::POST, "/claim", Some(req), Auth::Session, None)
            .await
    }

    /// The server that manages the host, if any.
    pub async fn current_claim(&self) -> Result<Option<Claim>, AgentError> {
        self.call::<(), _>(Method::GET, "/claim", None, Auth::Session, None)
            .await
    }

    pub async fn release_claim(&self, server_uuid: &str) -> Result<(), AgentError> {
        self.call::<(), ()>(
            Method::DELETE,
            &format!("/claim?server_uuid={server_uuid}"),
            None,
            Auth::Session,
            None,
        )
        .await
    }

    pub async fn facts(&self) -> Result<HostFacts, AgentError> {
        self.call::<(), _>(Method::GET, "/facts", None, Auth::Session, None)
            .await
    }

    pub async fn runtime(&self) -> Result<Runtime, AgentError> {
        self.call::<(), _>(Method::GET, "/runtime", None, Auth::Session, None)
            .await
    }

    pub async fn vms(&self) -> Result<Vec<Vm>, AgentError> {
        self.call::<(), _>(Method::GET, "/vms", None, Auth::Session, None)
            .await
    }

    pub async fn vm(&self, uuid: &str) -> Result<Vm, AgentError> {
        self.call::<(), _>(
            Method::GET,
            &format!("/vms/{uuid}"),
            None,
            Auth::Session,
            None,
        )
        .await
    }

    pub async fn create_vm(&self, spec: &VmSpec) -> Result<Vm, AgentError> {
        self.call(Method::POST, "/vms", Some(spec), Auth::Session, None)
            .await
    }

    pub async fn unregister_vm(&self, uuid: &str) -> Result<Vm, AgentError> {
        self.call::<(), _>(
            Method::DELETE,
            &format!("/vms/{uuid}"),
            None,
            Auth::Session,
            None,
        )
        .await
    }

    pub async fn reconfigure_vm(&self, uuid: &str, r: &VmReconfigure) -> Result<Vm, AgentError> {
        self.call(
            Method::PATCH,
            &format!("/vms/{uuid}"),
            Some(r),
            Auth::Session,
            None,
        )
        .await
    }

    pub async fn power(&self, uuid: &str, action: PowerAction) -> Result<Vm, AgentError> {
        self.call(
            Method::POST,
            &format!("/vms/{uuid}/power"),
            Some(&PowerRequest { action }),
            Auth::Session,
            None,
        )
        .await
    }

    pub async fn set_maintenance(&self, enabled: bool) -> Result<Runtime, AgentError> {
        self.call(
            Method::PUT,
            "/host/maintenance",
            Some(&FlagRequest { enabled }),
            Auth::Session,
            None,
        )
        .await
    }

    pub async fn set_quarantine(&self, enabled: bool) -> Result<Runtime, AgentError> {
        self.call(
            Method::PUT,
            "/host/quarantine",
            Some(&FlagRequest { enabled }),
            Auth::Session,
            None,
        )
        .await
    }

    pub async fn set_lockdown(&self, mode: LockdownMode) -> Result<Runtime, AgentError> {
        self.call(
            Method::PUT,
            "/host/lockdown",
            Some(&LockdownRequest { mode }),
            Auth::Session,
            None,
        )
        .await
    }

    /// Refused unless the host is in maintenance mode or `force`.
    pub async fn reboot(&self, force: bool) -> Result<(), AgentError> {
        let path = format!("/host/reboot?force={force}");
        self.call::<(), ()>(Method::POST, &path, None, Auth::Session, None)
            .await
    }

    /// Refused unless the host is in maintenance mode or `force`.
    pub async fn shutdown(&self, force: bool) -> Result<(), AgentError> {
        let path = format!("/host/shutdown?force={force}");
        self.call::<(), ()>(Method::POST, &path, None, Auth::Session, None)
            .await
    }

    pub async fn standby(&self, action: StandbyAction) -> Result<Runtime, AgentError> {
        self.call(
            Method::POST,
            "/host/standby",
            Some(&StandbyRequest { action }),
            Auth::Session,
            None,
        )
        .await
    }

    pub async fn rename(&self, hostname: &str) -> Result<HostFacts, AgentError> {
        self.call(
            Method::PUT,
            "/host/name",
            Some(&RenameRequest {
                hostname: hostname.into(),
            }),
            Auth::Session,
            None,
        )
        .await
    }

    pub async fn uptime(&self) -> Result<Uptime, AgentError> {
        self.call::<(), _>(Method::GET, "/host/uptime", None, Auth::Session, None)
            .await
    }

    pub async fn events(&self, since: u64) -> Result<EventsPage, AgentError> {
        self.call::<(), _>(
            Method::GET,
            &format!("/events?since={since}"),
            None,
            Auth::Session,
            None,
        )
        .await
    }

    /// The runtime and the events after `since`, in one request. An agent older than this
    /// endpoint answers `NotFound`; the caller then asks for the two apart.
    pub async fn heartbeat(&self, since: u64) -> Result<Heartbeat, AgentError> {
        self.call::<(), _>(
            Method::GET,
            &format!("/heartbeat?since={since}"),
            None,
            Auth::Session,
            None,
        )
        .await
    }

    /// On the destination: reserve room for `vm` and get the ticket for the source.
    pub async fn prepare_incoming(&self, vm: &Vm) -> Result<IncomingTicket, AgentError> {
        self.call(
            Method::POST,
            "/migrations",
            Some(&PrepareIncoming { vm: vm.clone() }),
            Auth::Session,
            None,
        )
        .await
    }

    /// On the source: move the VM to the prepared destination. Returns when it has moved (or
    /// failed, leaving the VM on the source).
    pub async fn migrate(
        &self,
        uuid: &str,
        req: &MigrateRequest,
        timeout: Duration,
    ) -> Result<MigrationResult, AgentError> {
        self.call(
            Method::POST,
            &format!("/vms/{uuid}/migrate"),
            Some(req),
            Auth::Session,
            Some(timeout),
        )
        .await
    }

    /// How far the migration of `uuid` away from this host has come.
    pub async fn migration_progress(&self, uuid: &str) -> Result<MigrationProgress, AgentError> {
        self.call::<(), _>(
            Method::GET,
            &format!("/vms/{uuid}/migration"),
            None,
            Auth::Session,
            None,
        )
        .await
    }

    /// Asks the hypervisor to abandon the migration of `uuid` away from this host; answers
    /// at once (the `migrate` call in flight then fails), or `invalid_state` past the
    /// switch-over.
    pub async fn cancel_migration(&self, uuid: &str) -> Result<MigrationProgress, AgentError> {
        self.call::<(), _>(
            Method::DELETE,
            &format!("/vms/{uuid}/migration"),
            None,
            Auth::Session,
            None,
        )
        .await
    }

    /// Source → destination steps, authenticated by the ticket.
    pub async fn migration_step(
        &self,
        migration_id: &str,
        step: &str,
        body: &TicketRequest,
    ) -> Result<MigrationStatus, AgentError> {
        self.call(
            Method::POST,
            &format!("/migrations/{migration_id}/{step}"),
            Some(body),
            Auth::None,
            None,
        )
        .await
    }
}
