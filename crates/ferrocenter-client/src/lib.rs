//! A client for ferrocenter (and, directly, its host agents) with the connection semantics of
//! VIX's HostConnect (seeds/002): the host name in any of its accepted forms, mandatory
//! credentials or a clone ticket, certificate verification, stable error codes.
//!
//! ```
//! use ferrocenter_client::{HostType, Target};
//! let t = Target::parse("vc.example.com", HostType::ManagementServer).unwrap();
//! assert_eq!(t.url(), "https://vc.example.com:443/sdk");
//! ```
pub mod connect;
pub mod error;
pub mod target;
pub mod tls;

pub use connect::{ConnectOptions, Connection, Credentials};
pub use error::{ClientError, ErrorCode};
pub use target::{HostType, Target};
pub use tls::TlsSettings;
