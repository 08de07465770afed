//! `login` and `logout`, and the session file the other commands pick up.
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use ferrocenter_client::{ConnectOptions, Connection, Credentials, HostType, TlsSettings};
use serde_json::{json, Value};

use super::settings::Settings;
use super::{usage, CliError, ClientArgs};

const TIMEOUT: Duration = Duration::from_secs(60);

/// The password: FERROCENTER_PASSWORD, else the config file's, else a prompt on the terminal
/// (not echoed), else a line of standard input.
fn password(settings: &Settings) -> Result<String, CliError> {
    if let Ok(p) = std::env::var("FERROCENTER_PASSWORD") {
        return Ok(p);
    }
    if let Some(p) = &settings.password {
        return Ok(p.clone());
    }
    prompt_secret("Password: ")
}

/// Asks for a secret on the terminal without echo, or reads one line of a non-terminal stdin.
pub(crate) fn prompt_secret(prompt: &str) -> Result<String, CliError> {
    let stdin = std::io::stdin();
    let read_error = |e: std::io::Error| usage(format!("cannot read the password: {e}"));
    if stdin.is_terminal() {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let p = read_hidden().map_err(read_error)?;
        eprintln!();
        return Ok(p);
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).map_err(read_error)?;
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

fn session_file(settings: &Settings) -> PathBuf {
    settings.config_dir.join("session.json")
}

/// A path as absolute, so a kept session works from any directory.
fn absolute(p: Option<&std::path::Path>) -> Result<Option<PathBuf>, CliError> {
    p.map(std::path::absolute)
        .transpose()
        .map_err(|e| usage(format!("cannot make the CA path absolute: {e}")))
}

/// What `login` keeps between commands. The file is the user's alone (0600).
fn save_session(settings: &Settings, server: &str, c: &Connection) -> Result<PathBuf, CliError> {
    let dir = &settings.config_dir;
    std::fs::create_dir_all(dir).map_err(|e| usage(format!("{}: {e}", dir.display())))?;
    let path = session_file(settings);
    let tls = &settings.tls;
    let body = json!({
        "server": server,
        "session": c.session_token(),
        "thumbprint": tls.thumbprint,
        "no_verify": !tls.enable_ssl_certificate_check,
        "ca_file": absolute(tls.ssl_certificate_file.as_deref())?,
        "ca_dir": absolute(tls.ssl_certificate_directory.as_deref())?,
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
pub(crate) fn resume(args: &ClientArgs) -> Result<Connection, CliError> {
    let settings = Settings::load(args)?;
    let path = session_file(&settings);
    let text = std::fs::read_to_string(&path).map_err(|_| CliError {
        code: 3,
        message: "not logged in: run `ferrocenter login` first".into(),
        cause: None,
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
        TIMEOUT,
    )?)
}

pub async fn login(args: &ClientArgs) -> Result<(), CliError> {
    let settings = Settings::load(args)?;
    let server = settings.server.clone().ok_or_else(|| {
        usage("--server (or FERROCENTER_SERVER, or server in the config file) is required")
    })?;
    let user = settings.user.clone().ok_or_else(|| {
        usage("--user (or FERROCENTER_USER, or user in the config file) is required")
    })?;
    // Settings are checked before a prompt asks for a password they would not use.
    settings.tls.client_config()?;
    let password = password(&settings)?;
    let c = Connection::connect(ConnectOptions {
        host: server.clone(),
        host_type: HostType::ManagementServer,
        credentials: Some(Credentials::Password { user, password }),
        tls: settings.tls.clone(),
        timeout: TIMEOUT,
    })
    .await?;
    let path = save_session(&settings, &server, &c)?;
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
    let _ = std::fs::remove_file(session_file(&Settings::load(args)?));
    r.map_err(CliError::from)
}
