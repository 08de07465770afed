//! The input rules as vAPI fields carry them. A field typed `Ty::Rule(r)` is checked by the
//! core's validator in the operation (after authorization), and the OpenAPI document states the
//! same rule (lengths, pattern, range) from the core's constants: one rule, so the two cannot
//! drift (`types::decode_rule` type-checks such a value on decode). `ApiReleases` is the one bound of this binding's own (hello reaches no core operation).
use ferrocenter_core::appliance::shutdown::{DELAY_MAX_MINUTES, REASON_MAX_CHARS};
use ferrocenter_core::appliance::{accounts, firewall};
use ferrocenter_core::auth::{
    self,
    password::{PASSWORD_MAX_BYTES, PASSWORD_MIN_CHARS},
    Role,
};
use ferrocenter_core::lcm;
use ferrocenter_core::CoreError;
use ferrocenter_core::{validate, weekly};
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
    /// The user name a host is added with (`validate::credential`).
    UserName,
    /// The password a host is added with (`validate::credential`), a secret.
    Password,
    /// `system.hello`'s releases: this binding's own bound ([`api_releases`]), as hello reaches
    /// no core operation.
    ApiReleases,
    /// A local account's name (`auth::validate_account_name`).
    AccountName,
    /// A local account's roles: at least one of operator, admin, superAdmin.
    AccountRoles,
    /// Free text shown to people: a full name (`appliance::accounts`' text rule).
    DisplayText,
    /// An e-mail address, `name@domain` (`appliance::accounts`' e-mail rule).
    Email,
    /// A day count of password aging: -1 (no restriction) to `accounts::DAYS_MAX`.
    PasswordDays,
    /// A character count of the password policy: -1 (no requirement) to the longest password.
    CharCount,
    /// The policy's minimum password length: -1 (the floor) or the floor to the longest password.
    MinimumLength,
    /// A firewall rule's address: IPv4 or IPv6 (`appliance::firewall`).
    IpAddress,
    /// A firewall rule's prefix length: 0 to 128; an IPv4 rule's at most 32, which no schema
    /// of one field can say (`appliance::firewall`).
    PrefixLength,
    /// A network interface's name (`appliance::firewall::interface_name`).
    InterfaceName,
    /// An appliance shutdown's delay in minutes (`appliance::shutdown::delay`).
    ShutdownDelay,
    /// An appliance shutdown's reason (`appliance::shutdown::reason`).
    ShutdownReason,
    /// A list's `iteration.size`: at least 1 (`appliance::support_bundle`).
    IterationSize,
    /// An associated product's name: a product of the LCM catalog (`lcm::products`).
    LcmProductName,
    /// A product or ferrocenter version (`lcm::products::version_form`; the catalog's lines
    /// are checked in the operation).
    LcmVersion,
    /// Where an associated product runs: addresses or DNS names, none twice
    /// (`lcm::products::deployments`).
    LcmDeployments,
    /// The hour of a weekly time, 0 to 23 (`weekly::check_time`).
    Hour,
    /// The minute of a weekly time, 0 to 59 (`weekly::check_time`).
    Minute,
}

/// No control character (Unicode category Cc), as the core's text rules refuse them.
const NO_CONTROL_CHARACTERS: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";

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
    pub const ALL: [Rule; 25] = [
        Rule::EntityName,
        Rule::HostName,
        Rule::Port,
        Rule::Thumbprint,
        Rule::UserName,
        Rule::Password,
        Rule::ApiReleases,
        Rule::AccountName,
        Rule::AccountRoles,
        Rule::DisplayText,
        Rule::Email,
        Rule::PasswordDays,
        Rule::CharCount,
        Rule::MinimumLength,
        Rule::IpAddress,
        Rule::PrefixLength,
        Rule::InterfaceName,
        Rule::ShutdownDelay,
        Rule::ShutdownReason,
        Rule::IterationSize,
        Rule::LcmProductName,
        Rule::LcmVersion,
        Rule::LcmDeployments,
        Rule::Hour,
        Rule::Minute,
    ];

    /// Whether the value is one text value (so it can be given in a query string).
    pub fn is_scalar(self) -> bool {
        !matches!(
            self,
            Rule::ApiReleases | Rule::AccountRoles | Rule::LcmDeployments
        )
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
            Rule::ApiReleases => json!({
                "type": "array",
                "minItems": 1,
                "maxItems": RELEASES_MAX,
                "items": {"type": "string", "maxLength": RELEASE_ID_MAX_CHARS},
            }),
            Rule::AccountName => json!({
                "type": "string",
                "minLength": 1,
                "maxLength": auth::ACCOUNT_NAME_MAX_CHARS,
                "pattern": auth::ACCOUNT_NAME_PATTERN,
            }),
            Rule::AccountRoles => json!({
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "string",
                    "enum": Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                },
            }),
            Rule::DisplayText => json!({
                "type": "string",
                "maxLength": accounts::TEXT_MAX_CHARS,
                "pattern": NO_CONTROL_CHARACTERS,
            }),
            Rule::Email => json!({
                "type": "string",
                "format": "email",
                "maxLength": accounts::TEXT_MAX_CHARS,
            }),
            Rule::PasswordDays => json!({
                "type": "integer",
                "format": "int64",
                "minimum": accounts::DAYS_MIN,
                "maximum": accounts::DAYS_MAX,
            }),
            Rule::CharCount => json!({
                "type": "integer",
                "format": "int64",
                "minimum": -1,
                "maximum": PASSWORD_MAX_BYTES,
            }),
            Rule::MinimumLength => json!({
                "type": "integer",
                "format": "int64",
                "anyOf": [
                    {"enum": [-1]},
                    {"minimum": PASSWORD_MIN_CHARS, "maximum": PASSWORD_MAX_BYTES},
                ],
            }),
            Rule::IpAddress => json!({
                "type": "string",
                "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}],
                "description": "an IPv4 or IPv6 address",
            }),
            Rule::PrefixLength => json!({
                "type": "integer",
                "format": "int64",
                "minimum": 0,
                "maximum": firewall::IPV6_PREFIX_MAX,
                "description": format!(
                    "the network's prefix length: at most {} for an IPv4 address",
                    firewall::IPV4_PREFIX_MAX
                ),
            }),
            Rule::ShutdownDelay => json!({
                "type": "integer",
                "format": "int64",
                "minimum": 0,
                "maximum": DELAY_MAX_MINUTES,
            }),
            Rule::IterationSize => json!({
                "type": "integer",
                "format": "int64",
                "minimum": ferrocenter_core::appliance::support_bundle::ITERATION_SIZE_MIN,
            }),
            Rule::Hour => json!({
                "type": "integer",
                "format": "int64",
                "minimum": 0,
                "maximum": weekly::HOUR_MAX,
            }),
            Rule::Minute => json!({
                "type": "integer",
                "format": "int64",
                "minimum": 0,
                "maximum": weekly::MINUTE_MAX,
            }),
            Rule::ShutdownReason => json!({
                "type": "string",
                "maxLength": REASON_MAX_CHARS,
            }),
            Rule::LcmProductName => json!({
                "type": "string",
                "enum": lcm::catalog::catalog()
                    .associable()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>(),
            }),
            Rule::LcmVersion => json!({
                "type": "string",
                "minLength": 1,
                "maxLength": lcm::products::VERSION_MAX_CHARS,
                "pattern": lcm::products::VERSION_PATTERN,
            }),
            Rule::LcmDeployments => json!({
                "type": "array",
                "maxItems": lcm::products::DEPLOYMENTS_MAX,
                "uniqueItems": true,
                "items": Rule::HostName.schema(),
            }),
            Rule::InterfaceName => json!({
                "type": "string",
                "pattern": firewall::INTERFACE_NAME_PATTERN,
            }),
        }
    }
}
