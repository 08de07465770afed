//! The input rules as vAPI fields carry them. A field typed `Ty::Rule(r)` is checked by the
//! core's validator in the operation (after authorization), and the OpenAPI document states the
//! same rule (lengths, pattern, range) from the core's constants: one rule, so the two cannot
//! drift. `ApiReleases` is the one bound of this binding's own (hello reaches no core operation).
use ferrocenter_core::appliance::shutdown::{DELAY_MAX_MINUTES, REASON_MAX_CHARS};
use ferrocenter_core::validate;
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use crate::types::{self, Form, Ty};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// An inventory name (`validate::entity_name`).
    EntityName,
    /// An IP address or DNS name (`validate::host_name`).
    HostName,
    /// A TCP port (`validate::port`).
    Port,
    /// A SHA-256 thumbprint in any common spelling (`validate::thumbprint`).
    Thumbprint,
    /// The user name a host is added with (`validate::credential`).
    UserName,
    /// The password a host is added with (`validate::credential`), a secret.
    Password,
    /// `system.hello`'s releases: this binding's own bound ([`api_releases`]), as hello reaches
    /// no core operation.
    ApiReleases,
    /// An appliance shutdown's delay in minutes (`appliance::shutdown::delay`).
    ShutdownDelay,
    /// An appliance shutdown's reason (`appliance::shutdown::reason`).
    ShutdownReason,
}

/// At most this many releases in a hello, each at most [`RELEASE_ID_MAX_CHARS`] characters.
pub const RELEASES_MAX: usize = 128;
pub const RELEASE_ID_MAX_CHARS: usize = 64;

/// `system.hello`'s `api_releases`: 1 to [`RELEASES_MAX`] ids of at most
/// [`RELEASE_ID_MAX_CHARS`] characters.
pub fn api_releases(path: &str, releases: &[String]) -> Result<(), CoreError> {
    if releases.is_empty() || releases.len() > RELEASES_MAX {
        return Err(CoreError::invalid(
            path,
            format!("must list 1 to {RELEASES_MAX} release ids"),
        ));
    }
    if let Some(long) = releases
        .iter()
        .find(|r| r.chars().count() > RELEASE_ID_MAX_CHARS)
    {
        let head: String = long.chars().take(16).collect();
        return Err(CoreError::invalid(
            path,
            format!("'{head}…' is longer than {RELEASE_ID_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

impl Rule {
    /// Every rule, for the document's test.
    pub const ALL: [Rule; 9] = [
        Rule::EntityName,
        Rule::HostName,
        Rule::Port,
        Rule::Thumbprint,
        Rule::UserName,
        Rule::Password,
        Rule::ApiReleases,
        Rule::ShutdownDelay,
        Rule::ShutdownReason,
    ];

    /// The native value, type-checked only: the rule itself is applied by the operation, after
    /// it has authorized the caller (so a caller without the privilege learns nothing about its
    /// input); the error names the field by `path`.
    pub fn decode(self, v: &Value, form: Form, path: &str) -> Result<Value, CoreError> {
        let path = if path.is_empty() { "input" } else { path };
        let (typed, want) = match self {
            Rule::Port | Rule::ShutdownDelay => (v.is_i64(), "an integer"),
            // A secret, in JSON-RPC wrapped as `{"SECRET": …}`.
            Rule::Password => return types::decode(&Ty::Secret, v, form, path),
            Rule::ApiReleases => (
                v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
                "a list of strings",
            ),
            _ => (v.is_string(), "a string"),
        };
        if typed {
            Ok(v.clone())
        } else {
            Err(CoreError::invalid(path, format!("must be {want}")))
        }
    }

    /// Whether the value is one text value (so it can be given in a query string).
    pub fn is_scalar(self) -> bool {
        self != Rule::ApiReleases
    }

    /// The rule as a JSON schema.
    pub fn schema(self) -> Value {
        match self {
            Rule::EntityName => json!({
                "type": "string",
                "minLength": 1,
                "maxLength": validate::NAME_MAX_CHARS,
                "pattern": validate::entity_name_pattern(),
            }),
            Rule::HostName => json!({
                "type": "string",
                "minLength": 1,
                "maxLength": validate::HOST_NAME_MAX_CHARS,
                "anyOf": [{"pattern": validate::DNS_NAME_PATTERN}, {"format": "ipv6"}],
                "description": "an IP address or a DNS name",
            }),
            Rule::Port => json!({
                "type": "integer",
                "format": "int64",
                "minimum": validate::PORT_MIN,
                "maximum": validate::PORT_MAX,
            }),
            Rule::Thumbprint => json!({
                "type": "string",
                "pattern": validate::THUMBPRINT_PATTERN,
            }),
            Rule::UserName => json!({
                "type": "string",
                "minLength": validate::CREDENTIAL_MIN_CHARS,
            }),
            Rule::Password => json!({
                "type": "string",
                "format": "password",
                "minLength": validate::CREDENTIAL_MIN_CHARS,
            }),
            Rule::ShutdownDelay => json!({
                "type": "integer",
                "format": "int64",
                "minimum": 0,
                "maximum": DELAY_MAX_MINUTES,
            }),
            Rule::ShutdownReason => json!({
                "type": "string",
                "maxLength": REASON_MAX_CHARS,
            }),
            Rule::ApiReleases => json!({
                "type": "array",
                "minItems": 1,
                "maxItems": RELEASES_MAX,
                "items": {"type": "string", "maxLength": RELEASE_ID_MAX_CHARS},
            }),
        }
    }
}
