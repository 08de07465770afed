//! The source's side of an upgrade: what it says of itself to the server taking it over
//! (its export is `export`).
use tracing::warn;

use crate::auth::{Caller, Privilege};
use crate::history_import::tables as history_tables;
use crate::inventory::model::HostFilter;
use crate::ports::{SourceAbout, SourceData, SourceDisk};
use crate::recovery::{self, manifest, PartId};
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
            vms: self.store.count_vms().await?,
            data: self.source_data().await?,
            disk: self.source_disk().await,
        })
    }

    /// This server's data by what an upgrade takes of it: the `common` part, and the `seat`
    /// part's tables split as the history import splits them (statistics or not).
    async fn source_data(&self) -> Result<SourceData, CoreError> {
        let mut data = SourceData::default();
        let common = recovery::parts::tables_of(&[PartId::Common]);
        for t in self.store.table_sizes(&common).await? {
            data.core_bytes += recovery::archived_bytes(&t);
        }
        let seat = recovery::parts::tables_of(&[PartId::Seat]);
        for t in self.store.table_sizes(&seat).await? {
            if history_tables::rule_of(&t.table).is_some_and(|r| r.statistics) {
                data.statistics_bytes += recovery::archived_bytes(&t);
            } else {
                data.events_tasks_bytes += recovery::archived_bytes(&t);
            }
        }
        Ok(data)
    }

    /// The filesystem the export is written on; `None` (logged) when it cannot be read, which
    /// only leaves the target's check without the source's disk.
    async fn source_disk(&self) -> Option<SourceDisk> {
        let dir = &self.config.recovery.work_dir;
        match self.machine.probe.space_at(dir).await {
            Ok(fs) => Some(SourceDisk {
                mount_point: fs.mount,
                size_bytes: fs.total_bytes,
                used_bytes: fs.used_bytes,
                free_bytes: fs.available_bytes,
            }),
            Err(e) => {
                warn!(dir = %dir.display(), error = %e, "cannot read the work directory's filesystem");
                None
            }
        }
    }
}
