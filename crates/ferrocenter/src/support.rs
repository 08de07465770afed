//! What support bundles read outside the core (`ports::SupportSources`): the server's JSON log
//! files in DATA/logs and its configuration as given (command line, environment, file); and
//! the `support_bundle_*` settings. Only these are read: the data dir's secret.key, TLS key and
//! store identity never are.
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_core::appliance::support_bundle::SupportBundleConfig;
use ferrocenter_core::ports::{ConfigSource, SourceError, SupportSources};

use crate::config::{invalid, ConfigError};

/// The log files' directory under the data dir (`logging::init` writes there).
pub const LOGS_DIR: &str = "logs";
/// The default partition's directory under the data dir.
pub const BUNDLES_DIR: &str = "support-bundles";

/// The settings as given, before they are checked.
pub struct Given {
    pub max_bytes: u64,
    pub url_lifetime_secs: u64,
    pub retention_secs: u64,
    /// `NAME=DIR` entries.
    pub partitions: Vec<String>,
}

/// Checks the `support_bundle_*` settings, naming the key that is wrong.
pub fn resolve(data_dir: &Path, g: Given) -> Result<SupportBundleConfig, ConfigError> {
    if g.max_bytes < 1024 {
        return Err(invalid(
            "support_bundle_max_bytes",
            format!("{} is below 1024", g.max_bytes),
        ));
    }
    let span = |key, v: u64| {
        if (1..=366 * 86_400).contains(&v) {
            Ok(Duration::from_secs(v))
        } else {
            Err(invalid(key, format!("{v} is outside 1..=31622400")))
        }
    };
    let url_lifetime = span("support_bundle_url_lifetime_secs", g.url_lifetime_secs)?;
    let retention = span("support_bundle_retention_secs", g.retention_secs)?;
    let mut partitions = vec![("data".to_string(), data_dir.join(BUNDLES_DIR))];
    for entry in g
        .partitions
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
    {
        let key = "support_bundle_partitions";
        let (name, dir) = entry
            .split_once('=')
            .ok_or_else(|| invalid(key, format!("'{entry}' is not NAME=DIR")))?;
        let name = name.trim();
        let ok_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok_name {
            return Err(invalid(
                key,
                format!("'{name}': a name is letters, digits, '-' and '_'"),
            ));
        }
        if partitions.iter().any(|(n, _)| n == name) {
            return Err(invalid(key, format!("partition '{name}' is named twice")));
        }
        let dir = PathBuf::from(dir.trim());
        if !dir.is_absolute() {
            return Err(invalid(
                key,
                format!("'{}' of '{name}' is not an absolute path", dir.display()),
            ));
        }
        partitions.push((name.to_string(), dir));
    }
    Ok(SupportBundleConfig {
        partitions,
        max_bytes: g.max_bytes,
        url_lifetime,
        retention,
        sweep_every: retention.min(Duration::from_secs(60)),
    })
}

/// The server's sources.
pub struct ServerSources {
    pub logs_dir: PathBuf,
    pub given: serde_json::Value,
    pub config_file: Option<PathBuf>,
}

fn fail(what: &str, e: impl std::fmt::Display) -> SourceError {
    SourceError(format!("{what}: {e}"))
}

#[async_trait]
impl SupportSources for ServerSources {
    async fn log_files(&self) -> Result<Vec<String>, SourceError> {
        let mut rd = match tokio::fs::read_dir(&self.logs_dir).await {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(fail(&self.logs_dir.display().to_string(), e)),
        };
        let mut names = Vec::new();
        while let Some(e) = rd
            .next_entry()
            .await
            .map_err(|e| fail(&self.logs_dir.display().to_string(), e))?
        {
            let is_file = e.file_type().await.is_ok_and(|t| t.is_file());
            let name = e.file_name().to_string_lossy().into_owned();
            if is_file && name.starts_with("ferrocenter.log") {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    async fn read_log(&self, name: &str) -> Result<Vec<u8>, SourceError> {
        if name.contains('/') || name.starts_with('.') || !name.starts_with("ferrocenter.log") {
            return Err(SourceError(format!("'{name}' is not a log file")));
        }
        tokio::fs::read(self.logs_dir.join(name))
            .await
            .map_err(|e| fail(name, e))
    }

    async fn configuration(&self) -> Result<Vec<ConfigSource>, SourceError> {
        let mut out = vec![ConfigSource {
            name: "command-line-and-environment".into(),
            values: self.given.clone(),
        }];
        if let Some(path) = &self.config_file {
            let text = tokio::fs::read_to_string(path)
                .await
                .map_err(|e| fail(&path.display().to_string(), e))?;
            // A file that no longer parses is reported, not copied: its text could hold a
            // secret that key-based redaction cannot find in it.
            let values = match toml::from_str::<toml::Value>(&text) {
                Ok(v) => serde_json::to_value(v).unwrap_or_default(),
                Err(e) => serde_json::json!({ "unreadable": e.message() }),
            };
            out.push(ConfigSource {
                name: "file".into(),
                values: serde_json::json!({ "path": path.display().to_string(), "values": values }),
            });
        }
        Ok(out)
    }
}
