//! The deployment's record in the store, and emptying the store for a fresh setup.
use crate::auth::{Realm, ROOT};
use crate::ports::{Cell, StoreError, TableSource};
use crate::{Core, CoreError};

use super::Deployment;

/// The setting holding the deployment (JSON).
const RECORD_KEY: &str = "deployment.record";
/// The setting holding the SSO domain's name a setup chose.
pub(crate) const DOMAIN_KEY: &str = "sso.domain_name";

pub(super) async fn load(core: &Core) -> Result<Option<Deployment>, CoreError> {
    match core.store.get_setting(RECORD_KEY).await? {
        None => Ok(None),
        // Unreadable: the state cannot be determined (`get` answers not_found, table 5-3).
        Some(json) => serde_json::from_str(&json).map(Some).map_err(|e| {
            CoreError::not_found(
                "deployment state",
                format!("this server (its record is unreadable: {e})"),
            )
        }),
    }
}

pub(super) async fn save(core: &Core, d: &Deployment) -> Result<(), CoreError> {
    let json = serde_json::to_string(d)
        .map_err(|e| CoreError::internal(format!("deployment record: {e}")))?;
    Ok(core.store.put_setting(RECORD_KEY, &json).await?)
}

/// No rows: an import of it empties the tables it clears.
struct Nothing;

impl TableSource for Nothing {
    fn next_table(&mut self) -> Result<Option<(String, Vec<String>)>, StoreError> {
        Ok(None)
    }
    fn next_row(&mut self) -> Result<Option<Vec<Cell>>, StoreError> {
        Ok(None)
    }
}

/// Empties every table of the store in one transaction, then puts back the local root (its
/// password is the one the operator started the server with) and this process's server uuid.
pub(super) async fn wipe_store(core: &Core) -> Result<(), CoreError> {
    let root = core.store.find_principal(&Realm::Local, ROOT).await?;
    let tables = core.store.data_tables().await?;
    core.store.import_tables(&tables, &mut Nothing).await?;
    if let Some(root) = root {
        core.store.insert_principal(&root).await?;
    }
    if let Some(uuid) = core.server_uuid.get() {
        core.store.put_setting(crate::SERVER_UUID_KEY, uuid).await?;
    }
    core.auth.reset_sso_domain();
    core.forget_signing_keys();
    Ok(())
}

/// Records the SSO domain's name a setup chose; later starts name the domain so.
pub(super) async fn save_domain(core: &Core, name: &str) -> Result<(), CoreError> {
    core.auth.set_sso_domain(name);
    core.store.put_setting(DOMAIN_KEY, name).await?;
    core.forget_signing_keys();
    Ok(())
}
