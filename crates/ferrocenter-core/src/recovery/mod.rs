//! Backup and restore of the server's data (appliance.recovery, seeds/003 chapter 7): what a
//! backup holds (`parts`), the archive's manifest (`manifest`), its parts' files (`archive`)
//! and their encryption (`crypto`). An archive is a directory of files as vCenter splits a
//! backup per part: `manifest.json`, written last so that an archive without it is not a
//! complete one, and one file per part. The locations an archive is sent to, the jobs and the
//! schedules are built on this; docs/backup-restore.md describes the format.
mod archive;
pub mod archives;
pub mod backup_job;
pub(crate) mod crypto;
mod errors;
pub mod layout;
pub mod manifest;
pub mod parts;
pub mod reconcile;
mod request;
pub mod restore_job;
pub mod schedules;
mod state;

use std::path::{Path, PathBuf};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use manifest::{Manifest, SecretsSeal};
pub use parts::{PartId, PartInfo};
pub use request::{location_type_of, request_location};
pub use state::RecoveryConfig;
pub(crate) use state::RecoveryState;

use crate::ports::{Store, StoreError, TableSize};
use crate::secrets::SecretBox;
use archive::{ArchiveSink, ArchiveSource, PartReader, PartWriter, Reseal};
use crypto::BackupKeys;

#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("not a ferrocenter backup: {0}")]
    NotAnArchive(String),
    #[error("the archive's format {archive} is newer than this ferrocenter reads ({here})")]
    FormatNewer { archive: u32, here: u32 },
    #[error(
        "the archive was made by ferrocenter {archive_version} at schema version \
         {archive_schema}, newer than this ferrocenter {here_version} at schema version \
         {here_schema}: upgrade ferrocenter before restoring it"
    )]
    SchemaNewer {
        archive_version: String,
        archive_schema: i64,
        here_version: String,
        here_schema: i64,
    },
    #[error(
        "the archive was made by ferrocenter {archive_version} at schema version \
         {archive_schema}, older than this ferrocenter {here_version} at schema version \
         {here_schema}: restoring an older schema is not supported yet"
    )]
    SchemaOlder {
        archive_version: String,
        archive_schema: i64,
        here_version: String,
        here_schema: i64,
    },
    #[error("the archive is encrypted: its backup password is needed")]
    PasswordRequired,
    #[error("wrong backup password")]
    WrongPassword,
    #[error("part '{part}' ({file}) fails its checksum: the archive is truncated or was altered")]
    Checksum { part: String, file: String },
    #[error("part '{part}' is damaged: {detail}")]
    Corrupt { part: String, detail: String },
    #[error("unknown backup part '{0}' (the parts are common and seat)")]
    UnknownPart(String),
    #[error("the archive holds no part '{0}'")]
    PartNotInArchive(String),
    #[error("the store's table '{0}' belongs to no backup part")]
    TableWithoutPart(String),
    #[error(
        "the archive's host credentials are sealed with another server's secret.key (made \
         without a backup password): put that key in the data directory to restore it"
    )]
    SecretKeyMismatch,
    #[error("a sealed host credential cannot be opened")]
    SecretUnreadable,
    #[error("{} already holds a backup", .0.display())]
    AlreadyThere(PathBuf),
    #[error("{0}")]
    Crypto(String),
}

/// What a backup of a part would take, before it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSize {
    pub id: PartId,
    pub rows: u64,
    /// Its rows as the archive writes them, before compression: the values' bytes as text plus
    /// the JSON punctuation around them. An upper bound; zstd usually takes it to a fifth.
    pub bytes: u64,
}

impl PartSize {
    /// In KiB, rounded up: what `recovery.backup.parts.get` answers (the seed's sizes are KB).
    pub fn kib(&self) -> u64 {
        self.bytes.div_ceil(1024)
    }
}

/// JSON's quotes and commas around each value, and a row's brackets and newline.
const PER_VALUE: u64 = 3;
const PER_ROW: u64 = 3;

/// A table's estimated size in an archive before compression: its values, and JSON's
/// punctuation around each value and row.
pub(crate) fn archived_bytes(t: &TableSize) -> u64 {
    t.bytes + t.rows * (PER_ROW + PER_VALUE * t.columns)
}

/// The estimated size of each part, from the store's row counts and value bytes.
pub async fn part_sizes(store: &dyn Store) -> Result<Vec<PartSize>, RecoveryError> {
    let mut out = Vec::new();
    for id in PartId::ALL {
        let tables = parts::tables_of(&[id]);
        let mut size = PartSize {
            id,
            rows: 0,
            bytes: 0,
        };
        for t in store.table_sizes(&tables).await? {
            size.rows += t.rows;
            size.bytes += archived_bytes(&t);
        }
        out.push(size);
    }
    Ok(out)
}

/// What to back up.
#[derive(Debug, Clone)]
pub struct BackupSpec<'a> {
    /// `common` is always included.
    pub parts: Vec<PartId>,
    /// Encrypts the parts and seals the credentials inside under a key derived from it. Never
    /// stored.
    pub password: Option<&'a str>,
    pub comment: String,
    /// The server's name, recorded in the manifest.
    pub system_name: String,
}

/// The parts asked for by id, `common` always among them.
pub fn parse_parts(ids: &[String]) -> Result<Vec<PartId>, RecoveryError> {
    let mut parts = vec![PartId::Common];
    for id in ids {
        let p = PartId::parse(id).ok_or_else(|| RecoveryError::UnknownPart(id.clone()))?;
        if !parts.contains(&p) {
            parts.push(p);
        }
    }
    Ok(parts)
}

fn remove_parts(dir: &Path, parts: &[PartId]) {
    for p in parts {
        for encrypted in [false, true] {
            // Best effort: what was not written is not there.
            let _ = std::fs::remove_file(dir.join(archive::file_name(*p, encrypted)));
        }
    }
}

/// Writes a backup of the store into `dir` (made if absent, refused if it holds one): its parts
/// read from one snapshot, then the manifest. On failure the files written are removed.
pub async fn write_archive(
    store: &dyn Store,
    secret_key: &[u8; 32],
    dir: &Path,
    spec: &BackupSpec<'_>,
    now: OffsetDateTime,
) -> Result<Manifest, RecoveryError> {
    let io = |source| RecoveryError::Io {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    if dir.join(manifest::MANIFEST_FILE).exists() {
        return Err(RecoveryError::AlreadyThere(dir.to_path_buf()));
    }
    let mut parts = spec.parts.clone();
    if !parts.contains(&PartId::Common) {
        parts.insert(0, PartId::Common);
    }
    for table in store.data_tables().await? {
        if parts::part_of(&table).is_none() {
            return Err(RecoveryError::TableWithoutPart(table));
        }
    }
    let schema_version = store.schema_version().await?;
    let (keys, encryption) = match spec.password {
        Some(pw) => {
            let (k, e) = BackupKeys::create(pw)?;
            (Some(k), Some(e))
        }
        None => (None, None),
    };
    let live = SecretBox::new(secret_key);
    let archive_box = keys.as_ref().map(|k| SecretBox::new(k.secrets_key()));
    let mut writers = Vec::new();
    for p in PartId::ALL.into_iter().filter(|p| parts.contains(p)) {
        let reseal = archive_box.as_ref().map(|to| Reseal { from: &live, to });
        match PartWriter::create(dir, p, schema_version, keys.as_ref(), reseal) {
            Ok(w) => writers.push(w),
            Err(e) => {
                remove_parts(dir, &parts);
                return Err(e);
            }
        }
    }
    let mut sink = ArchiveSink::new(writers);
    let exported = store
        .export_tables(&parts::tables_of(&parts), &mut sink)
        .await;
    if let Err(e) = exported {
        let err = sink.error.take().unwrap_or(RecoveryError::Store(e));
        drop(sink);
        remove_parts(dir, &parts);
        return Err(err);
    }
    let mut entries = Vec::new();
    for w in sink.writers {
        match w.finish() {
            Ok(e) => entries.push(e),
            Err(e) => {
                remove_parts(dir, &parts);
                return Err(e);
            }
        }
    }
    let m = Manifest {
        format: manifest::FORMAT,
        product: manifest::PRODUCT.into(),
        version: manifest::this_version().into(),
        schema_version,
        engine: store.engine().into(),
        created_at: now
            .to_offset(time::UtcOffset::UTC)
            .format(&Rfc3339)
            .map_err(|e| RecoveryError::Crypto(e.to_string()))?,
        comment: spec.comment.clone(),
        system_name: spec.system_name.clone(),
        parts: entries,
        encryption,
        secrets: if keys.is_some() {
            SecretsSeal::BackupPassword
        } else {
            SecretsSeal::ServerKey {
                key_id: crypto::server_key_id(secret_key),
            }
        },
    };
    let written = write_manifest(dir, &m);
    if let Err(e) = written {
        remove_parts(dir, &parts);
        return Err(e);
    }
    Ok(m)
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<(), RecoveryError> {
    let tmp = dir.join(format!("{}.partial", manifest::MANIFEST_FILE));
    let path = dir.join(manifest::MANIFEST_FILE);
    let io = |source| RecoveryError::Io {
        path: path.clone(),
        source,
    };
    let text = serde_json::to_vec_pretty(m).map_err(|e| RecoveryError::Crypto(e.to_string()))?;
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)
}

/// An archive whose manifest, password and every part's checksum were checked.
#[derive(Debug)]
pub struct OpenedArchive {
    dir: PathBuf,
    pub manifest: Manifest,
    keys: Option<BackupKeys>,
}

/// Reads and checks an archive: the manifest, the password (`PasswordRequired`,
/// `WrongPassword`) and each part's size and SHA-256 (`Checksum` naming the part).
pub fn open_archive(dir: &Path, password: Option<&str>) -> Result<OpenedArchive, RecoveryError> {
    let path = dir.join(manifest::MANIFEST_FILE);
    let text = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => RecoveryError::NotAnArchive(format!(
            "{} has no {}",
            dir.display(),
            manifest::MANIFEST_FILE
        )),
        _ => RecoveryError::Io {
            path: path.clone(),
            source: e,
        },
    })?;
    let m: Manifest = serde_json::from_slice(&text).map_err(|e| {
        // A newer format may not parse as this one: say so when the number is readable.
        let format = serde_json::from_slice::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("format")?.as_u64());
        match format.and_then(|f| u32::try_from(f).ok()) {
            Some(f) if f > manifest::FORMAT => RecoveryError::FormatNewer {
                archive: f,
                here: manifest::FORMAT,
            },
            _ => RecoveryError::NotAnArchive(format!("its manifest is unreadable: {e}")),
        }
    })?;
    if m.product != manifest::PRODUCT {
        return Err(RecoveryError::NotAnArchive(format!(
            "made by '{}'",
            m.product
        )));
    }
    if m.format > manifest::FORMAT {
        return Err(RecoveryError::FormatNewer {
            archive: m.format,
            here: manifest::FORMAT,
        });
    }
    let keys = match (&m.encryption, password) {
        (Some(_), None) => return Err(RecoveryError::PasswordRequired),
        (Some(enc), Some(pw)) => Some(BackupKeys::open(pw, enc)?),
        (None, _) => None,
    };
    for part in &m.parts {
        if PartId::parse(&part.id).is_none() {
            return Err(RecoveryError::UnknownPart(part.id.clone()));
        }
        if part.file.contains('/') || part.file.starts_with('.') {
            return Err(RecoveryError::NotAnArchive(format!(
                "part file '{}'",
                part.file
            )));
        }
        let (sha, bytes) = archive::hash_file(&dir.join(&part.file))?;
        if sha != part.sha256 || bytes != part.bytes {
            return Err(RecoveryError::Checksum {
                part: part.id.clone(),
                file: part.file.clone(),
            });
        }
    }
    Ok(OpenedArchive {
        dir: dir.to_path_buf(),
        manifest: m,
        keys,
    })
}

/// The rows of one part of an opened archive, in the archive's order: what a history import
/// stages (`history_import`), without touching the store.
pub(crate) fn read_part(
    a: &OpenedArchive,
    part: PartId,
) -> Result<ArchiveSource<'_>, RecoveryError> {
    let m = &a.manifest;
    let entry = m
        .parts
        .iter()
        .find(|e| e.id == part.as_str())
        .ok_or_else(|| RecoveryError::PartNotInArchive(part.as_str().into()))?;
    let reader = PartReader::open(&a.dir, entry, a.keys.as_ref(), None, m.schema_version)?;
    Ok(ArchiveSource::new(vec![reader]))
}

/// Checks that this store can take the archive: the same schema version (a newer archive is
/// refused naming both versions), and host credentials this server can open.
pub async fn check_restorable(
    store: &dyn Store,
    secret_key: &[u8; 32],
    a: &OpenedArchive,
) -> Result<(), RecoveryError> {
    let here = store.schema_version().await?;
    let m = &a.manifest;
    let versions = || {
        (
            m.version.clone(),
            m.schema_version,
            manifest::this_version().to_string(),
            here,
        )
    };
    if m.schema_version > here {
        let (archive_version, archive_schema, here_version, here_schema) = versions();
        return Err(RecoveryError::SchemaNewer {
            archive_version,
            archive_schema,
            here_version,
            here_schema,
        });
    }
    if m.schema_version < here {
        let (archive_version, archive_schema, here_version, here_schema) = versions();
        return Err(RecoveryError::SchemaOlder {
            archive_version,
            archive_schema,
            here_version,
            here_schema,
        });
    }
    if let SecretsSeal::ServerKey { key_id } = &m.secrets {
        let holds_secrets = m
            .parts
            .iter()
            .flat_map(|p| &p.tables)
            .any(|t| t.rows > 0 && parts::SEALED_COLUMNS.iter().any(|(s, _)| *s == t.name));
        if holds_secrets && *key_id != crypto::server_key_id(secret_key) {
            return Err(RecoveryError::SecretKeyMismatch);
        }
    }
    Ok(())
}

/// Replaces the store's content with the archive's, in one transaction: the tables of the parts
/// restored (all the archive holds unless `only` names some) are emptied and refilled; a
/// failure leaves the store untouched. Credentials are sealed again with this server's key.
pub async fn restore_archive(
    store: &dyn Store,
    secret_key: &[u8; 32],
    a: &OpenedArchive,
    only: Option<&[PartId]>,
) -> Result<(), RecoveryError> {
    check_restorable(store, secret_key, a).await?;
    let m = &a.manifest;
    if let Some(only) = only {
        if let Some(missing) = only
            .iter()
            .find(|p| !m.parts.iter().any(|e| e.id == p.as_str()))
        {
            return Err(RecoveryError::PartNotInArchive(missing.as_str().into()));
        }
    }
    let chosen: Vec<PartId> = PartId::ALL
        .into_iter()
        .filter(|p| m.parts.iter().any(|e| e.id == p.as_str()))
        .filter(|p| only.is_none_or(|o| o.contains(p)))
        .collect();
    let live = SecretBox::new(secret_key);
    let archive_box = a.keys.as_ref().map(|k| SecretBox::new(k.secrets_key()));
    let mut readers = Vec::new();
    for p in &chosen {
        let Some(entry) = m.parts.iter().find(|e| e.id == p.as_str()) else {
            continue;
        };
        let reseal = match (&m.secrets, &archive_box) {
            (SecretsSeal::BackupPassword, Some(from)) => Some(Reseal { from, to: &live }),
            _ => None,
        };
        readers.push(PartReader::open(
            &a.dir,
            entry,
            a.keys.as_ref(),
            reseal,
            m.schema_version,
        )?);
    }
    let mut source = ArchiveSource::new(readers);
    let imported = store
        .import_tables(&parts::tables_of(&chosen), &mut source)
        .await;
    match imported {
        Ok(()) => Ok(()),
        Err(e) => Err(source.take_error().unwrap_or(RecoveryError::Store(e))),
    }
}
