//! How a backup location's and an archive's failures read to a caller: each names the request
//! field that was wrong (`location`, `location_user`, `location_password`, `backup_password`),
//! so every surface reports the same field for the same fault.
use crate::ports::LocationError;
use crate::CoreError;

use super::RecoveryError;

impl From<LocationError> for CoreError {
    fn from(e: LocationError) -> CoreError {
        match &e {
            LocationError::AuthRefused { .. } => {
                CoreError::invalid("location_password", e.to_string())
            }
            LocationError::Unsupported { kind, reason } => CoreError::NotSupported {
                operation: format!("a backup location of type {kind} ({reason})"),
            },
            LocationError::Unreachable { .. }
            | LocationError::NotFound { .. }
            | LocationError::WriteRefused { .. }
            | LocationError::Invalid { .. }
            | LocationError::Protocol { .. } => CoreError::invalid("location", e.to_string()),
        }
    }
}

impl From<RecoveryError> for CoreError {
    fn from(e: RecoveryError) -> CoreError {
        let text = e.to_string();
        match e {
            RecoveryError::PasswordRequired | RecoveryError::WrongPassword => {
                CoreError::invalid("backup_password", text)
            }
            RecoveryError::UnknownPart(_) | RecoveryError::PartNotInArchive(_) => {
                CoreError::invalid("parts", text)
            }
            RecoveryError::NotAnArchive(_)
            | RecoveryError::FormatNewer { .. }
            | RecoveryError::SchemaNewer { .. }
            | RecoveryError::SchemaOlder { .. }
            | RecoveryError::Checksum { .. }
            | RecoveryError::Corrupt { .. }
            | RecoveryError::SecretKeyMismatch
            | RecoveryError::AlreadyThere(_) => CoreError::invalid("location", text),
            RecoveryError::Store(s) => CoreError::from(s),
            RecoveryError::Io { .. }
            | RecoveryError::TableWithoutPart(_)
            | RecoveryError::SecretUnreadable
            | RecoveryError::Crypto(_) => CoreError::internal(text),
        }
    }
}
