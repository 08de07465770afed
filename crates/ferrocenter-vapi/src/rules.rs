//! The core's input rules as vAPI fields carry them. A field typed `Ty::Rule(r)` is checked by
//! the core's validator in the operation (after authorization), and the OpenAPI document
//! states the same rule (lengths, pattern, range) from the core's constants: one rule, so the
//! two cannot drift.
use ferrocenter_core::validate;
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

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
}

impl Rule {
    /// Every rule, for the document's test.
    pub const ALL: [Rule; 4] = [
        Rule::EntityName,
        Rule::HostName,
        Rule::Port,
        Rule::Thumbprint,
    ];

    /// The native value, type-checked only: the rule itself is applied by the core operation,
    /// after it has authorized the caller (so a caller without the privilege learns nothing
    /// about its input); the error names the field by `path`.
    pub fn decode(self, v: &Value, path: &str) -> Result<Value, CoreError> {
        let path = if path.is_empty() { "input" } else { path };
        let typed = if self == Rule::Port {
            v.is_i64()
        } else {
            v.is_string()
        };
        if typed {
            Ok(v.clone())
        } else {
            let want = if self == Rule::Port {
                "an integer"
            } else {
                "a string"
            };
            Err(CoreError::invalid(path, format!("must be {want}")))
        }
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
        }
    }
}
