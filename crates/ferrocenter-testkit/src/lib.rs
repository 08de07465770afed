//! Test harness shared by the workspace's integration tests.
// A harness that cannot set up its fixture has nothing to report but a panic, as a test would.
#![allow(clippy::unwrap_used, clippy::expect_used)]
pub mod file_servers;
pub mod identity;
pub mod kvm;
pub mod pg;
pub mod syslog;

use std::net::TcpListener;

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding an ephemeral loopback port")
}
