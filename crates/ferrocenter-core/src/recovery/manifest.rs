//! The manifest: what an archive says of itself, written beside its parts as `manifest.json`.
use serde::{Deserialize, Serialize};

/// The archive layout this build writes; a newer one is refused.
pub const FORMAT: u32 = 1;
pub const PRODUCT: &str = "ferrocenter";
pub const MANIFEST_FILE: &str = "manifest.json";

/// This build's version, recorded in every archive.
pub fn this_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub product: String,
    /// The ferrocenter version that made it.
    pub version: String,
    /// The store's schema version (its last migration) when it was made.
    pub schema_version: i64,
    /// The engine it was read from (`sqlite`, `postgresql`); any engine restores it.
    pub engine: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub comment: String,
    /// The name of the server that made it (`restore.metadata.boxname`).
    #[serde(default)]
    pub system_name: String,
    pub parts: Vec<PartEntry>,
    /// Absent: the parts are compressed, not encrypted.
    pub encryption: Option<Encryption>,
    pub secrets: SecretsSeal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartEntry {
    /// `common` or `seat`.
    pub id: String,
    /// Its file beside the manifest.
    pub file: String,
    pub bytes: u64,
    /// SHA-256 of the file as stored, hex.
    pub sha256: String,
    pub tables: Vec<TableEntry>,
    /// The STREAM nonce prefix of an encrypted part (19 bytes, hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableEntry {
    pub name: String,
    pub rows: u64,
}

/// How the parts are encrypted under the backup password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encryption {
    /// `xchacha20poly1305-stream-be32`.
    pub cipher: String,
    /// Plain bytes per encrypted chunk (each chunk carries a 16-byte tag).
    pub chunk_bytes: u32,
    pub kdf: Kdf,
    /// A known text sealed under the parts' key: a wrong password fails here, before any part.
    pub check: String,
}

/// Argon2id parameters and salt; the password itself is never written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kdf {
    pub algorithm: String,
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hex.
    pub salt: String,
}

/// What the secrets inside (hosts' service-account passwords) are sealed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "sealed_with", rename_all = "snake_case")]
pub enum SecretsSeal {
    /// A key derived from the backup password: any server restores them given the password.
    BackupPassword,
    /// No backup password was given: they stay sealed with the server's `secret.key` (never in
    /// the archive), named by `key_id`; only a server with that key restores them.
    ServerKey { key_id: String },
}
