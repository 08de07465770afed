//! Where a client command's settings come from: flags and environment (clap), then the config
//! file `<config dir>/config`, in VMware's `key = "value"` form:
//!
//! ```text
//! server = "vc.example.com"
//! user = "administrator@vsphere.local"
//! password = "…"                       # only in a file nobody else can read (0600)
//! thumbprint = "AB:CD:…"
//! vix.enableSslCertificateCheck = "TRUE"
//! vix.sslCertificateFile = "/etc/ssl/corp-ca.pem"
//! vix.sslCertificateDirectory = "/etc/ssl/corp-cas"
//! ```
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use ferrocenter_client::TlsSettings;

use super::{usage, CliError, ClientArgs};

/// The keys `TlsSettings::from_config` reads.
const TLS_KEYS: [&str; 3] = [
    "enableSslCertificateCheck",
    "sslCertificateFile",
    "sslCertificateDirectory",
];

/// The config file's contents.
#[derive(Default)]
pub struct ConfigFile {
    pub server: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub thumbprint: Option<String>,
    pub tls: TlsSettings,
}

impl ConfigFile {
    /// Parses a config file's text; `path` is for messages. Unknown keys are refused by name
    /// (a misspelt key would otherwise be silently ignored).
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, CliError> {
        let bad =
            |line: usize, why: String| usage(format!("{} line {line}: {why}", path.display()));
        let mut f = ConfigFile {
            tls: TlsSettings::from_config(text)
                .map_err(|e| usage(format!("{}: {}", path.display(), e.message)))?,
            ..Default::default()
        };
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(bad(n + 1, "not 'key = value'".into()));
            };
            let key = k.trim().trim_start_matches("vix.");
            let value = Some(v.trim().trim_matches('"').to_string());
            match key {
                "server" => f.server = value,
                "user" => f.user = value,
                "password" => f.password = value,
                "thumbprint" => f.thumbprint = value,
                k if TLS_KEYS.contains(&k) => {}
                other => {
                    return Err(bad(
                        n + 1,
                        format!(
                            "unknown key '{other}' (known: server, user, password, thumbprint, {})",
                            TLS_KEYS.join(", ")
                        ),
                    ))
                }
            }
        }
        Ok(f)
    }
}

/// The settings a command runs with.
pub struct Settings {
    pub config_dir: PathBuf,
    pub server: Option<String>,
    pub user: Option<String>,
    /// From the config file; the environment's FERROCENTER_PASSWORD comes first.
    pub password: Option<String>,
    pub tls: TlsSettings,
}

impl Settings {
    pub fn load(args: &ClientArgs) -> Result<Settings, CliError> {
        let config_dir = config_dir(args)?;
        let path = config_dir.join("config");
        let file = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let f = ConfigFile::parse(&text, &path)?;
                if f.password.is_some() {
                    let mode = std::fs::metadata(&path)
                        .map(|m| m.permissions().mode() & 0o777)
                        .unwrap_or(0);
                    if mode & 0o077 != 0 {
                        return Err(usage(format!(
                            "{} holds a password but others may read it (mode {mode:04o}); \
                             run chmod 600 on it",
                            path.display()
                        )));
                    }
                }
                f
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ConfigFile::default(),
            Err(e) => return Err(usage(format!("{}: {e}", path.display()))),
        };
        let tls = TlsSettings {
            enable_ssl_certificate_check: !args.no_verify && file.tls.enable_ssl_certificate_check,
            ssl_certificate_file: args.ca_file.clone().or(file.tls.ssl_certificate_file),
            ssl_certificate_directory: args.ca_dir.clone().or(file.tls.ssl_certificate_directory),
            thumbprint: args.thumbprint.clone().or(file.thumbprint),
        };
        Ok(Settings {
            config_dir,
            server: args.server.clone().or(file.server),
            user: args.user.clone().or(file.user),
            password: file.password,
            tls,
        })
    }
}

fn config_dir(args: &ClientArgs) -> Result<PathBuf, CliError> {
    if let Some(d) = &args.config_dir {
        return Ok(d.clone());
    }
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(x).join("ferrocenter"));
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".config").join("ferrocenter"))
        .ok_or_else(|| usage("no config dir: set --config-dir or HOME"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_files_name_what_is_wrong() {
        let p = Path::new("/home/op/.config/ferrocenter/config");
        let f = ConfigFile::parse(
            "# mine\nserver = \"vc:8443\"\nuser = admin\npassword = \"s3cret\"\nvix.sslCertificateFile = \"/ca.pem\"\n",
            p,
        )
        .unwrap();
        assert_eq!(f.server.as_deref(), Some("vc:8443"));
        assert_eq!(f.user.as_deref(), Some("admin"));
        assert_eq!(f.password.as_deref(), Some("s3cret"));
        assert_eq!(
            f.tls.ssl_certificate_file.as_deref(),
            Some(Path::new("/ca.pem"))
        );
        let e = ConfigFile::parse("servr = vc\n", p).err().unwrap();
        assert_eq!(e.code, 2);
        assert!(
            e.message.contains("line 1") && e.message.contains("'servr'"),
            "{}",
            e.message
        );
        let e = ConfigFile::parse("just words\n", p).err().unwrap();
        assert!(e.message.contains("not 'key = value'"), "{}", e.message);
        let e = ConfigFile::parse("enableSslCertificateCheck = perhaps\n", p)
            .err()
            .unwrap();
        assert!(
            e.message.contains("enableSslCertificateCheck"),
            "{}",
            e.message
        );
    }
}
