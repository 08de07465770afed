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
    SourceAbout, SourceAddress, SourceExport, SourceSession, UpgradeSourceError, UpgradeSources,
    EXPORT_DOWNLOAD_PATH,
};
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
        // An export of a large inventory is written before its call answers.
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

    async fn export_create(
        &self,
        password: &str,
        history: bool,
    ) -> Result<SourceExport, UpgradeSourceError> {
        let v = self
            .c
            .api(
                "POST",
                "/ferrocenter/deployment/export",
                Some(json!({"spec": {"password": password, "history": history}})),
            )
            .await
            .map_err(source_error)?;
        serde_json::from_value(v)
            .map_err(|e| UpgradeSourceError::Refused(format!("its export answer: {e}")))
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
            .api(
                "DELETE",
                &format!("/ferrocenter/deployment/export/{export}"),
                None,
            )
            .await
            .map(|_| ())
            .map_err(source_error)
    }
}
