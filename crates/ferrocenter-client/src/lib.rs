//! A client for ferrocenter (and, directly, its host agents) with the connection semantics of
//! VIX's HostConnect (seeds/002): the host name in any of its accepted forms, mandatory
//! credentials or a clone ticket, certificate verification, stable error codes.
//!
//! ```
//! use ferrocenter_client::{HostType, Target};
//! let t = Target::parse("vc.example.com", HostType::ManagementServer).unwrap();
//! assert_eq!(t.url(), "https://vc.example.com:443/sdk");
//! ```
//!
//! Connecting, calling a VI/JSON method and following its task; a second process logging in
//! with a clone ticket:
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferrocenter_client::ClientError> {
//! use ferrocenter_client::{ConnectOptions, Connection, Credentials, ErrorCode, TlsSettings};
//! use serde_json::json;
//!
//! let mut opts = ConnectOptions::new(
//!     "https://vc.example.com/sdk",
//!     Credentials::Password { user: "administrator@vsphere.local".into(), password: "…".into() },
//! );
//! opts.tls = TlsSettings::from_config(&std::fs::read_to_string("/etc/ferrocenter/client.conf").unwrap())?;
//! let c = match Connection::connect(opts).await {
//!     Err(e) if e.code == ErrorCode::SslSecurity => return Err(e), // no handle was made
//!     other => other?,
//! };
//! let task = c.call("HostSystem", "host-12", "EnterMaintenanceMode_Task", json!({"timeout": 0})).await?;
//! let done = c.wait_for_task(task["value"].as_str().unwrap(), |t| eprintln!("{:?}% {}", t.progress, t.message)).await?;
//! println!("{} {}", done.id, done.state);
//!
//! let ticket = c.acquire_clone_ticket().await?;
//! let other = Connection::connect(ConnectOptions::new("vc.example.com", Credentials::CloneTicket(ticket))).await?;
//! other.disconnect().await?;
//! c.disconnect().await?; // `c` cannot be used after this line
//! # Ok(()) }
//! ```
pub mod connect;
pub mod error;
pub mod target;
pub mod task;
pub mod tls;

pub use connect::{ConnectOptions, Connection, Credentials};
pub use error::{ClientError, ErrorCode};
pub use target::{HostType, Target};
pub use task::TaskView;
pub use tls::TlsSettings;
