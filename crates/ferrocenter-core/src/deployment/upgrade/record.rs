//! The upgrade's spec in the store, beside the deployment's record (passwords never kept).
use crate::{Core, CoreError};

use super::spec::UpgradeSpec;

const SPEC_KEY: &str = "deployment.upgrade.spec";

pub(super) async fn save_spec(core: &Core, spec: &UpgradeSpec) -> Result<(), CoreError> {
    let json = serde_json::to_string(spec)
        .map_err(|e| CoreError::internal(format!("upgrade spec record: {e}")))?;
    Ok(core.store.put_setting(SPEC_KEY, &json).await?)
}

pub(super) async fn load_spec(core: &Core) -> Result<Option<UpgradeSpec>, CoreError> {
    match core.store.get_setting(SPEC_KEY).await? {
        None => Ok(None),
        Some(json) => serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| CoreError::internal(format!("the upgrade spec record: {e}"))),
    }
}
