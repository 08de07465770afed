//! The machine side of a setup by API (`ports::SetupHost`): the server certificate in
//! `DATA/tls` and the data dir's record of its store (`store_identity`).
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

use ferrocenter_api::TlsReload;
use ferrocenter_core::ports::{SetupHost, SetupHostError};

use crate::store_identity::{self, StoreIdentity};
use crate::tls;

pub struct DataDirSetup {
    pub data_dir: PathBuf,
    /// The listeners' addresses, which a new certificate names.
    pub listening: Vec<IpAddr>,
    pub engine: String,
    /// The database URL without its password.
    pub database: String,
    /// Set once the listeners serve: a new certificate is loaded into them through it.
    pub reload: OnceLock<TlsReload>,
}

fn fail(e: impl std::fmt::Display) -> SetupHostError {
    SetupHostError(e.to_string())
}

impl DataDirSetup {
    fn tls_dir(&self) -> PathBuf {
        self.data_dir.join("tls")
    }
}

impl SetupHost for DataDirSetup {
    fn host_name(&self) -> Option<String> {
        tls::host_name()
    }

    fn certificate_names(&self) -> Result<Vec<String>, SetupHostError> {
        let pem = std::fs::read(tls::cert_path(&self.tls_dir())).map_err(fail)?;
        let (_, block) = x509_parser::pem::parse_x509_pem(&pem).map_err(fail)?;
        let cert = block.parse_x509().map_err(fail)?;
        let mut names = vec![];
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for n in &san.value.general_names {
                match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => names.push(d.to_string()),
                    x509_parser::extensions::GeneralName::IPAddress(ip) => {
                        let ip = match ip.len() {
                            4 => <[u8; 4]>::try_from(*ip).ok().map(IpAddr::from),
                            16 => <[u8; 16]>::try_from(*ip).ok().map(IpAddr::from),
                            _ => None,
                        };
                        names.extend(ip.map(|i| i.to_string()));
                    }
                    _ => {}
                }
            }
        }
        Ok(names)
    }

    fn regenerate_certificate(&self) -> Result<String, SetupHostError> {
        let identity = tls::regenerate(&self.tls_dir(), &self.listening).map_err(fail)?;
        if let Some(r) = self.reload.get() {
            let read = |p: &PathBuf| std::fs::read(p).map_err(fail);
            r.reload(&read(&identity.cert_pem)?, &read(&identity.key_pem)?)
                .map_err(fail)?;
        }
        // The start banner printed the old thumbprint: say the new one where it was read.
        tracing::info!(thumbprint = %identity.thumbprint, "the server certificate was regenerated and loaded");
        println!(
            "ferrocenter: the server certificate was regenerated; its SHA-256 thumbprint is now {}",
            identity.thumbprint
        );
        Ok(identity.thumbprint)
    }

    fn record_store_identity(&self, server_uuid: &str) -> Result<(), SetupHostError> {
        store_identity::write(
            &self.data_dir,
            &StoreIdentity {
                server_uuid: server_uuid.to_string(),
                engine: self.engine.clone(),
                database: self.database.clone(),
                initialised_at: time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            },
        )
        .map_err(fail)
    }

    fn forget_store_identity(&self) -> Result<(), SetupHostError> {
        match std::fs::remove_file(store_identity::path(&self.data_dir)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(fail(e)),
        }
    }
}
