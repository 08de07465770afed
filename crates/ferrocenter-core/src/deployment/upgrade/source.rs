//! The source's side of an upgrade: what it says of itself to the server taking it over.
use tracing::{info, warn};

use crate::auth::{Caller, Privilege};
use crate::inventory::model::HostFilter;
use crate::ports::{ExportFile, SourceAbout, SourceExport};
use crate::recovery::{manifest, write_archive, BackupSpec, PartId};
use crate::{Core, CoreError};

impl Core {
    /// `com.ferrocenter.deployment.export.source`: this server's version, schema, state, SSO
    /// domain and size, for a server that would take it over (superAdmin only: the same
    /// caller then exports everything).
    pub async fn upgrade_source_about(&self, caller: &Caller) -> Result<SourceAbout, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        Ok(SourceAbout {
            version: manifest::this_version().to_string(),
            schema_version: self.store.schema_version().await?,
            state: self.deployment_state().as_str().to_string(),
            sso_domain_name: self.auth.sso_domain(),
            system_name: self.config.recovery.system_name.clone(),
            server_uuid: self.server_uuid().await?,
            hosts: self.store.count_hosts(&HostFilter::default()).await?,
            vms: self.store.list_vms(None).await?.len() as u64,
        })
    }
}

/// A source's export for an upgrade, until it is deleted (or the process stops: the
/// directory is under the backup staging, which the next start clears).
pub(crate) struct ExportEntry {
    dir: std::path::PathBuf,
    token: String,
    files: Vec<ExportFile>,
}

/// The shortest backup password an export takes: the target generates a long random one.
const MIN_EXPORT_PASSWORD: usize = 16;

/// An export's file, opened for download.
pub struct ExportDownload {
    pub file: tokio::fs::File,
    pub size: u64,
}

impl Core {
    /// `com.ferrocenter.deployment.export.create`: writes a backup archive of this server
    /// (`common`, with `seat` when `history`) into a directory of its own, encrypted under
    /// `password`, through the backup machinery (one store snapshot; no backup or restore
    /// runs meanwhile). The upgrade's target downloads it file by file over its pinned
    /// connection, then deletes it.
    pub async fn upgrade_export_create(
        &self,
        caller: &Caller,
        password: &str,
        history: bool,
    ) -> Result<SourceExport, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        if !self.is_configured() {
            return Err(CoreError::invalid_state(
                "only a set-up server can be an upgrade's source",
            ));
        }
        if password.chars().count() < MIN_EXPORT_PASSWORD {
            return Err(CoreError::invalid(
                "spec.password",
                format!("must be at least {MIN_EXPORT_PASSWORD} characters"),
            ));
        }
        let _one = self.recovery.claim("upgrade export")?;
        let id = crate::model::new_uuid();
        let dir = crate::recovery::backup_job::staging_dir(
            &self.config.recovery.work_dir,
            &format!("upgrade-export-{id}"),
        );
        let mut parts = vec![PartId::Common];
        if history {
            parts.push(PartId::Seat);
        }
        let spec = BackupSpec {
            parts,
            password: Some(password),
            comment: "export for an upgrade".into(),
            system_name: self.config.recovery.system_name.clone(),
        };
        let written = write_archive(
            self.store.as_ref(),
            &self.config.secret_key,
            &dir,
            &spec,
            self.clock.now(),
        )
        .await;
        let m = match written {
            Ok(m) => m,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e.into());
            }
        };
        let mut files: Vec<ExportFile> = m
            .parts
            .iter()
            .map(|p| ExportFile {
                name: p.file.clone(),
                bytes: p.bytes,
            })
            .collect();
        let manifest_bytes = std::fs::metadata(dir.join(manifest::MANIFEST_FILE))
            .map(|m| m.len())
            .unwrap_or(0);
        files.push(ExportFile {
            name: manifest::MANIFEST_FILE.into(),
            bytes: manifest_bytes,
        });
        let token = format!("{}{}", crate::model::new_uuid(), crate::model::new_uuid());
        self.deployment.upgrade.exports.lock().insert(
            id.clone(),
            ExportEntry {
                dir,
                token: token.clone(),
                files: files.clone(),
            },
        );
        info!(export = %id, by = %caller.user, history, "exported this server for an upgrade");
        Ok(SourceExport {
            export: id,
            token,
            files,
        })
    }

    /// Serves one file of an export to whoever holds its token (the download route).
    pub async fn upgrade_export_file(
        &self,
        token: &str,
        name: &str,
    ) -> Result<ExportDownload, CoreError> {
        let gone = || CoreError::not_found("export file", name);
        let path = {
            let exports = self.deployment.upgrade.exports.lock();
            let e = exports
                .values()
                .find(|e| !token.is_empty() && e.token == token)
                .ok_or_else(gone)?;
            if !e.files.iter().any(|f| f.name == name) {
                return Err(gone());
            }
            e.dir.join(name)
        };
        let file = tokio::fs::File::open(&path).await.map_err(|_| gone())?;
        let size = file.metadata().await.map_err(|_| gone())?.len();
        Ok(ExportDownload { file, size })
    }

    /// `com.ferrocenter.deployment.export.delete`: removes an export and its files.
    pub async fn upgrade_export_delete(&self, caller: &Caller, id: &str) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let e = self
            .deployment
            .upgrade
            .exports
            .lock()
            .remove(id)
            .ok_or_else(|| CoreError::not_found("export", id))?;
        if let Err(err) = std::fs::remove_dir_all(&e.dir) {
            if err.kind() != std::io::ErrorKind::NotFound {
                warn!(dir = %e.dir.display(), error = %err, "could not remove an upgrade export");
            }
        }
        info!(export = %id, "upgrade export removed");
        Ok(())
    }
}
