//! The host agent's API contract ([`wire`]) and the typed client the server uses to reach agents
//! ([`AgentConnector`], [`AgentClient`]): one shared HTTPS connection pool, TLS pinned per host
//! to a SHA-256 thumbprint, timeouts, and errors the host flows map to vim faults.

mod client;
mod error;
mod names;
mod pinning;
pub mod wire;

pub use client::{AgentClient, AgentConnector, ConnectOptions};
pub use error::AgentError;
pub use names::{is_dns_name, DNS_NAME_PATTERN};
pub use pinning::{normalize_thumbprint, pem_thumbprint, sha256_thumbprint};

/// This build's agent version; the client refuses agents whose API is older.
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");
