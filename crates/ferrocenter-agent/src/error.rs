//! The agent API's errors, rendered as `wire::ErrorBody` with a status code.
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrocenter_agent_client::wire::{ErrorBody, ErrorCode};
use ferrocenter_http::login_limit::{retry_after_secs, Throttled};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError(pub ErrorBody);

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError(ErrorBody {
            code,
            message: message.into(),
            field: None,
            server_address: None,
            retry_after_secs: None,
        })
    }

    pub fn invalid(field: &str, reason: impl std::fmt::Display) -> Self {
        let mut e = ApiError::new(ErrorCode::InvalidArgument, format!("{field}: {reason}"));
        e.0.field = Some(field.to_string());
        e
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        ApiError::new(ErrorCode::NotFound, format!("{what} '{id}' was not found"))
    }

    pub fn invalid_state(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::InvalidState, message)
    }

    pub fn status(&self) -> StatusCode {
        match self.0.code {
            ErrorCode::InvalidLogin | ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorCode::AlreadyBeingManaged
            | ErrorCode::InvalidState
            | ErrorCode::Busy
            | ErrorCode::InsufficientCapacity => StatusCode::CONFLICT,
            ErrorCode::InvalidArgument => StatusCode::BAD_REQUEST,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::NotSupported => StatusCode::NOT_IMPLEMENTED,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// A login refused by the per-address budget (the limiter the server uses too).
    pub fn throttled(t: Throttled) -> Self {
        let mut e = ApiError::new(ErrorCode::TooManyRequests, t.to_string());
        e.0.retry_after_secs = Some(retry_after_secs(t.retry_after));
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status(), Json(&self.0)).into_response();
        if let Some(secs) = self.0.retry_after_secs {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
