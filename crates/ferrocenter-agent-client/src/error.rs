use crate::wire::{ErrorBody, ErrorCode};

/// Why an agent call failed, in the terms the host flows need: each maps to one vim fault
/// (NoHost, InvalidLogin, SSLVerifyFault, AlreadyBeingManaged, NotSupportedHost).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentError {
    /// Nothing answers at the address, the connection broke, or TLS could not be set up.
    #[error("host {host} is not reachable: {reason}")]
    NoHost { host: String, reason: String },
    /// The agent refused the credentials (it never says whether the user exists).
    #[error("the host refused the login")]
    InvalidLogin,
    /// The agent's certificate is not the pinned one. `thumbprint` is the certificate it
    /// presented, so a caller can verify it out of band and retry with it.
    #[error(
        "the host's certificate has SHA-256 thumbprint {thumbprint}, which is not the expected one"
    )]
    SslVerify {
        thumbprint: String,
        self_signed: bool,
    },
    /// Another server manages the host.
    #[error("the host is already managed by the server at {server_address}")]
    AlreadyBeingManaged { server_address: String },
    /// The agent is not one this client can manage (another product or too old an API).
    #[error("{product} {version} (API {api_version}) is not supported")]
    NotSupportedHost {
        product: String,
        version: String,
        api_version: u32,
    },
    /// The call took longer than its timeout.
    #[error("the request to host {host} timed out")]
    Timeout { host: String },
    /// The agent answered with an error.
    #[error("the host answered {status}: {}", body.message)]
    Api { status: u16, body: ErrorBody },
    /// The answer could not be understood.
    #[error("unexpected answer from the host: {0}")]
    Protocol(String),
}

impl AgentError {
    /// The agent's error code, when the agent answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            AgentError::Api { body, .. } => Some(body.code),
            _ => None,
        }
    }
}
