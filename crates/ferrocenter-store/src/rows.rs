//! Conversions between stored columns and core values.
use ferrocenter_core::auth::Role;
use ferrocenter_core::ports::StoreError;
use ferrocenter_core::tasks::TaskState;
use ferrocenter_core::CoreError;

pub fn role_from(s: &str) -> Result<Role, StoreError> {
    s.parse().map_err(StoreError::Corrupt)
}

pub fn state_from(s: &str) -> Result<TaskState, StoreError> {
    s.parse().map_err(StoreError::Corrupt)
}

pub fn json_from(s: Option<String>) -> Result<Option<serde_json::Value>, StoreError> {
    s.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

pub fn error_from(s: Option<String>) -> Result<Option<CoreError>, StoreError> {
    s.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

pub fn error_to(e: &Option<CoreError>) -> Option<String> {
    e.as_ref()
        .map(|e| serde_json::to_string(e).expect("CoreError serialises"))
}

pub fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_string())
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}
