use serde::{Deserialize, Serialize};

/// The one error type of the core. Each binding owns a table mapping these categories to its own
/// faults (vAPI error ids, vim faults, ZStack codes); the messages here are safe to show callers
/// and never carry secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CoreError {
    /// The named object does not exist (or the caller may not know it exists).
    #[error("{what} '{id}' was not found")]
    NotFound { what: String, id: String },
    /// One input field is wrong; `field` names it as the caller spelled it.
    #[error("invalid value for '{field}': {reason}")]
    InvalidArgument { field: String, reason: String },
    /// The object exists but is not in a state that allows the operation.
    #[error("{message}")]
    InvalidState { message: String },
    /// The object is already in the state the operation would bring it to. Kept apart from
    /// `InvalidState` because vAPI answers it with its own error (`already_in_desired_state`)
    /// where vim and ZStack answer as for any other wrong state.
    #[error("{message}")]
    AlreadyInState { message: String },
    /// Creating would clash with an existing object.
    #[error("{what} '{name}' already exists")]
    AlreadyExists { what: String, name: String },
    /// No valid credentials or session. Deliberately says nothing about which part was wrong.
    #[error("authentication required: the credentials or session are missing, wrong or expired")]
    Unauthenticated,
    /// Too many login attempts: from this address (its budget is spent), or at once on the
    /// server (the password-hash workers are all busy). Answered with each surface's "too many
    /// requests" form and `Retry-After`.
    #[error("too many login attempts{scope}; retry after {retry_after_secs} s")]
    TooManyLoginAttempts {
        /// " from this address" or " at once".
        scope: String,
        retry_after_secs: u64,
    },
    /// Authenticated, but the caller's role lacks the privilege.
    #[error("permission denied: the privilege {privilege} is required")]
    NoPermission { privilege: String },
    /// The operation ran past its deadline.
    #[error("the operation timed out: {message}")]
    Timeout { message: String },
    /// The operation was cancelled before it completed.
    #[error("the operation was cancelled: {message}")]
    Cancelled { message: String },
    /// The operation exists on a surface but ferrocenter does not implement it.
    #[error("{operation} is not supported by ferrocenter")]
    NotSupported { operation: String },
    /// Something the server depends on is not available right now (shutting down, database gone).
    #[error("service unavailable: {message}")]
    Unavailable { message: String },
    /// The host's agent cannot be reached (vim NoHost).
    #[error("cannot contact the host {name}: {reason}")]
    NoHost { name: String, reason: String },
    /// Something answered at the host's address but the connection could not be established:
    /// it does not speak the agent protocol, or answered what the protocol does not allow
    /// (vim HostConnectFault).
    #[error("cannot connect to the host {name}: {reason}")]
    HostConnect { name: String, reason: String },
    /// The host refused the credentials (vim InvalidLogin).
    #[error("the host refused the user name or password")]
    InvalidLogin,
    /// The host's certificate is not the expected one (vim SSLVerifyFault). `thumbprint` is
    /// the one it presented, so the caller can check it and retry with it.
    #[error("the host's certificate (SHA-256 thumbprint {thumbprint}) could not be verified")]
    SslVerify {
        thumbprint: String,
        self_signed: bool,
    },
    /// Another server manages the host (vim AlreadyBeingManaged).
    #[error("the host is already managed by the server at {ip_address}")]
    AlreadyBeingManaged { ip_address: String },
    /// The host runs software this server cannot manage (vim NotSupportedHost).
    #[error("the host runs {product} {version}, which is not supported")]
    NotSupportedHost { product: String, version: String },
    /// Licenses do not cover the host (vim NotEnoughLicenses).
    #[error("not enough licenses: {message}")]
    NotEnoughLicenses { message: String },
    /// The host is already in the inventory (vim AlreadyConnected).
    #[error("the host {name} is already connected to this server")]
    AlreadyConnected { name: String },
    /// A fault inside ferrocenter; the message is for operators, not a secret.
    #[error("internal error: {message}")]
    Internal { message: String },
}

impl CoreError {
    pub fn not_found(what: impl Into<String>, id: impl Into<String>) -> Self {
        CoreError::NotFound {
            what: what.into(),
            id: id.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CoreError::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn invalid_state(message: impl Into<String>) -> Self {
        CoreError::InvalidState {
            message: message.into(),
        }
    }

    pub fn already_in_state(message: impl Into<String>) -> Self {
        CoreError::AlreadyInState {
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        CoreError::Internal {
            message: message.into(),
        }
    }

    pub fn not_supported(operation: impl Into<String>) -> Self {
        CoreError::NotSupported {
            operation: operation.into(),
        }
    }
}

/// A store failure as callers see it: its category only. The store's own text (SQL, the
/// engine's message, file paths) goes to the server log, never to a client.
impl From<crate::ports::StoreError> for CoreError {
    fn from(e: crate::ports::StoreError) -> Self {
        use crate::ports::StoreError as S;
        tracing::error!(error = %e, "store call failed");
        match e {
            S::Unavailable(_) => CoreError::Unavailable {
                message: "the database cannot be reached".into(),
            },
            S::Conflict(_) => CoreError::internal("a stored record clashes with another"),
            S::Corrupt(_) => CoreError::internal("stored data could not be read back"),
            S::Backend(_) => CoreError::internal("the database refused the request"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip_through_json_for_persisted_tasks() {
        let e = CoreError::invalid("hostName", "must not be empty");
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"invalid_argument","field":"hostName","reason":"must not be empty"}"#
        );
        assert_eq!(serde_json::from_str::<CoreError>(&json).unwrap(), e);
    }

    #[test]
    fn store_text_stays_in_the_log() {
        use crate::ports::StoreError as S;
        for e in [
            S::Backend("error returned from database: near \"SELECT\": syntax error".into()),
            S::Unavailable("pool timed out connecting to /var/lib/x.db".into()),
            S::Corrupt("column hosts.facts: expected value at line 1".into()),
            S::Conflict("UNIQUE constraint failed: hosts.address".into()),
        ] {
            let shown = CoreError::from(e).to_string();
            for leak in ["SELECT", "database:", "/var/lib", "hosts.", "UNIQUE"] {
                assert!(!shown.contains(leak), "{leak} in {shown}");
            }
        }
    }

    #[test]
    fn messages_name_the_field() {
        assert_eq!(
            CoreError::invalid("duration_ms", "must be at most 3600000").to_string(),
            "invalid value for 'duration_ms': must be at most 3600000"
        );
    }
}
