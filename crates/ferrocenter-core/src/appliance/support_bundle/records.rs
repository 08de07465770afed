//! What the server remembers of each bundle, kept as one JSON document in the store's settings
//! (a server keeps a handful of bundles; the retention sweep bounds them). The download token
//! is kept sealed with the server's key, and found by its SHA-256: the settings never hold it
//! in the clear.
use serde::{Deserialize, Serialize};

use super::ContentType;
use crate::auth::Listener;
use crate::ports::Store;
use crate::CoreError;

/// The setting that holds the records.
pub const SETTING: &str = "appliance.support_bundles";

/// `support_bundle.creation_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CreationStatus {
    Succeeded,
    Failed,
    Cancelled,
}

impl CreationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CreationStatus::Succeeded => "SUCCEEDED",
            CreationStatus::Failed => "FAILED",
            CreationStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<CreationStatus> {
        [
            CreationStatus::Succeeded,
            CreationStatus::Failed,
            CreationStatus::Cancelled,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// One bundle made (or that failed to be).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The id of the task that made it.
    pub id: String,
    pub description: String,
    pub status: CreationStatus,
    pub content_type: ContentType,
    pub created_ms: i64,
    pub partition: String,
    /// Its file in the partition, once made.
    pub file: Option<String>,
    pub size: Option<u64>,
    pub sha256: Option<String>,
    pub failure_reason: Option<String>,
    pub token_hash: Option<String>,
    pub token_sealed: Option<String>,
    /// `scheme://host:port` of the listener the create came in on.
    pub url_base: Option<String>,
    pub listener: Option<String>,
    pub url_expires_ms: Option<i64>,
    /// Its URL was used: it is not served again.
    pub downloaded: bool,
}

pub fn file_name(id: &str) -> String {
    format!("{id}.tgz")
}

pub fn listener_name(l: Listener) -> &'static str {
    match l {
        Listener::Api => "api",
        Listener::Appliance => "appliance",
    }
}

pub async fn load(store: &dyn Store) -> Result<Vec<Record>, CoreError> {
    match store.get_setting(SETTING).await? {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| CoreError::internal(format!("the support bundle records: {e}"))),
    }
}

pub async fn save(store: &dyn Store, all: &[Record]) -> Result<(), CoreError> {
    let text = serde_json::to_string(all)
        .map_err(|e| CoreError::internal(format!("the support bundle records: {e}")))?;
    store.put_setting(SETTING, &text).await?;
    Ok(())
}
