//! The outside world of identity federation: an OIDC provider's documents over HTTPS and an
//! LDAP directory. The core decides what is valid; these ports only fetch, bind and search.
use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;

/// Why a provider could not be reached or refused. Messages name the address, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FederationError {
    /// Nothing answered, or the connection broke (DNS, refused, timeout, TLS failure).
    #[error("{0}")]
    Unreachable(String),
    /// It answered, but not with what was asked (an HTTP error status, a body that is not JSON,
    /// an LDAP error result).
    #[error("{0}")]
    Refused(String),
    /// The directory refused the bind's user name or password.
    #[error("the directory refused the user name or password")]
    InvalidCredentials,
    /// No adapter is wired (a core built without the federation ports).
    #[error("identity federation is not available on this server")]
    NotAvailable,
}

/// A password that never shows in `Debug`; only `expose` reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct BindPassword(String);

impl BindPassword {
    pub fn new(p: impl Into<String>) -> BindPassword {
        BindPassword(p.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BindPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BindPassword(<redacted>)")
    }
}

/// Fetches JSON documents over HTTP(S): TLS trusts the system's and the web's roots plus the
/// PEM certificates given (the provider trusted roots managed through the API).
#[async_trait]
pub trait OidcFetcher: Send + Sync {
    async fn get_json(
        &self,
        url: &str,
        extra_roots_pem: &[String],
    ) -> Result<serde_json::Value, FederationError>;
}

/// One LDAP server and the account that binds to it. `cert_chain_pem` is what an `ldaps://`
/// server's certificate must chain to (only these roots are trusted there).
#[derive(Debug, Clone)]
pub struct LdapTarget {
    pub url: String,
    pub bind_user: String,
    pub password: BindPassword,
    pub cert_chain_pem: Vec<String>,
}

/// One entry a search found: its DN and the attributes asked for (names lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapEntry {
    pub dn: String,
    pub attrs: BTreeMap<String, Vec<String>>,
}

/// An LDAP directory, reached with a simple bind.
#[async_trait]
pub trait LdapDirectory: Send + Sync {
    /// Connects and binds (and unbinds); Ok when the directory accepted the account.
    async fn check_bind(&self, target: &LdapTarget) -> Result<(), FederationError>;
    /// Binds, then searches the subtree under `base_dn` with `filter`, returning at most
    /// `limit` entries with `attrs`.
    async fn search(
        &self,
        target: &LdapTarget,
        base_dn: &str,
        filter: &str,
        attrs: &[&str],
        limit: usize,
    ) -> Result<Vec<LdapEntry>, FederationError>;
}

/// Why a JSON Web Token was not accepted by the signature check. The core answers every one
/// the same way to the caller; the reason only reaches the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts of JSON, or a header without an algorithm.
    #[error("the token is not a well-formed JWT: {0}")]
    Malformed(String),
    /// The algorithm is not an asymmetric signature this server accepts (`none`, HMAC…).
    #[error("the token's algorithm {0} is not accepted")]
    Algorithm(String),
    /// No key of the set has the token's `kid` (or, without one, fits its algorithm).
    #[error("no key of the provider's key set matches the token")]
    UnknownKey,
    /// A key matched and the signature does not verify with it.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// No adapter is wired.
    #[error("token verification is not available on this server")]
    NotAvailable,
}

/// A token's header and claims read without checking anything: enough to choose the provider
/// and its key. Nothing here may be trusted before [`JwtVerifier::verify`] succeeds.
#[derive(Debug, Clone, PartialEq)]
pub struct UnverifiedJwt {
    pub alg: String,
    pub kid: Option<String>,
    pub claims: serde_json::Value,
}

/// A JOSE library's JWS signature check (RFC 7515/7519) against a JWKS (RFC 7517). It checks
/// the signature only: which issuer, audience and validity window are acceptable is the core's
/// rule.
pub trait JwtVerifier: Send + Sync {
    fn inspect(&self, token: &str) -> Result<UnverifiedJwt, JwtError>;
    /// The claims, once the signature verifies with the key of `jwks` the token names.
    fn verify(&self, token: &str, jwks: &serde_json::Value) -> Result<serde_json::Value, JwtError>;
}

/// No federation wired (tests of the core alone): every call says so.
pub struct NoFederation;

#[async_trait]
impl OidcFetcher for NoFederation {
    async fn get_json(&self, _: &str, _: &[String]) -> Result<serde_json::Value, FederationError> {
        Err(FederationError::NotAvailable)
    }
}

#[async_trait]
impl LdapDirectory for NoFederation {
    async fn check_bind(&self, _: &LdapTarget) -> Result<(), FederationError> {
        Err(FederationError::NotAvailable)
    }

    async fn search(
        &self,
        _: &LdapTarget,
        _: &str,
        _: &str,
        _: &[&str],
        _: usize,
    ) -> Result<Vec<LdapEntry>, FederationError> {
        Err(FederationError::NotAvailable)
    }
}

impl JwtVerifier for NoFederation {
    fn inspect(&self, _: &str) -> Result<UnverifiedJwt, JwtError> {
        Err(JwtError::NotAvailable)
    }

    fn verify(&self, _: &str, _: &serde_json::Value) -> Result<serde_json::Value, JwtError> {
        Err(JwtError::NotAvailable)
    }
}
