//! The operator's commands (`ferrocenter login`, `datacenter …`, `host …`), built on
//! `ferrocenter-client`. A login keeps its session in a 0600 file under the user's config dir;
//! later commands reuse it. Exit codes: 0 done, 2 usage, 3 connection or login, 4 the server
//! refused the operation or its task failed, 1 anything else.
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use ferrocenter_client::{
    ClientError, ConnectOptions, Connection, Credentials, ErrorCode, HostType, TlsSettings,
};
use serde_json::{json, Value};

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
    /// User name for `login` (the password comes from FERROCENTER_PASSWORD or a prompt).
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
    /// Where the session file lives [default: $XDG_CONFIG_HOME/ferrocenter or ~/.config/ferrocenter].
    #[arg(long, env = "FERROCENTER_CONFIG_DIR", global = true)]
    pub config_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum DatacenterCommand {
    /// List datacenters.
    List,
    /// Create a datacenter.
    Create { name: String },
}

#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// List hosts.
    List,
}

/// A CLI failure with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
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
        CliError {
            code,
            message: e.to_string(),
        }
    }
}

fn usage(message: impl Into<String>) -> CliError {
    CliError {
        code: 2,
        message: message.into(),
    }
}

impl ClientArgs {
    fn config_dir(&self) -> Result<PathBuf, CliError> {
        if let Some(d) = &self.config_dir {
            return Ok(d.clone());
        }
        if let Some(x) = std::env::var_os("XDG_CONFIG_HOME") {
            return Ok(PathBuf::from(x).join("ferrocenter"));
        }
        std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".config").join("ferrocenter"))
            .ok_or_else(|| usage("no config dir: set --config-dir or HOME"))
    }

    fn tls(&self) -> TlsSettings {
        TlsSettings {
            enable_ssl_certificate_check: !self.no_verify,
            ssl_certificate_file: self.ca_file.clone(),
            ssl_certificate_directory: self.ca_dir.clone(),
            thumbprint: self.thumbprint.clone(),
        }
    }
}

/// The password: FERROCENTER_PASSWORD, else a prompt on the terminal (not echoed), else a
/// line of standard input.
fn password() -> Result<String, CliError> {
    if let Ok(p) = std::env::var("FERROCENTER_PASSWORD") {
        return Ok(p);
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password: ");
        let _ = std::io::stderr().flush();
        let p = read_hidden().map_err(|e| usage(format!("cannot read the password: {e}")))?;
        eprintln!();
        return Ok(p);
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| usage(format!("cannot read the password: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Reads a line from the terminal with echo turned off.
fn read_hidden() -> std::io::Result<String> {
    // SAFETY: termios is read, changed and restored on the process's own stdin.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut t) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let saved = t;
        t.c_lflag &= !libc::ECHO;
        libc::tcsetattr(0, libc::TCSANOW, &t);
        let mut line = String::new();
        let r = std::io::stdin().lock().read_line(&mut line);
        libc::tcsetattr(0, libc::TCSANOW, &saved);
        r.map(|_| line.trim_end_matches(['\r', '\n']).to_string())
    }
}

/// What `login` keeps between commands. The file is the user's alone (0600).
fn save_session(args: &ClientArgs, server: &str, c: &Connection) -> Result<PathBuf, CliError> {
    let dir = args.config_dir()?;
    std::fs::create_dir_all(&dir).map_err(|e| usage(format!("{}: {e}", dir.display())))?;
    let path = dir.join("session.json");
    let body = json!({
        "server": server,
        "session": c.session_token(),
        "thumbprint": args.thumbprint,
        "no_verify": args.no_verify,
        "ca_file": args.ca_file,
        "ca_dir": args.ca_dir,
    });
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| usage(format!("{}: {e}", path.display())))?;
    f.write_all(body.to_string().as_bytes())
        .map_err(|e| usage(format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// The saved session, as a connection.
fn resume(args: &ClientArgs) -> Result<Connection, CliError> {
    let path = args.config_dir()?.join("session.json");
    let text = std::fs::read_to_string(&path).map_err(|_| CliError {
        code: 3,
        message: "not logged in: run `ferrocenter login` first".into(),
    })?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    let text_of = |k: &str| v[k].as_str().map(String::from);
    let tls = TlsSettings {
        enable_ssl_certificate_check: !v["no_verify"].as_bool().unwrap_or(false),
        ssl_certificate_file: text_of("ca_file").map(PathBuf::from),
        ssl_certificate_directory: text_of("ca_dir").map(PathBuf::from),
        thumbprint: text_of("thumbprint"),
    };
    let server = text_of("server").unwrap_or_default();
    Ok(Connection::resume(
        &server,
        &tls,
        text_of("session").unwrap_or_default(),
        Duration::from_secs(60),
    )?)
}

fn print(output: Output, rows: &[Value], columns: &[&str]) {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(rows).unwrap_or_default()),
        Output::Table => {
            let cell = |r: &Value, c: &str| match &r[c] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            let widths: Vec<usize> = columns
                .iter()
                .map(|c| {
                    rows.iter()
                        .map(|r| cell(r, c).len())
                        .chain([c.len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |cells: Vec<String>| {
                cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            println!(
                "{}",
                line(columns.iter().map(|c| c.to_ascii_uppercase()).collect())
            );
            for r in rows {
                println!("{}", line(columns.iter().map(|c| cell(r, c)).collect()));
            }
        }
    }
}

pub async fn login(args: &ClientArgs) -> Result<(), CliError> {
    let server = args
        .server
        .clone()
        .ok_or_else(|| usage("--server (or FERROCENTER_SERVER) is required"))?;
    let user = args
        .user
        .clone()
        .ok_or_else(|| usage("--user (or FERROCENTER_USER) is required"))?;
    let password = password()?;
    let c = Connection::connect(ConnectOptions {
        host: server.clone(),
        host_type: HostType::ManagementServer,
        credentials: Some(Credentials::Password { user, password }),
        tls: args.tls(),
        timeout: Duration::from_secs(60),
    })
    .await?;
    let path = save_session(args, &server, &c)?;
    eprintln!(
        "logged in to {}; session kept in {}",
        c.target.url(),
        path.display()
    );
    Ok(())
}

pub async fn logout(args: &ClientArgs) -> Result<(), CliError> {
    let c = resume(args)?;
    let r = c.disconnect().await;
    let _ = std::fs::remove_file(args.config_dir()?.join("session.json"));
    r.map_err(CliError::from)
}

pub async fn datacenter(args: &ClientArgs, cmd: &DatacenterCommand) -> Result<(), CliError> {
    let c = resume(args)?;
    match cmd {
        DatacenterCommand::List => {
            let v = c.api("GET", "/vcenter/datacenter", None).await?;
            print(
                args.output,
                v.as_array().map(Vec::as_slice).unwrap_or(&[]),
                &["datacenter", "name"],
            );
        }
        DatacenterCommand::Create { name } => {
            let id = c
                .api(
                    "POST",
                    "/vcenter/datacenter",
                    Some(json!({"spec": {"name": name}})),
                )
                .await?;
            print(
                args.output,
                &[json!({"datacenter": id, "name": name})],
                &["datacenter", "name"],
            );
        }
    }
    Ok(())
}

pub async fn host(args: &ClientArgs, cmd: &HostCommand) -> Result<(), CliError> {
    let c = resume(args)?;
    match cmd {
        HostCommand::List => {
            let v = c.api("GET", "/vcenter/host", None).await?;
            print(
                args.output,
                v.as_array().map(Vec::as_slice).unwrap_or(&[]),
                &["host", "name", "connection_state", "power_state"],
            );
        }
    }
    Ok(())
}
