//! Conversions between stored columns and core values.
use ferrocenter_core::auth::Role;
use ferrocenter_core::ports::StoreError;
use ferrocenter_core::tasks::TaskState;
use ferrocenter_core::CoreError;
use serde_json::Value;

pub fn role_from(s: &str) -> Result<Role, StoreError> {
    s.parse().map_err(StoreError::Corrupt)
}

pub fn state_from(s: &str) -> Result<TaskState, StoreError> {
    s.parse().map_err(StoreError::Corrupt)
}

pub fn error_from(s: Option<String>) -> Result<Option<CoreError>, StoreError> {
    s.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

pub fn error_to(e: Option<&CoreError>) -> Result<Option<String>, StoreError> {
    e.map(|e| serde_json::to_string(e).map_err(|e| StoreError::Backend(e.to_string())))
        .transpose()
}

pub fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_string())
        }
        // A delete refused because rows still reference the record (the schema does not
        // cascade there), or a reference to a record that does not exist.
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::Conflict(db.message().to_string())
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

/// A delete refused by a foreign key without cascade: `why` says what still references the
/// record (the engines' own messages differ and SQLite's names no key).
pub fn map_in_use(e: sqlx::Error, why: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::Conflict(why.to_string())
        }
        _ => map_err(e),
    }
}

/// An enum column read back with the type's `parse`.
pub fn enum_from<T>(s: &str, parse: fn(&str) -> Option<T>, what: &str) -> Result<T, StoreError> {
    parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown {what} '{s}'")))
}

/// A JSON document column (NOT NULL).
pub fn value_from(s: &str) -> Result<Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A core model kept as a JSON document (host facts and runtime, a VM's info, a task's
/// result). Written through a `Value` so the keys come out sorted, byte for byte what the
/// server stored when these columns held untyped JSON.
pub fn model_to<T: serde::Serialize>(t: &T) -> Result<String, StoreError> {
    serde_json::to_value(t)
        .map(|v| v.to_string())
        .map_err(|e| StoreError::Backend(e.to_string()))
}

/// A core model read back from its JSON document. A document the model cannot read is
/// corrupt, like any other column the store cannot read: every field of the models has a
/// default, so only a damaged document fails.
pub fn model_from<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn opt_model_to<T: serde::Serialize>(t: Option<&T>) -> Result<Option<String>, StoreError> {
    t.map(model_to).transpose()
}

pub fn opt_model_from<T: serde::de::DeserializeOwned>(
    s: Option<String>,
) -> Result<Option<T>, StoreError> {
    s.as_deref().map(model_from).transpose()
}

/// A list of strings, stored as a JSON array.
pub fn strings_from(s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn strings_to(v: &[String]) -> String {
    // A JSON array of strings, built as a value: rendering a value cannot fail.
    Value::from(v.to_vec()).to_string()
}

/// An unsigned value to its BIGINT column.
pub fn bigint_to(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Backend(format!("{what} {v} exceeds BIGINT")))
}

/// A BIGINT column back to its unsigned type (u16, u32, u64).
pub fn bigint_from<T: TryFrom<i64>>(v: i64, what: &str) -> Result<T, StoreError> {
    T::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} {v} is out of range")))
}

/// The number ending a moId (`host-12` → 12), the order of host listings. A moId without one
/// sorts last.
pub fn moid_number(moid: &str) -> i64 {
    ferrocenter_core::moids::listing_order(moid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_stored_with_sorted_keys_as_before() {
        use ferrocenter_core::inventory::{HostRuntime, VmInfo};
        let rt = HostRuntime::default();
        let text = model_to(&rt).unwrap();
        // What the server stored when the column held a serde_json::Value of the model.
        assert_eq!(text, serde_json::to_value(&rt).unwrap().to_string());
        assert!(
            text.starts_with(r#"{"boot_time":0,"claim":null,"#),
            "{text}"
        );
        assert_eq!(model_from::<HostRuntime>(&text).unwrap(), rt);
        // A VM that is not migrating has no `migrating_to` key, as before.
        assert!(!model_to(&VmInfo::default())
            .unwrap()
            .contains("migrating_to"));
        assert!(matches!(
            model_from::<HostRuntime>("not json"),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn moid_numbers() {
        assert_eq!(moid_number("host-12"), 12);
        assert_eq!(moid_number("domain-c-7"), 7);
        assert_eq!(moid_number("host"), i64::MAX);
        assert_eq!(moid_number("host-x"), i64::MAX);
    }

    #[test]
    fn unsigned_ranges() {
        assert_eq!(bigint_from::<u16>(8443, "port").unwrap(), 8443);
        assert!(matches!(
            bigint_from::<u16>(70_000, "port"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            bigint_from::<u64>(-1, "cursor"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(bigint_to(u64::MAX, "cursor").is_err());
        assert_eq!(bigint_to(42, "cursor").unwrap(), 42);
    }
}
