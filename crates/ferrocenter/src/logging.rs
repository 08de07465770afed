//! Structured logs: human-readable on stderr, JSON lines in `DATA/logs/`.
use std::io::IsTerminal;
use std::path::Path;
use std::sync::OnceLock;

use ferrocenter_system::syslog::SyslogForwarder;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Installs the global subscriber; keep the guard alive until exit so buffered lines are written.
pub fn init(level: &str, logs_dir: &Path) -> std::io::Result<WorkerGuard> {
    std::fs::create_dir_all(logs_dir)?;
    let appender = tracing_appender::rolling::daily(logs_dir, "ferrocenter.log");
    let (file_writer, guard) = tracing_appender::non_blocking(appender);
    // sqlx logs every statement at info; that is noise for operators.
    let filter = || EnvFilter::new(format!("{level},sqlx=warn"));
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .with_filter(filter());
    let file = fmt::layer()
        .json()
        .with_writer(file_writer)
        .with_filter(filter());
    // The same records as the JSON file go to the remote syslog receivers, if any.
    let syslog = forwarder().layer().with_filter(filter());
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .with(syslog)
        .try_init();
    Ok(guard)
}

/// The process's syslog forwarder: fed by the subscriber `init` installs, configured by the
/// core through its `LogForwarder` port.
pub fn forwarder() -> &'static SyslogForwarder {
    static FORWARDER: OnceLock<SyslogForwarder> = OnceLock::new();
    FORWARDER.get_or_init(SyslogForwarder::default)
}
