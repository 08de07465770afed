//! What a support bundle needs from outside the core (`appliance::support_bundle`): the
//! server's own log files and its configuration as it was given. The server reads them where
//! it keeps them; the core decides what goes into a bundle and redacts it.
use async_trait::async_trait;

/// One source of configuration (the command line and environment, or the configuration
/// file), as a tree of keys: the core redacts it by key before it goes into a bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigSource {
    /// What it is, e.g. `command-line-and-environment` or `file`.
    pub name: String,
    pub values: serde_json::Value,
}

/// Why a source could not be read; the text names what and why, never its content.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

#[async_trait]
pub trait SupportSources: Send + Sync {
    /// The names of the server's log files (JSON lines), oldest first.
    async fn log_files(&self) -> Result<Vec<String>, SourceError>;
    /// One log file's content, by a name `log_files` gave.
    async fn read_log(&self, name: &str) -> Result<Vec<u8>, SourceError>;
    /// The configuration as given, each source as a tree.
    async fn configuration(&self) -> Result<Vec<ConfigSource>, SourceError>;
}

/// No sources: a core without a server around it (tests, tools) bundles no logs and no
/// configuration.
pub struct NoSupportSources;

#[async_trait]
impl SupportSources for NoSupportSources {
    async fn log_files(&self) -> Result<Vec<String>, SourceError> {
        Ok(Vec::new())
    }

    async fn read_log(&self, name: &str) -> Result<Vec<u8>, SourceError> {
        Err(SourceError(format!("no log file '{name}'")))
    }

    async fn configuration(&self) -> Result<Vec<ConfigSource>, SourceError> {
        Ok(Vec::new())
    }
}
