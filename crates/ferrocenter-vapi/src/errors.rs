//! The vAPI binding's one error table: core errors and request errors to vAPI standard errors,
//! rendered for `/api` (status + `{error_type, messages}`), `/rest` (`{type, value}`) and
//! JSON-RPC (`{"ERROR":{id:{…}}}` inside an HTTP 200).
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use super::wire::{loc_msg, Flavor};
use ferrocenter_http::body::BodyError;

/// Anything a vAPI request can fail with.
#[derive(Debug)]
pub enum ApiError {
    Core(CoreError),
    /// The request itself is malformed (body, content type, parameters).
    InvalidRequest(String),
    /// The body is over the listener's limit: `invalid_request`, with HTTP's own 413 so a
    /// client that only reads the status knows not to send it again as it is.
    BodyTooLarge(String),
    /// No operation at this path (or the operation is unknown).
    OperationNotFound(String),
    /// Any other standard error of the table below, by id.
    Std {
        id: &'static str,
        message: String,
    },
}

/// vAPI's standard errors (`com.vmware.vapi.std.errors.<id>`) and their HTTP status on `/api`
/// (reference §7). JSON-RPC answers all of them inside HTTP 200.
pub const STD_ERRORS: &[(&str, u16)] = &[
    ("already_exists", 400),
    ("already_in_desired_state", 400),
    ("feature_in_use", 400),
    ("invalid_argument", 400),
    ("invalid_element_configuration", 400),
    ("invalid_element_type", 400),
    ("invalid_request", 400),
    ("not_allowed_in_current_state", 400),
    ("resource_busy", 400),
    ("resource_in_use", 400),
    ("resource_inaccessible", 400),
    ("unable_to_allocate_resource", 400),
    ("unsupported", 400),
    ("canceled", 400),
    ("unauthenticated", 401),
    ("unauthorized", 403),
    ("not_found", 404),
    ("operation_not_found", 404),
    ("concurrent_change", 409),
    ("internal_server_error", 500),
    ("error", 500),
    ("unexpected_input", 500),
    ("unverified_peer", 500),
    ("service_unavailable", 503),
    ("timed_out", 504),
];

/// The `/api` status of a standard error id.
pub fn std_status(id: &str) -> StatusCode {
    STD_ERRORS
        .iter()
        .find(|(i, _)| *i == id)
        .and_then(|(_, s)| StatusCode::from_u16(*s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError::Core(e)
    }
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge { .. } => ApiError::BodyTooLarge(e.to_string()),
            _ => ApiError::InvalidRequest(e.to_string()),
        }
    }
}

pub const CHALLENGE: &str = "Basic realm=\"VAPI endpoint\"";

/// One row of the table: standard error id suffix, HTTP status on `/api`.
pub struct Mapped {
    pub id: &'static str,
    pub status: StatusCode,
    pub message_id: String,
    pub message: String,
    pub args: Vec<String>,
}

impl ApiError {
    pub fn mapped(&self) -> Mapped {
        let m = |id: &'static str, status: StatusCode, msg: String, args: Vec<String>| Mapped {
            id,
            status,
            message_id: format!("com.vmware.vapi.std.errors.{id}"),
            message: msg,
            args,
        };
        match self {
            ApiError::Core(e) => {
                let msg = e.to_string();
                match e {
                    CoreError::NotFound { id, .. } => {
                        m("not_found", StatusCode::NOT_FOUND, msg, vec![id.clone()])
                    }
                    CoreError::InvalidArgument { field, .. } => m(
                        "invalid_argument",
                        StatusCode::BAD_REQUEST,
                        msg,
                        vec![field.clone()],
                    ),
                    CoreError::InvalidState { .. } => m(
                        "not_allowed_in_current_state",
                        StatusCode::BAD_REQUEST,
                        msg,
                        vec![],
                    ),
                    CoreError::AlreadyInState { .. } => m(
                        "already_in_desired_state",
                        StatusCode::BAD_REQUEST,
                        msg,
                        vec![],
                    ),
                    CoreError::AlreadyExists { name, .. } => m(
                        "already_exists",
                        StatusCode::BAD_REQUEST,
                        msg,
                        vec![name.clone()],
                    ),
                    CoreError::Unauthenticated => Mapped {
                        id: "unauthenticated",
                        status: StatusCode::UNAUTHORIZED,
                        message_id: "vapi.security.authentication.invalid".into(),
                        message: "Unable to authenticate user".into(),
                        args: vec![],
                    },
                    // No standard vAPI error says "too many requests"; vCenter answers a
                    // spent allowance with unable_to_allocate_resource. The status is 429 so
                    // that HTTP clients back off, with Retry-After.
                    CoreError::TooManyLoginAttempts { .. } => m(
                        "unable_to_allocate_resource",
                        StatusCode::TOO_MANY_REQUESTS,
                        msg,
                        vec![],
                    ),
                    CoreError::NoPermission { privilege } => Mapped {
                        id: "unauthorized",
                        status: StatusCode::FORBIDDEN,
                        message_id: "vapi.security.authorization.invalid".into(),
                        message: msg,
                        args: vec![privilege.clone()],
                    },
                    CoreError::Timeout { .. } => {
                        m("timed_out", StatusCode::GATEWAY_TIMEOUT, msg, vec![])
                    }
                    CoreError::Cancelled { .. } => {
                        m("canceled", StatusCode::BAD_REQUEST, msg, vec![])
                    }
                    CoreError::NotSupported { operation } => m(
                        "unsupported",
                        StatusCode::BAD_REQUEST,
                        msg,
                        vec![operation.clone()],
                    ),
                    CoreError::Unavailable { .. } => m(
                        "service_unavailable",
                        StatusCode::SERVICE_UNAVAILABLE,
                        msg,
                        vec![],
                    ),
                    CoreError::NoHost { name, .. } | CoreError::HostConnect { name, .. } => m(
                        "resource_inaccessible",
                        StatusCode::BAD_REQUEST,
                        msg,
                        vec![name.clone()],
                    ),
                    CoreError::InvalidLogin => m(
                        "invalid_argument",
                        StatusCode::BAD_REQUEST,
                        msg,
                        vec!["password".into()],
                    ),
                    CoreError::SslVerify { thumbprint, .. } => m(
                        "unverified_peer",
                        StatusCode::INTERNAL_SERVER_ERROR,
                        msg,
                        vec![thumbprint.clone()],
                    ),
                    CoreError::AlreadyBeingManaged { ip_address } => m(
                        "resource_in_use",
                        StatusCode::BAD_REQUEST,
                        msg,
                        vec![ip_address.clone()],
                    ),
                    CoreError::NotSupportedHost { .. } => {
                        m("unsupported", StatusCode::BAD_REQUEST, msg, vec![])
                    }
                    CoreError::NotEnoughLicenses { .. } => m(
                        "unable_to_allocate_resource",
                        StatusCode::BAD_REQUEST,
                        msg,
                        vec![],
                    ),
                    CoreError::AlreadyConnected { name } => m(
                        "already_exists",
                        StatusCode::BAD_REQUEST,
                        msg,
                        vec![name.clone()],
                    ),
                    CoreError::Internal { .. } => m(
                        "internal_server_error",
                        StatusCode::INTERNAL_SERVER_ERROR,
                        msg,
                        vec![],
                    ),
                }
            }
            ApiError::InvalidRequest(msg) => m(
                "invalid_request",
                StatusCode::BAD_REQUEST,
                msg.clone(),
                vec![],
            ),
            ApiError::BodyTooLarge(msg) => m(
                "invalid_request",
                StatusCode::PAYLOAD_TOO_LARGE,
                msg.clone(),
                vec![],
            ),
            ApiError::Std { id, message } => m(id, std_status(id), message.clone(), vec![]),
            ApiError::OperationNotFound(what) => m(
                "operation_not_found",
                StatusCode::NOT_FOUND,
                format!("no operation at {what}"),
                vec![what.clone()],
            ),
        }
    }

    /// The error's fields as `/api` shows them (and as `/rest` nests them under `value`).
    pub fn fields(&self) -> (Mapped, Value) {
        let mapped = self.mapped();
        let args: Vec<&str> = mapped.args.iter().map(String::as_str).collect();
        let mut body = json!({
            "error_type": mapped.id.to_ascii_uppercase(),
            "messages": [loc_msg(&mapped.message_id, &mapped.message, &args)],
        });
        if mapped.status == StatusCode::UNAUTHORIZED {
            body["challenge"] = json!(CHALLENGE);
        }
        (mapped, body)
    }

    pub fn render(&self, flavor: Flavor) -> Response {
        let (mapped, fields) = self.fields();
        let body = match flavor {
            Flavor::Api => fields,
            Flavor::Rest => json!({
                "type": format!("com.vmware.vapi.std.errors.{}", mapped.id),
                "value": fields,
            }),
        };
        let mut resp = (
            mapped.status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
        if mapped.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(CHALLENGE),
            );
        }
        if let ApiError::Core(CoreError::TooManyLoginAttempts {
            retry_after_secs, ..
        }) = self
        {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        resp.headers_mut().insert(
            "vapi-error",
            HeaderValue::from_str(&mapped.id.to_ascii_uppercase())
                .unwrap_or(HeaderValue::from_static("ERROR")),
        );
        resp
    }
}

/// A vAPI REST result: the body on success, the error in the flavour's shape otherwise.
pub struct Answer {
    pub flavor: Flavor,
    pub result: Result<Reply, ApiError>,
}

/// What a successful operation sends back.
pub enum Reply {
    /// A value with a status (200, or 201 for session creation, 202 for tasks).
    Value(StatusCode, Value),
    /// No content: 204 on `/api`; `/rest` answers 200 with an empty body.
    Void,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        match self.result {
            Ok(Reply::Value(status, v)) => (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                self.flavor.wrap(v).to_string(),
            )
                .into_response(),
            Ok(Reply::Void) => match self.flavor {
                Flavor::Api => StatusCode::NO_CONTENT.into_response(),
                Flavor::Rest => StatusCode::OK.into_response(),
            },
            Err(e) => e.render(self.flavor),
        }
    }
}

/// `{"ERROR":{"com.vmware.vapi.std.errors.<id>":{…}}}` with the typed wrappers of §2.
pub fn encode_error(e: &ApiError) -> Value {
    let (mapped, _) = e.fields();
    let args: Vec<&str> = mapped.args.iter().map(String::as_str).collect();
    let mut fields = json!({
        "messages": [{"STRUCTURE": {"com.vmware.vapi.std.localizable_message": {
            "id": mapped.message_id,
            "default_message": mapped.message,
            "args": args,
            "params": {"OPTIONAL": null},
            "localized": {"OPTIONAL": null},
        }}}],
        "data": {"OPTIONAL": null},
        "error_type": {"OPTIONAL": mapped.id.to_ascii_uppercase()},
    });
    if mapped.status == StatusCode::UNAUTHORIZED {
        fields["challenge"] = json!({"OPTIONAL": CHALLENGE});
    }
    json!({"ERROR": {format!("com.vmware.vapi.std.errors.{}", mapped.id): fields}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_error_has_a_row() {
        let cases = [
            (CoreError::not_found("task", "x"), "not_found", 404),
            (
                CoreError::TooManyLoginAttempts {
                    scope: " from this address".into(),
                    retry_after_secs: 2,
                },
                "unable_to_allocate_resource",
                429,
            ),
            (CoreError::invalid("f", "bad"), "invalid_argument", 400),
            (
                CoreError::invalid_state("no"),
                "not_allowed_in_current_state",
                400,
            ),
            (
                CoreError::already_in_state("on"),
                "already_in_desired_state",
                400,
            ),
            (
                CoreError::AlreadyExists {
                    what: "user".into(),
                    name: "n".into(),
                },
                "already_exists",
                400,
            ),
            (CoreError::Unauthenticated, "unauthenticated", 401),
            (
                CoreError::NoPermission {
                    privilege: "System.Read".into(),
                },
                "unauthorized",
                403,
            ),
            (
                CoreError::Timeout {
                    message: "t".into(),
                },
                "timed_out",
                504,
            ),
            (
                CoreError::Cancelled {
                    message: "c".into(),
                },
                "canceled",
                400,
            ),
            (CoreError::not_supported("x.y"), "unsupported", 400),
            (
                CoreError::Unavailable {
                    message: "u".into(),
                },
                "service_unavailable",
                503,
            ),
            (CoreError::internal("i"), "internal_server_error", 500),
        ];
        for (e, id, status) in cases {
            let throttled = matches!(e, CoreError::TooManyLoginAttempts { .. });
            let m = ApiError::Core(e).mapped();
            assert_eq!((m.id, m.status.as_u16()), (id, status));
            // Login refusals alone answer 429 instead of the error's §7 status, so that HTTP
            // clients back off (docs/api/vapi.md).
            if !throttled {
                assert_eq!(
                    m.status,
                    std_status(m.id),
                    "{id} disagrees with the §7 table"
                );
            }
        }
    }

    #[test]
    fn invalid_argument_names_the_field() {
        let (_, body) = ApiError::Core(CoreError::invalid("duration_ms", "too big")).fields();
        assert_eq!(body["error_type"], "INVALID_ARGUMENT");
        assert_eq!(body["messages"][0]["args"][0], "duration_ms");
        assert!(body["messages"][0]["default_message"]
            .as_str()
            .unwrap()
            .contains("duration_ms"));
    }
}

#[cfg(test)]
mod std_error_tests {
    use super::*;
    use axum::body::to_bytes;

    /// Every row of reference §7, in all three wire forms.
    #[tokio::test]
    async fn every_standard_error_in_every_form() {
        for (id, status) in STD_ERRORS {
            let e = ApiError::Std {
                id,
                message: format!("a {id}"),
            };
            // /api: the status and {error_type, messages}.
            let r = e.render(Flavor::Api);
            assert_eq!(r.status().as_u16(), *status, "{id}");
            assert_eq!(r.headers()["vapi-error"], id.to_ascii_uppercase().as_str());
            let body: Value =
                serde_json::from_slice(&to_bytes(r.into_body(), 1 << 16).await.unwrap()).unwrap();
            assert_eq!(body["error_type"], id.to_ascii_uppercase(), "{id}");
            assert_eq!(body["messages"][0]["default_message"], format!("a {id}"));
            assert_eq!(body.get("challenge").is_some(), *status == 401, "{id}");
            // /rest: {type, value}.
            let r = e.render(Flavor::Rest);
            assert_eq!(r.status().as_u16(), *status, "{id}");
            let body: Value =
                serde_json::from_slice(&to_bytes(r.into_body(), 1 << 16).await.unwrap()).unwrap();
            assert_eq!(body["type"], format!("com.vmware.vapi.std.errors.{id}"));
            assert_eq!(body["value"]["error_type"], id.to_ascii_uppercase());
            // JSON-RPC: an ERROR value named by the full id, fields typed.
            let rpc = encode_error(&e);
            let fields = &rpc["ERROR"][format!("com.vmware.vapi.std.errors.{id}")];
            assert_eq!(fields["error_type"]["OPTIONAL"], id.to_ascii_uppercase());
            assert_eq!(
                fields["messages"][0]["STRUCTURE"]["com.vmware.vapi.std.localizable_message"]
                    ["default_message"],
                format!("a {id}")
            );
        }
    }
}

/// `operation_not_found` for an operation of the vSphere API that ferrocenter does not serve
/// yet, so a caller can tell it from a misspelt name.
pub fn not_served(id: &str) -> ApiError {
    ApiError::Std {
        id: "operation_not_found",
        message: format!("{id} is part of the vSphere API but ferrocenter does not serve it yet"),
    }
}
