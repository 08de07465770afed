//! The HTTPS client that reaches an upgrade's source (`ports::UpgradeSources`): the client
//! library's connection with the source's certificate pinned by the thumbprint the operator
//! gave (no CA check, no trust on first use), a VI/JSON login as the SSO administrator, and
//! the same session on the source's `/api` for ferrocenter's own export operations.
use async_trait::async_trait;
use ferrocenter_client::{
    ClientError, ConnectOptions, Connection, Credentials, ErrorCode, TlsSettings,
};
use std::io::Write;

use ferrocenter_core::ports::{
    ExportFile, SourceAbout, SourceAddress, SourceExport, SourceSession, UpgradeSourceError,
    UpgradeSources, EXPORT_DOWNLOAD_PATH,
};
use serde::Deserialize;
use serde_json::json;

pub struct ClientSources;

/// The path of the source's self-description.
const SOURCE_PATH: &str = "/ferrocenter/deployment/export/source";

fn source_error(e: ClientError) -> UpgradeSourceError {
    match e.code {
        ErrorCode::SslSecurity => UpgradeSourceError::Thumbprint {
            seen: e
                .detail
                .as_ref()
                .and_then(|d| d.get("thumbprint"))
                .and_then(|t| t.as_str())
                .map(String::from),
        },
        ErrorCode::HostNotReachable => UpgradeSourceError::Unreachable(e.message),
        ErrorCode::InvalidLogin => UpgradeSourceError::Login(e.message),
        _ => UpgradeSourceError::Refused(e.to_string()),
    }
}

#[async_trait]
impl UpgradeSources for ClientSources {
    async fn open(
        &self,
        at: &SourceAddress,
        user: &str,
        password: &str,
    ) -> Result<Box<dyn SourceSession>, UpgradeSourceError> {
        let host = if at.hostname.contains(':') {
            format!("[{}]:{}", at.hostname, at.port)
        } else {
            format!("{}:{}", at.hostname, at.port)
        };
        let mut opts = ConnectOptions::new(
            host,
            Credentials::Password {
                user: user.to_string(),
                password: password.to_string(),
            },
        );
        opts.tls = TlsSettings {
            enable_ssl_certificate_check: false,
            thumbprint: Some(at.thumbprint.clone()),
            ..TlsSettings::default()
        };
        // One request downloads a whole file of the export, which is large for a large store.
        opts.timeout = std::time::Duration::from_secs(600);
        let c = Connection::connect(opts).await.map_err(source_error)?;
        Ok(Box::new(ClientSession { c }))
    }
}

struct ClientSession {
    c: Connection,
}

#[async_trait]
impl SourceSession for ClientSession {
    async fn about(&self) -> Result<SourceAbout, UpgradeSourceError> {
        let v = self
            .c
            .api("GET", SOURCE_PATH, None)
            .await
            .map_err(source_error)?;
        serde_json::from_value(v).map_err(|e| {
            UpgradeSourceError::Refused(format!(
                "its answer to {SOURCE_PATH} is not a ferrocenter source's ({e}): is it a \
                 ferrocenter server?"
            ))
        })
    }

    /// Starts the export, then polls it until it is written: no request stays open while
    /// the source writes a large store.
    async fn export_create(
        &self,
        password: &str,
        history: bool,
    ) -> Result<SourceExport, UpgradeSourceError> {
        let v = self
            .c
            .api(
                "POST",
                EXPORT_PATH,
                Some(json!({"spec": {"password": password, "history": history}})),
            )
            .await
            .map_err(source_error)?;
        let started: Started = serde_json::from_value(v)
            .map_err(|e| UpgradeSourceError::Refused(format!("its export answer: {e}")))?;
        let id = started.export;
        // A source from before exports were jobs answers once its export is written.
        if let (None, Some(files)) = (started.state, started.files) {
            return Ok(SourceExport {
                export: id,
                token: started.token,
                files,
            });
        }
        let waited = self.wait_export(&id).await;
        match waited {
            Ok(files) => Ok(SourceExport {
                export: id,
                token: started.token,
                files,
            }),
            Err(e) => {
                // Best effort: the source sweeps what is not deleted anyway.
                let _ = self.export_delete(&id).await;
                Err(e)
            }
        }
    }

    async fn download(
        &self,
        export: &SourceExport,
        file: &str,
        dest: &std::path::Path,
    ) -> Result<u64, UpgradeSourceError> {
        let io = |e: std::io::Error| {
            UpgradeSourceError::Refused(format!("cannot write {}: {e}", dest.display()))
        };
        let mut out = std::io::BufWriter::new(std::fs::File::create(dest).map_err(io)?);
        let n = self
            .c
            .download(
                &format!("{EXPORT_DOWNLOAD_PATH}{}/{file}", export.token),
                |chunk| out.write_all(chunk),
            )
            .await
            .map_err(source_error)?;
        out.into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_all()
            .map_err(io)?;
        Ok(n)
    }

    async fn export_delete(&self, export: &str) -> Result<(), UpgradeSourceError> {
        self.c
            .api("DELETE", &format!("{EXPORT_PATH}/{export}"), None)
            .await
            .map(|_| ())
            .map_err(source_error)
    }
}

impl ClientSession {
    /// Polls the source's export until SUCCEEDED (its files) or FAILED, within
    /// `EXPORT_LIMIT`. Each poll also keeps the source from sweeping the export.
    async fn wait_export(&self, id: &str) -> Result<Vec<ExportFile>, UpgradeSourceError> {
        let deadline = tokio::time::Instant::now() + EXPORT_LIMIT;
        // A small store is written in milliseconds: the first polls come quickly, then every
        // EXPORT_POLL.
        let mut pause = std::time::Duration::from_millis(20);
        loop {
            let v = self
                .c
                .api("GET", &format!("{EXPORT_PATH}/{id}"), None)
                .await
                .map_err(source_error)?;
            let info: ExportInfo = serde_json::from_value(v).map_err(|e| {
                UpgradeSourceError::Refused(format!("its answer for the export {id}: {e}"))
            })?;
            match info.state.as_str() {
                "SUCCEEDED" => return Ok(info.files),
                "FAILED" => {
                    return Err(UpgradeSourceError::Refused(format!(
                        "the source's export {id} failed: {}",
                        info.error.as_deref().unwrap_or("(no reason given)")
                    )))
                }
                _ => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(UpgradeSourceError::Refused(format!(
                    "the source's export {id} was not written within {} minutes (at {}%)",
                    EXPORT_LIMIT.as_secs() / 60,
                    info.progress
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(EXPORT_POLL);
        }
    }
}

/// Where the source's exports are (`com.ferrocenter.deployment.export`).
const EXPORT_PATH: &str = "/ferrocenter/deployment/export";
/// How often, at most, the export is polled while the source writes it.
const EXPORT_POLL: std::time::Duration = std::time::Duration::from_millis(500);
/// How long the source may take to write its export.
const EXPORT_LIMIT: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// `export.create`'s answer.
#[derive(Deserialize)]
struct Started {
    export: String,
    token: String,
    state: Option<String>,
    files: Option<Vec<ExportFile>>,
}

/// `export.get`'s answer, the fields the upgrade reads.
#[derive(Deserialize)]
struct ExportInfo {
    state: String,
    #[serde(default)]
    progress: u64,
    #[serde(default)]
    files: Vec<ExportFile>,
    error: Option<String>,
}
