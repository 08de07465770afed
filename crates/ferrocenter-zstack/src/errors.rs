//! ZStack's error shapes: API failures are HTTP 503 with `{"error":{code, description,
//! details, cause}}` and ZStack's codes; REST-layer syntax errors are 400 in plain text.
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

#[derive(Debug)]
pub enum ZsError {
    /// A request the REST layer refuses before any API runs (400, plain text).
    BadRequest(String),
    /// An API failure (503) with ZStack's code and the case's details.
    Api {
        code: &'static str,
        details: String,
        cause: Option<Box<ZsError>>,
    },
    /// Too many login attempts: HTTP 429 with `Retry-After`, the API error shape with
    /// SYS.1006 and details that name the limit.
    Throttled {
        details: String,
        retry_after_secs: u64,
    },
}

/// The fixed description of each code, as ZStack's error-code files give them (paraphrased).
fn description(code: &str) -> &'static str {
    match code {
        "SYS.1000" => "An internal error happened",
        "SYS.1001" => "A message or an operation timed out",
        "SYS.1003" => "The resource is not found",
        "SYS.1004" => "Failed to delete the resource",
        "SYS.1005" => "Failed to change the state of the resource",
        "SYS.1006" => "The operation failed",
        "SYS.1007" => "One or more API arguments are invalid",
        "ID.1000" => "Authentication failed",
        "ID.1001" => "The session is invalid or expired",
        "ID.1002" => "Permission denied",
        "HOST.1001" => "Failed to put the host into maintenance mode",
        "HOST.1002" => "Failed to reconnect the host",
        "HOST.1003" => "Failed to connect to the host",
        _ => "An error happened",
    }
}

impl ZsError {
    pub fn api(code: &'static str, details: impl Into<String>) -> Self {
        ZsError::Api {
            code,
            details: details.into(),
            cause: None,
        }
    }

    /// An invalid session (ID.1001) or a missing privilege (ID.1002).
    pub fn is_auth_failure(&self) -> bool {
        matches!(
            self,
            ZsError::Api {
                code: "ID.1001" | "ID.1002",
                ..
            }
        )
    }

    pub fn body(&self) -> Value {
        match self {
            ZsError::BadRequest(m) => {
                json!({"error": {"code": "SYS.1007", "description": description("SYS.1007"), "details": m}})
            }
            ZsError::Api { .. } | ZsError::Throttled { .. } => json!({"error": self.object()}),
        }
    }

    fn object(&self) -> Value {
        match self {
            ZsError::BadRequest(m) => {
                json!({"code": "SYS.1007", "description": description("SYS.1007"), "details": m})
            }
            ZsError::Api {
                code,
                details,
                cause,
            } => {
                let mut v =
                    json!({"code": code, "description": description(code), "details": details});
                if let Some(c) = cause {
                    v["cause"] = c.object();
                }
                v
            }
            ZsError::Throttled { details, .. } => {
                json!({"code": "SYS.1006", "description": description("SYS.1006"), "details": details})
            }
        }
    }
}

impl From<CoreError> for ZsError {
    fn from(e: CoreError) -> Self {
        let details = e.to_string();
        let code = match e {
            CoreError::TooManyLoginAttempts {
                retry_after_secs, ..
            } => {
                return ZsError::Throttled {
                    details,
                    retry_after_secs,
                }
            }
            CoreError::NotFound { .. } => "SYS.1003",
            // A second host at the same address: ZStack's "there has been a host having
            // managementIp" is an argument error.
            CoreError::InvalidArgument { .. }
            | CoreError::AlreadyExists { .. }
            | CoreError::AlreadyConnected { .. } => "SYS.1007",
            CoreError::Unauthenticated => "ID.1001",
            CoreError::NoPermission { .. } => "ID.1002",
            CoreError::Timeout { .. } => "SYS.1001",
            CoreError::NoHost { .. } | CoreError::HostConnect { .. } => "HOST.1003",
            CoreError::InvalidState { .. }
            | CoreError::AlreadyInState { .. }
            | CoreError::Cancelled { .. }
            | CoreError::NotSupported { .. }
            | CoreError::InvalidLogin
            | CoreError::SslVerify { .. }
            | CoreError::AlreadyBeingManaged { .. }
            | CoreError::NotSupportedHost { .. }
            | CoreError::NotEnoughLicenses { .. } => "SYS.1006",
            CoreError::Unavailable { .. } | CoreError::Internal { .. } => "SYS.1000",
        };
        ZsError::api(code, details)
    }
}

impl IntoResponse for ZsError {
    fn into_response(self) -> Response {
        match self {
            ZsError::BadRequest(m) => (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                m,
            )
                .into_response(),
            ZsError::Throttled {
                retry_after_secs, ..
            } => {
                let mut resp = (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::CONTENT_TYPE, "application/json")],
                    self.body().to_string(),
                )
                    .into_response();
                resp.headers_mut().insert(
                    header::RETRY_AFTER,
                    header::HeaderValue::from(retry_after_secs),
                );
                resp
            }
            api => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/json")],
                api.body().to_string(),
            )
                .into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_map_to_zstack_codes() {
        let b = ZsError::from(CoreError::invalid("managementIp", "bad")).body();
        assert_eq!(b["error"]["code"], "SYS.1007");
        assert!(b["error"]["details"]
            .as_str()
            .unwrap()
            .contains("managementIp"));
        assert_eq!(
            ZsError::from(CoreError::Unauthenticated).body()["error"]["code"],
            "ID.1001"
        );
        assert_eq!(
            ZsError::from(CoreError::already_in_state("on")).body()["error"]["code"],
            "SYS.1006"
        );
        let chained = ZsError::Api {
            code: "HOST.1002",
            details: "x".into(),
            cause: Some(Box::new(ZsError::from(CoreError::InvalidLogin))),
        };
        assert_eq!(chained.body()["error"]["cause"]["code"], "SYS.1006");
    }
}
