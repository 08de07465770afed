//! The exported document: a JSON object with a schema version, the exporting product and
//! version, and one object per profile. Secrets in it (backup schedules' passwords) are sealed
//! under a key derived from the export's `encryption_key` with the backup archives' key
//! derivation (Argon2id, `recovery::crypto`), so that the same password rule and the same
//! password check serve both; a document holding secrets cannot be exported without a key.
use serde::{Deserialize, Serialize};

use crate::recovery::crypto::BackupKeys;
use crate::recovery::manifest::Encryption;
use crate::recovery::RecoveryError;
use crate::secrets::SecretBox;
use crate::CoreError;

/// The document format this server writes and reads.
pub const SCHEMA_VERSION: u32 = 1;
pub const PRODUCT: &str = "ferrocenter";

/// The profiles, in the order an import applies them.
pub const APPLIANCE: &str = "ApplianceManagement";
pub const AUTH: &str = "AuthManagement";
pub const INVENTORY: &str = "InventoryManagement";
pub const PROFILES: [&str; 3] = [AUTH, APPLIANCE, INVENTORY];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub schema_version: u32,
    pub product: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How the secrets are sealed; absent when the document holds none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
    /// Profile name → its settings (read by `sections`).
    pub profiles: serde_json::Map<String, serde_json::Value>,
}

/// A secret as the document carries it: sealed, never in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedSecret {
    pub sealed: String,
}

/// Seals or opens the secrets of one document.
pub struct SecretCodec {
    sealer: SecretBox,
}

fn keys_error(e: RecoveryError, field: &str) -> CoreError {
    match e {
        RecoveryError::WrongPassword => CoreError::invalid(field, "is not this document's key"),
        other => CoreError::invalid(field, other.to_string()),
    }
}

impl SecretCodec {
    /// A new key for an export, and what the document records of it.
    pub fn create(encryption_key: &str) -> Result<(SecretCodec, Encryption), CoreError> {
        let (keys, enc) =
            BackupKeys::create(encryption_key).map_err(|e| keys_error(e, "spec.encryption_key"))?;
        Ok((
            SecretCodec {
                sealer: SecretBox::new(keys.secrets_key()),
            },
            enc,
        ))
    }

    /// The codec of a document, if `encryption_key` is its key.
    pub fn open(encryption_key: &str, enc: &Encryption) -> Result<SecretCodec, CoreError> {
        let keys = BackupKeys::open(encryption_key, enc)
            .map_err(|e| keys_error(e, "spec.profile_spec.encryption_key"))?;
        Ok(SecretCodec {
            sealer: SecretBox::new(keys.secrets_key()),
        })
    }

    pub fn seal(&self, plain: &str) -> Result<SealedSecret, CoreError> {
        Ok(SealedSecret {
            sealed: self.sealer.seal(plain)?,
        })
    }

    pub fn open_secret(&self, s: &SealedSecret, field: &str) -> Result<String, CoreError> {
        self.sealer
            .open(&s.sealed)
            .map_err(|_| CoreError::invalid(field, "does not open with the document's key"))
    }
}

/// Reads a document's text; what is wrong is named by its field.
pub fn parse(text: &str) -> Result<Document, CoreError> {
    let doc: Document = serde_json::from_str(text).map_err(|e| {
        CoreError::invalid(
            "spec.config_spec",
            format!("is not a profile document: {e}"),
        )
    })?;
    if doc.product != PRODUCT {
        return Err(CoreError::invalid(
            "spec.config_spec.product",
            format!("is '{}': only {PRODUCT} documents are read", doc.product),
        ));
    }
    if doc.schema_version != SCHEMA_VERSION {
        return Err(CoreError::invalid(
            "spec.config_spec.schema_version",
            format!(
                "is {}: this server reads schema version {SCHEMA_VERSION}",
                doc.schema_version
            ),
        ));
    }
    for name in doc.profiles.keys() {
        if !PROFILES.contains(&name.as_str()) {
            return Err(CoreError::invalid(
                format!("spec.config_spec.profiles.{name}"),
                format!(
                    "is not a profile (the profiles are {})",
                    PROFILES.join(", ")
                ),
            ));
        }
    }
    Ok(doc)
}
