//! Errors with stable codes a script can match on, plus the server's own fault detail.
use std::fmt;

/// A stable error code. The names follow VIX's error codes where one exists
/// (`VIX_E_NET_HTTP_SSL_SECURITY` → `SSL_SECURITY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The caller gave something unusable (a host name, a port, missing credentials).
    InvalidArgument,
    InvalidLogin,
    HostNotReachable,
    /// The server's certificate could not be verified; no handle was created.
    SslSecurity,
    NotSupported,
    NotFound,
    InvalidState,
    NoPermission,
    /// A task ended in error (its fault is in the detail).
    TaskFailed,
    /// Any other fault the server answered.
    Server,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::InvalidLogin => "INVALID_LOGIN",
            ErrorCode::HostNotReachable => "HOST_NOT_REACHABLE",
            ErrorCode::SslSecurity => "SSL_SECURITY",
            ErrorCode::NotSupported => "NOT_SUPPORTED",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::InvalidState => "INVALID_STATE",
            ErrorCode::NoPermission => "NO_PERMISSION",
            ErrorCode::TaskFailed => "TASK_FAILED",
            ErrorCode::Server => "SERVER_ERROR",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong: the code, a message, and the server's fault type when it sent one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ClientError {
    pub code: ErrorCode,
    pub message: String,
    /// The server's fault type (`InvalidLogin`, `SSLVerifyFault`, …), if it answered one.
    pub fault: Option<String>,
    /// The whole fault the server answered, for its own fields (an `SSLVerifyFault`'s
    /// `thumbprint`, a `NoPermission`'s `privilegeId`).
    pub detail: Option<serde_json::Value>,
}

impl ClientError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ClientError {
            code,
            message: message.into(),
            fault: None,
            detail: None,
        }
    }

    pub fn invalid(what: &str, why: impl fmt::Display) -> Self {
        ClientError::new(ErrorCode::InvalidArgument, format!("{what}: {why}"))
    }
}
