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
///
/// Chosen below the kernel's ephemeral range (32768 and up on Linux): a port the kernel hands
/// out for another process's connection or `bind(0)` between this call and the caller's own
/// bind can then never be this one (a test server once failed to start on such a port).
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    const LOW: u16 = 20_000;
    const SPAN: u16 = 12_000;
    for _ in 0..200 {
        // RandomState is seeded randomly per process and differs on every call.
        let r = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let port = LOW + (r % u64::from(SPAN)) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding an ephemeral loopback port")
}
