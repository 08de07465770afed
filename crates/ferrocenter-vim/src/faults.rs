//! The VI/JSON binding's one fault table: core errors to vim faults, sent as the bare
//! MethodFault object with HTTP 500 and the JSON content type.
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use ferrocenter_core::CoreError;
use ferrocenter_http::releases::{NEWEST_PUBLISHED, PUBLISHED};
use serde_json::{json, Map, Value};

/// A vim fault: its type name, its own fields, and a message.
#[derive(Debug)]
pub struct VimFault {
    pub type_name: &'static str,
    pub fields: Map<String, Value>,
    pub message: String,
    /// Refusals for too many logins answer 429 with `Retry-After` instead of 500.
    pub retry_after_secs: Option<u64>,
    /// A body over the listener's limit answers 413 instead of 500, so a client that only
    /// reads the status knows not to send it again as it is.
    pub too_large: bool,
}

impl VimFault {
    pub fn new(type_name: &'static str, message: impl Into<String>) -> Self {
        VimFault {
            type_name,
            fields: Map::new(),
            message: message.into(),
            retry_after_secs: None,
            too_large: false,
        }
    }

    /// InvalidRequest for a body over the limit, sent with HTTP 413.
    pub fn body_too_large(message: impl Into<String>) -> Self {
        VimFault {
            too_large: true,
            ..VimFault::invalid_request(message)
        }
    }

    pub fn with(mut self, field: &str, value: Value) -> Self {
        self.fields.insert(field.into(), value);
        self
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        VimFault::new("InvalidRequest", message)
    }

    /// A release outside the range served, named in the URL (VI/JSON) or SOAPAction (SOAP).
    pub fn release_not_served(release: &str) -> Self {
        VimFault::invalid_request(format!(
            "release {release} is not served: use {} through {}",
            PUBLISHED[0], NEWEST_PUBLISHED
        ))
    }

    pub fn method_not_found(mo_type: &str, mo_id: &str, method: &str) -> Self {
        VimFault::new(
            "MethodNotFound",
            format!("{mo_type} has no method {method}"),
        )
        .with("receiver", moref(mo_type, mo_id))
        .with("method", json!(method))
    }

    pub fn not_found(mo_type: &str, mo_id: &str) -> Self {
        VimFault::new(
            "ManagedObjectNotFound",
            format!("the object {mo_type}:{mo_id} has already been deleted or has not been completely created"),
        )
        .with("obj", moref(mo_type, mo_id))
    }

    pub fn body(&self) -> Value {
        let mut v = json!({
            "_typeName": self.type_name,
            "faultMessage": [{
                "_typeName": "LocalizableMessage",
                "key": format!("com.ferrocenter.fault.{}", self.type_name),
                "message": self.message,
            }],
        });
        for (k, val) in &self.fields {
            v[k] = val.clone();
        }
        v
    }
}

pub fn moref(mo_type: &str, value: &str) -> Value {
    json!({"_typeName": "ManagedObjectReference", "type": mo_type, "value": value})
}

impl From<CoreError> for VimFault {
    fn from(e: CoreError) -> Self {
        let msg = e.to_string();
        match e {
            CoreError::NotFound { .. } => VimFault::new("NotFound", msg),
            CoreError::InvalidArgument { field, .. } => {
                VimFault::new("InvalidArgument", msg).with("invalidProperty", json!(field))
            }
            // vim has no general "already as asked" fault: PowerOnVM_Task on a running VM and
            // DisconnectHost_Task on a disconnected host answer InvalidState. Methods with a
            // fault of their own (lockdown's AdminDisabled) map this case themselves.
            CoreError::InvalidState { .. } | CoreError::AlreadyInState { .. } => {
                VimFault::new("InvalidState", msg)
            }
            CoreError::AlreadyExists { name, .. } => {
                VimFault::new("DuplicateName", msg).with("name", json!(name))
            }
            CoreError::Unauthenticated => {
                VimFault::new("NotAuthenticated", "the session is not authenticated")
            }
            // vim has no fault for a spent login allowance; RequestCanceled with the reason,
            // sent with HTTP 429 and Retry-After, tells HTTP clients to back off.
            CoreError::TooManyLoginAttempts {
                retry_after_secs, ..
            } => VimFault {
                retry_after_secs: Some(retry_after_secs),
                ..VimFault::new("RequestCanceled", msg)
            },
            CoreError::NoPermission { privilege } => {
                VimFault::new("NoPermission", msg).with("privilegeId", json!(privilege))
            }
            CoreError::Timeout { .. } => VimFault::new("Timedout", msg),
            CoreError::Cancelled { .. } => VimFault::new("RequestCanceled", msg),
            CoreError::NotSupported { .. } => VimFault::new("NotSupported", msg),
            CoreError::NoHost { name, .. } => {
                VimFault::new("NoHost", msg).with("name", json!(name))
            }
            CoreError::HostConnect { .. } => VimFault::new("HostConnectFault", msg),
            CoreError::InvalidLogin => VimFault::new("InvalidLogin", msg),
            CoreError::SslVerify {
                thumbprint,
                self_signed,
            } => VimFault::new("SSLVerifyFault", msg)
                .with("selfSigned", json!(self_signed))
                .with("thumbprint", json!(thumbprint)),
            CoreError::AlreadyBeingManaged { ip_address } => {
                VimFault::new("AlreadyBeingManaged", msg).with("ipAddress", json!(ip_address))
            }
            CoreError::NotSupportedHost { product, version } => {
                VimFault::new("NotSupportedHost", msg)
                    .with("productName", json!(product))
                    .with("productVersion", json!(version))
            }
            CoreError::NotEnoughLicenses { .. } => VimFault::new("NotEnoughLicenses", msg),
            CoreError::AlreadyConnected { name } => {
                VimFault::new("AlreadyConnected", msg).with("name", json!(name))
            }
            CoreError::Unavailable { .. } | CoreError::Internal { .. } => {
                VimFault::new("SystemError", msg.clone()).with("reason", json!(msg))
            }
        }
    }
}

impl IntoResponse for VimFault {
    fn into_response(self) -> Response {
        let status = match self.retry_after_secs {
            Some(_) => StatusCode::TOO_MANY_REQUESTS,
            None if self.too_large => StatusCode::PAYLOAD_TOO_LARGE,
            None => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut resp = (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body().to_string(),
        )
            .into_response();
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        resp
    }
}

/// A fault from a type name and message (for the router's fallbacks).
pub fn fault(type_name: &'static str, message: &str) -> Response {
    VimFault::new(type_name, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_connect_faults_carry_their_fields() {
        let f = VimFault::from(CoreError::SslVerify {
            thumbprint: "AB:CD".into(),
            self_signed: true,
        });
        let b = f.body();
        assert_eq!(b["_typeName"], "SSLVerifyFault");
        assert_eq!(b["thumbprint"], "AB:CD");
        assert_eq!(b["selfSigned"], true);
        let b = VimFault::from(CoreError::invalid("cnxSpec.hostName", "bad")).body();
        assert_eq!(b["invalidProperty"], "cnxSpec.hostName");
        let b = VimFault::from(CoreError::AlreadyBeingManaged {
            ip_address: "10.0.0.1".into(),
        })
        .body();
        assert_eq!(b["ipAddress"], "10.0.0.1");
        let b = VimFault::from(CoreError::already_in_state("VM a is already poweredOn")).body();
        assert_eq!(b["_typeName"], "InvalidState");
    }
}
