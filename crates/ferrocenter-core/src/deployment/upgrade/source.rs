//! The source's side of an upgrade: what it says of itself to the server taking it over
//! (its export is `export`).
use crate::auth::{Caller, Privilege};
use crate::inventory::model::HostFilter;
use crate::ports::SourceAbout;
use crate::recovery::manifest;
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
        })
    }
}
