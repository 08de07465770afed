//! The operator's commands (`ferrocenter login`, `datacenter …`, `host …`, `task …`), built on
//! `ferrocenter-client`. A login keeps its session in a 0600 file under the user's config dir;
//! later commands reuse it. Exit codes: 0 done, 2 usage, 3 connection or login, 4 the server
//! refused the operation or its task failed, 1 anything else.
mod events;
mod hosts;
mod inventory;
mod output;
mod resolve;
mod session;
mod settings;
mod sso;
mod tasks;
mod vms;

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ferrocenter_client::{ClientError, ErrorCode};

pub use events::{event, EventCommand};
pub use hosts::{host, HostCommand};
pub use inventory::{cluster, datacenter, ClusterCommand, DatacenterCommand};
pub use session::{login, logout};
pub use sso::{sso, SsoCommand};
pub use tasks::{task, TaskCommand};
pub use vms::{vm, VmCommand};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    #[default]
    Table,
    Json,
}

/// Options every client command takes.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The server: `https://host:port/sdk`, `host:port`, `host`, an IP address.
    #[arg(long, env = "FERROCENTER_SERVER", global = true)]
    pub server: Option<String>,
    /// User name for `login` (the password comes from FERROCENTER_PASSWORD, the config file or
    /// a prompt).
    #[arg(long, env = "FERROCENTER_USER", global = true)]
    pub user: Option<String>,
    /// Pin the server certificate's SHA-256 thumbprint.
    #[arg(long, global = true)]
    pub thumbprint: Option<String>,
    /// Skip certificate verification; only together with --thumbprint.
    #[arg(long, global = true, requires = "thumbprint")]
    pub no_verify: bool,
    /// CA certificates (PEM) to verify the server with.
    #[arg(long, global = true)]
    pub ca_file: Option<PathBuf>,
    /// A directory of CA certificate files.
    #[arg(long, global = true)]
    pub ca_dir: Option<PathBuf>,
    /// table or json.
    #[arg(long, value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
    /// Where the config and session files live [default: $XDG_CONFIG_HOME/ferrocenter or
    /// ~/.config/ferrocenter].
    #[arg(long, env = "FERROCENTER_CONFIG_DIR", global = true)]
    pub config_dir: Option<PathBuf>,
    /// Start the task and print its id instead of waiting for it (`task wait` waits later).
    #[arg(long, global = true)]
    pub no_wait: bool,
}

/// A CLI failure with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
    /// Set where the operator can do something about it; `run` adds what.
    pub cause: Option<Cause>,
}

/// Failures with a known remedy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The TLS handshake with the server itself refused its certificate; the thumbprint of the
    /// one it presented, when the handshake got that far.
    ServerCertificate { presented: Option<String> },
    /// The server no longer knows the kept session (expired, or ended elsewhere).
    SessionEnded,
}

/// Runs one client command; a failure with a known remedy says what to do.
pub async fn run(
    command: impl std::future::Future<Output = Result<(), CliError>>,
) -> Result<(), CliError> {
    let Err(mut e) = command.await else {
        return Ok(());
    };
    match e.cause.take() {
        Some(Cause::ServerCertificate { presented: Some(t) }) => {
            e.message = format!(
                "{}\nThe server presented a certificate with SHA-256 thumbprint {t}. If it \
                 is the one `ferrocenter serve` printed, pass --thumbprint {t} (with \
                 --no-verify when no CA you trust signed it), or --ca-file with the CA \
                 certificate that signed it.",
                e.message
            );
        }
        Some(Cause::SessionEnded) => {
            e.message = format!(
                "{}: the kept session has expired or was ended; run `ferrocenter login` again",
                e.message
            );
        }
        Some(Cause::ServerCertificate { presented: None }) | None => {}
    }
    Err(e)
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        let code = match e.code {
            ErrorCode::HostNotReachable | ErrorCode::SslSecurity | ErrorCode::InvalidLogin => 3,
            ErrorCode::InvalidArgument => 2,
            ErrorCode::TaskFailed
            | ErrorCode::InvalidState
            | ErrorCode::NotFound
            | ErrorCode::NoPermission
            | ErrorCode::NotSupported
            | ErrorCode::Server => 4,
        };
        let mut message = e.to_string();
        if let Some(f) = e.fault.as_deref() {
            if !message.contains(f) {
                message = format!("{message} ({f})");
            }
        }
        // A fault is the server speaking (an SSLVerifyFault names a host's certificate, not the
        // server's); without one the refusal came from this client's own handshake.
        let cause = match (e.code, e.fault.as_deref()) {
            (ErrorCode::SslSecurity, None) => Some(Cause::ServerCertificate {
                presented: e
                    .detail
                    .as_ref()
                    .and_then(|d| d["thumbprint"].as_str())
                    .map(String::from),
            }),
            (_, Some("NotAuthenticated" | "UNAUTHENTICATED")) => Some(Cause::SessionEnded),
            _ => None,
        };
        CliError {
            code,
            message,
            cause,
        }
    }
}

/// A usage error (exit 2).
pub(crate) fn usage(message: impl Into<String>) -> CliError {
    CliError {
        code: 2,
        message: message.into(),
        cause: None,
    }
}

/// The server refused or could not do what was asked (exit 4).
pub(crate) fn refused(message: impl Into<String>) -> CliError {
    CliError {
        code: 4,
        message: message.into(),
        cause: None,
    }
}
