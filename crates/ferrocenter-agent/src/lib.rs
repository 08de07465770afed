//! The host agent: `ferrocenter agent` (one host) and `ferrocenter simulate` (a fleet).
//!
//! The agent keeps its accounts, the management claim, host flags, capacity rules, events and
//! migrations; a [`driver::Hypervisor`] discovers the hardware and runs the domains.
pub mod accounts;
pub mod agent;
pub mod api;
pub mod driver;
pub mod error;
pub mod events;
pub mod faults;
pub mod init;
pub mod serve;
pub mod simulate;
pub mod tls;
