//! The `ferrocenter` binary's pieces, kept in a library so integration tests can start a real
//! server in-process as well as by running the binary.
pub mod agent_cmd;
pub mod cli;
pub mod config;
pub mod logging;
pub mod self_update;
pub mod serve;
pub mod setup_host;
pub mod store_identity;
pub mod support;
pub mod tls;
pub mod update_repo;
pub mod upgrade_source;
