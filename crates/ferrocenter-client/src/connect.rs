//! A connection to a ferrocenter server over VI/JSON, made as HostConnect makes one: a target
//! in any accepted form, credentials (mandatory) or a clone ticket, certificate verification.
//! The handle is consumed by `disconnect`, so it cannot be used afterwards.
use std::time::Duration;

use serde_json::{json, Value};

use crate::error::{ClientError, ErrorCode};
use crate::target::{HostType, Target};
use crate::tls::{is_tls_failure, PresentedCertificate, TlsSettings};

/// The VI/JSON release this client speaks.
pub const RELEASE: &str = "8.0.3.0";
const SESSION_HEADER: &str = "vmware-api-session-id";

/// How to authenticate.
#[derive(Clone)]
pub enum Credentials {
    Password {
        user: String,
        password: String,
    },
    /// A ticket from `AcquireCloneTicket` on an existing session (HostConnect: user unset,
    /// the ticket as the password). A ticket works once.
    CloneTicket(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Password { user, .. } => write!(f, "Password {{ user: {user:?} }}"),
            Credentials::CloneTicket(_) => f.write_str("CloneTicket"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub host: String,
    pub host_type: HostType,
    pub credentials: Option<Credentials>,
    pub tls: TlsSettings,
    pub timeout: Duration,
}

impl ConnectOptions {
    pub fn new(host: impl Into<String>, credentials: Credentials) -> Self {
        ConnectOptions {
            host: host.into(),
            host_type: HostType::ManagementServer,
            credentials: Some(credentials),
            tls: TlsSettings::default(),
            timeout: Duration::from_secs(60),
        }
    }
}

/// An open session. Dropping it leaves the session to expire; `disconnect` ends it.
#[derive(Debug)]
pub struct Connection {
    http: reqwest::Client,
    /// The certificate the server presented, named when it is refused.
    presented: PresentedCertificate,
    base: String,
    session: String,
    pub target: Target,
    pub host_type: HostType,
    /// Things the caller should know, such as connecting directly to a host that a server
    /// manages (HostConnect's remark: bypassing the server can leave its state inconsistent).
    pub warnings: Vec<String>,
}

/// The agent's session header.
const AGENT_SESSION_HEADER: &str = "x-agent-session";

fn transport_error(
    e: reqwest::Error,
    target: &Target,
    presented: &PresentedCertificate,
) -> ClientError {
    if is_tls_failure(&e) {
        let mut err = ClientError::new(
            ErrorCode::SslSecurity,
            format!(
                "the certificate of {} could not be verified: {e}",
                target.host
            ),
        );
        // Named as an SSLVerifyFault names it, so a caller can compare it and pin it.
        err.detail = presented.thumbprint().map(|t| json!({"thumbprint": t}));
        return err;
    }
    ClientError::new(
        ErrorCode::HostNotReachable,
        format!("{}:{} did not answer: {e}", target.host, target.port),
    )
}

/// The HTTP client for one connection: these TLS settings, this timeout.
fn http_client(
    tls: &TlsSettings,
    timeout: Duration,
) -> Result<(reqwest::Client, PresentedCertificate), ClientError> {
    let (config, presented) = tls.client_config()?;
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(timeout)
        .build()
        .map_err(|e| ClientError::invalid("TLS", e))?;
    Ok((http, presented))
}

/// Where a management server's VI/JSON methods live.
fn vim_base(target: &Target) -> String {
    format!("{}/vim25/{RELEASE}", target.url().trim_end_matches('/'))
}

/// The client error for a VI/JSON fault body.
pub fn fault_error(body: &Value) -> ClientError {
    let fault = body
        .get("_typeName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let message = body
        .get("faultMessage")
        .and_then(|m| m.get(0))
        .and_then(|m| m.get("message"))
        .and_then(Value::as_str)
        .or_else(|| body.get("message").and_then(Value::as_str))
        .unwrap_or("the server refused the call")
        .to_string();
    let code = match fault.as_str() {
        "InvalidLogin" | "NotAuthenticated" => ErrorCode::InvalidLogin,
        "NoPermission" => ErrorCode::NoPermission,
        "NotSupported" | "MethodNotFound" => ErrorCode::NotSupported,
        "ManagedObjectNotFound" | "NotFound" => ErrorCode::NotFound,
        "InvalidState" | "InvalidPowerState" => ErrorCode::InvalidState,
        "InvalidArgument" | "InvalidRequest" => ErrorCode::InvalidArgument,
        "SSLVerifyFault" => ErrorCode::SslSecurity,
        "NoHost" | "HostConnectFault" => ErrorCode::HostNotReachable,
        _ => ErrorCode::Server,
    };
    ClientError {
        code,
        message,
        fault: (!fault.is_empty()).then_some(fault),
        detail: body.is_object().then(|| body.clone()),
    }
}

/// The client error for a host agent's error body (`{"code", "message"}`).
fn agent_error(body: &Value) -> ClientError {
    let fault = body["code"].as_str().unwrap_or("").to_string();
    let code = match fault.as_str() {
        "invalid_login" | "unauthenticated" => ErrorCode::InvalidLogin,
        "permission_denied" => ErrorCode::NoPermission,
        "not_found" => ErrorCode::NotFound,
        "invalid_state" | "busy" | "already_being_managed" => ErrorCode::InvalidState,
        "invalid_argument" => ErrorCode::InvalidArgument,
        "not_supported" => ErrorCode::NotSupported,
        _ => ErrorCode::Server,
    };
    ClientError {
        code,
        message: body["message"]
            .as_str()
            .unwrap_or("the agent refused the call")
            .to_string(),
        fault: (!fault.is_empty()).then_some(fault),
        detail: body.is_object().then(|| body.clone()),
    }
}

impl Connection {
    /// Connects and logs in. Nothing is returned unless both succeed.
    pub async fn connect(opts: ConnectOptions) -> Result<Connection, ClientError> {
        let target = Target::parse(&opts.host, opts.host_type)?;
        let credentials = opts.credentials.clone().ok_or_else(|| {
            ClientError::invalid(
                "credentials",
                "are required, even for connections made locally",
            )
        })?;
        if let Credentials::Password { user, .. } = &credentials {
            if user.is_empty() {
                return Err(ClientError::invalid("user", "is required"));
            }
        }
        let (http, presented) = http_client(&opts.tls, opts.timeout)?;
        if opts.host_type == HostType::HostAgent {
            return Self::connect_agent(http, presented, target, credentials).await;
        }
        let base = vim_base(&target);
        let (method, body) = match &credentials {
            Credentials::Password { user, password } => {
                ("Login", json!({"userName": user, "password": password}))
            }
            Credentials::CloneTicket(t) => ("CloneSession", json!({"cloneTicket": t})),
        };
        let r = http
            .post(format!("{base}/SessionManager/SessionManager/{method}"))
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error(e, &target, &presented))?;
        let status = r.status();
        let session = r
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(fault_error(&v));
        }
        let session = session.ok_or_else(|| {
            ClientError::new(ErrorCode::Server, "the server answered without a session")
        })?;
        Ok(Connection::to_server(http, presented, target, session))
    }

    /// A management-server connection with a session already open.
    fn to_server(
        http: reqwest::Client,
        presented: PresentedCertificate,
        target: Target,
        session: String,
    ) -> Connection {
        Connection {
            http,
            presented,
            base: vim_base(&target),
            session,
            target,
            host_type: HostType::ManagementServer,
            warnings: Vec::new(),
        }
    }

    /// A host agent directly: its own login, and a warning when a server manages the host.
    async fn connect_agent(
        http: reqwest::Client,
        presented: PresentedCertificate,
        target: Target,
        credentials: Credentials,
    ) -> Result<Connection, ClientError> {
        let Credentials::Password { user, password } = credentials else {
            return Err(ClientError::new(
                ErrorCode::NotSupported,
                "host agents do not take clone tickets: log in with a user and password",
            ));
        };
        let base = target.url().trim_end_matches('/').to_string();
        let r = http
            .post(format!("{base}/session"))
            .json(&json!({"user": user, "password": password}))
            .send()
            .await
            .map_err(|e| transport_error(e, &target, &presented))?;
        let ok = r.status().is_success();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if !ok {
            return Err(agent_error(&v));
        }
        let session = v["token"].as_str().unwrap_or_default().to_string();
        let mut c = Connection {
            http,
            presented,
            base,
            session,
            target,
            host_type: HostType::HostAgent,
            warnings: Vec::new(),
        };
        let claim = c.agent("GET", "/claim", None).await?;
        if let Some(server) = claim.get("server_address").and_then(Value::as_str) {
            c.warnings.push(format!(
                "host {} is managed by the server at {server}: changes made directly can leave \
                 that server's view inconsistent; connect to the server instead",
                c.target.host
            ));
        }
        Ok(c)
    }

    /// A call on a host agent's API (`/api/v1` + `path`).
    pub async fn agent(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ClientError> {
        if self.host_type != HostType::HostAgent {
            return Err(ClientError::new(
                ErrorCode::NotSupported,
                "this connection is to a management server",
            ));
        }
        let url = format!("{}{path}", self.base);
        let (ok, v) = self.send(method, &url, AGENT_SESSION_HEADER, body).await?;
        if ok {
            Ok(v)
        } else {
            Err(agent_error(&v))
        }
    }

    /// One request with this session: whether it succeeded, and the JSON it answered.
    async fn send(
        &self,
        method: &str,
        url: &str,
        session_header: &str,
        body: Option<Value>,
    ) -> Result<(bool, Value), ClientError> {
        let m = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| ClientError::invalid("method", method))?;
        let mut rb = self
            .http
            .request(m, url)
            .header(session_header, &self.session);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb
            .send()
            .await
            .map_err(|e| transport_error(e, &self.target, &self.presented))?;
        let ok = r.status().is_success();
        let text = r
            .text()
            .await
            .map_err(|e| transport_error(e, &self.target, &self.presented))?;
        Ok((ok, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// `GET /<moType>/<moId>/<property>`.
    pub async fn get(
        &self,
        mo_type: &str,
        mo_id: &str,
        property: &str,
    ) -> Result<Value, ClientError> {
        let r = self
            .http
            .get(format!("{}/{mo_type}/{mo_id}/{property}", self.base))
            .header(SESSION_HEADER, &self.session)
            .send()
            .await
            .map_err(|e| transport_error(e, &self.target, &self.presented))?;
        self.answer(r).await
    }

    /// `POST /<moType>/<moId>/<method>` with a JSON body.
    pub async fn call(
        &self,
        mo_type: &str,
        mo_id: &str,
        method: &str,
        body: Value,
    ) -> Result<Value, ClientError> {
        let r = self
            .http
            .post(format!("{}/{mo_type}/{mo_id}/{method}", self.base))
            .header(SESSION_HEADER, &self.session)
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error(e, &self.target, &self.presented))?;
        self.answer(r).await
    }

    async fn answer(&self, r: reqwest::Response) -> Result<Value, ClientError> {
        let status = r.status();
        let text = r
            .text()
            .await
            .map_err(|e| transport_error(e, &self.target, &self.presented))?;
        let v: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            Ok(v)
        } else {
            Err(fault_error(&v))
        }
    }

    /// The same session on the server's vAPI REST surface (`/api` + `path`), which answers
    /// bare JSON (vAPI errors carry `error_type` and `messages`).
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ClientError> {
        let origin = self.origin();
        let (ok, v) = self
            .send(method, &format!("{origin}/api{path}"), SESSION_HEADER, body)
            .await?;
        if ok {
            return Ok(v);
        }
        let kind = v["error_type"].as_str().unwrap_or("").to_string();
        let code = match kind.as_str() {
            "UNAUTHENTICATED" => ErrorCode::InvalidLogin,
            "UNAUTHORIZED" => ErrorCode::NoPermission,
            "NOT_FOUND" | "OPERATION_NOT_FOUND" => ErrorCode::NotFound,
            "INVALID_ARGUMENT" | "INVALID_REQUEST" => ErrorCode::InvalidArgument,
            "NOT_ALLOWED_IN_CURRENT_STATE" | "ALREADY_IN_DESIRED_STATE" => ErrorCode::InvalidState,
            "UNSUPPORTED" => ErrorCode::NotSupported,
            "UNVERIFIED_PEER" => ErrorCode::SslSecurity,
            "RESOURCE_INACCESSIBLE" => ErrorCode::HostNotReachable,
            _ => ErrorCode::Server,
        };
        Err(ClientError {
            code,
            message: v["messages"][0]["default_message"]
                .as_str()
                .unwrap_or("the server refused the call")
                .to_string(),
            fault: (!kind.is_empty()).then_some(kind),
            detail: v.is_object().then(|| v.clone()),
        })
    }

    /// `GET path` on the server's origin (same pinned connection, same session), the body
    /// handed to `sink` as it arrives; returns its bytes. For files a server serves outside
    /// its APIs (an upgrade's export).
    pub async fn download(
        &self,
        path: &str,
        mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<u64, ClientError> {
        let url = format!("{}{path}", self.origin());
        let mut r = self
            .http
            .get(url)
            .header(SESSION_HEADER, &self.session)
            .send()
            .await
            .map_err(|e| transport_error(e, &self.target, &self.presented))?;
        if !r.status().is_success() {
            return Err(ClientError::new(
                if r.status() == reqwest::StatusCode::NOT_FOUND {
                    ErrorCode::NotFound
                } else {
                    ErrorCode::Server
                },
                format!("the server answered {} for the download", r.status()),
            ));
        }
        let mut total = 0u64;
        while let Some(chunk) = r
            .chunk()
            .await
            .map_err(|e| transport_error(e, &self.target, &self.presented))?
        {
            sink(&chunk).map_err(|e| ClientError::invalid("download", e))?;
            total += chunk.len() as u64;
        }
        Ok(total)
    }

    fn origin(&self) -> String {
        format!(
            "{}://{}:{}",
            self.target.scheme,
            if self.target.host.contains(':') {
                format!("[{}]", self.target.host)
            } else {
                self.target.host.clone()
            },
            self.target.port
        )
    }

    /// Picks up a session saved earlier (the CLI keeps one between commands).
    pub fn resume(
        host: &str,
        tls: &TlsSettings,
        session: String,
        timeout: Duration,
    ) -> Result<Connection, ClientError> {
        let target = Target::parse(host, HostType::ManagementServer)?;
        let (http, presented) = http_client(tls, timeout)?;
        Ok(Connection::to_server(http, presented, target, session))
    }

    /// The session token, for saving (never print it).
    pub fn session_token(&self) -> &str {
        &self.session
    }

    /// A ticket another process can log in with once (`Credentials::CloneTicket`).
    pub async fn acquire_clone_ticket(&self) -> Result<String, ClientError> {
        let v = self
            .call(
                "SessionManager",
                "SessionManager",
                "AcquireCloneTicket",
                json!({}),
            )
            .await?;
        v.as_str()
            .map(String::from)
            .ok_or_else(|| ClientError::new(ErrorCode::Server, "the ticket is not a string"))
    }

    /// Ends the session. The handle is consumed: it cannot be used afterwards.
    pub async fn disconnect(self) -> Result<(), ClientError> {
        match self.host_type {
            HostType::HostAgent => self.agent("DELETE", "/session", None).await.map(|_| ()),
            HostType::ManagementServer => self
                .call("SessionManager", "SessionManager", "Logout", json!({}))
                .await
                .map(|_| ()),
        }
    }
}
