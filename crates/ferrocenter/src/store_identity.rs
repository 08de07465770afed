//! The data dir's record of its store (`DATA/store-identity.toml`), written once the first
//! start has set the store up. While it is there, a start refuses a store that is missing,
//! empty or another server's, instead of taking it for a first start: an emptied SQLite file
//! would otherwise become a new inventory with a new administrator password, and SQLite would
//! reset the write-ahead log that still held the latest writes.
use std::path::{Path, PathBuf};

use ferrocenter_core::ports::Store;
use ferrocenter_core::SERVER_UUID_KEY;
use serde::{Deserialize, Serialize};

use crate::serve::StartError;

pub const FILE: &str = "store-identity.toml";

/// What the file records.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreIdentity {
    /// The store's server identity (`Core::server_uuid`).
    pub server_uuid: String,
    /// `sqlite` or `postgresql`.
    pub engine: String,
    /// The database URL at the first start, without its password.
    pub database: String,
    /// RFC 3339.
    pub initialised_at: String,
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// The record, if this data dir was initialised. An unreadable record is a refusal too: it
/// can no longer vouch for the store.
pub fn read(data_dir: &Path) -> Result<Option<StoreIdentity>, StartError> {
    let file = path(data_dir);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StartError::DataDir {
                path: file,
                reason: e.to_string(),
            })
        }
    };
    toml::from_str(&text).map(Some).map_err(|e| {
        refused(
            format!("{} is unreadable: {e}", file.display()),
            "Restore it from a backup of this data dir, or delete it to have this start \
             record the store it finds (only if that store is the right one)."
                .to_string(),
        )
    })
}

/// Records the store once the first start has set it up.
pub fn write(data_dir: &Path, id: &StoreIdentity) -> Result<(), StartError> {
    let file = path(data_dir);
    let body = toml::to_string(id).map_err(|e| StartError::DataDir {
        path: file.clone(),
        reason: e.to_string(),
    })?;
    let text = format!(
        "# Written by ferrocenter at this data dir's first start. While this file is here, \
         `serve`\n# refuses a store that is missing, empty or another server's instead of \
         starting afresh.\n{body}"
    );
    // Written beside and renamed, so a crash never leaves half a record.
    let tmp = data_dir.join(format!("{FILE}.tmp"));
    crate::tls::write_private(&tmp, text.as_bytes())?;
    std::fs::rename(&tmp, &file).map_err(|e| StartError::DataDir {
        path: file,
        reason: e.to_string(),
    })
}

/// The store behind an initialised data dir must be the one it recorded.
pub async fn verify(
    store: &dyn Store,
    recorded: &StoreIdentity,
    data_dir: &Path,
    database: &str,
) -> Result<(), StartError> {
    let found = store
        .get_setting(SERVER_UUID_KEY)
        .await
        .map_err(|e| StartError::Bootstrap(e.into()))?;
    match found {
        Some(u) if u == recorded.server_uuid => Ok(()),
        Some(u) => Err(refused(
            format!(
                "the store {database} belongs to server {u}, but this data dir ({}) was \
                 initialised with server {}",
                data_dir.display(),
                recorded.server_uuid
            ),
            advice(data_dir),
        )),
        None => Err(refused(
            format!(
                "the store {database} holds no data, but this data dir ({}) was initialised \
                 with server {} on {}",
                data_dir.display(),
                recorded.server_uuid,
                recorded.initialised_at
            ),
            advice(data_dir),
        )),
    }
}

/// A store that the data dir says must exist was found damaged (missing, empty, corrupt).
pub fn damaged(
    e: &ferrocenter_store::OpenError,
    data_dir: &Path,
    recorded: Option<&StoreIdentity>,
) -> StartError {
    let problem = match recorded {
        Some(r) => format!(
            "{e}, but this data dir ({}) was initialised with it (server {}, {})",
            data_dir.display(),
            r.server_uuid,
            r.initialised_at
        ),
        None => e.to_string(),
    };
    refused(problem, advice(data_dir))
}

fn refused(problem: String, advice: String) -> StartError {
    StartError::StoreRefused { problem, advice }
}

/// What the operator can do: nothing was changed, so a restore is all it takes.
fn advice(data_dir: &Path) -> String {
    format!(
        "Nothing was changed: the database and any write-ahead log (-wal) beside it are left as \
         they are. Restore the database (with its -wal file, if the backup has \
         one) from a backup, then start again. To start afresh with an empty inventory instead, \
         move the database files aside and delete {}.",
        path(data_dir).display()
    )
}
