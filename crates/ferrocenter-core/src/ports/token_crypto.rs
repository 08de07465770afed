//! The signing and checking of SAML assertions. XML canonicalisation and signatures are a wire
//! matter with a C library behind them, so the core reaches them through this port; the rules
//! (who, for how long, which flags, which audience, which key is proven) stay in
//! `auth::tokens`. The real implementation is `ferrocenter-saml` (libxmlsec1).
use time::OffsetDateTime;

/// A signing key and its certificate, both PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningIdentity {
    pub key_pem: String,
    pub cert_pem: String,
}

impl std::fmt::Debug for SigningIdentity {
    // The private key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningIdentity")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

/// How the subject proves it is the subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// Whoever holds the token.
    Bearer,
    /// Whoever proves possession of this certificate's key (DER).
    HolderOfKey { certificate_der: Vec<u8> },
}

/// What an assertion says, as the core decides it (to sign) or reads it back (once verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The assertion's `ID` (an NCName).
    pub id: String,
    /// The token service that issued it (its URL-like name).
    pub issuer: String,
    /// `user@domain` (UPN format).
    pub subject: String,
    /// The SSO domain the subject belongs to.
    pub domain: String,
    /// The subject's groups, `domain\name`.
    pub groups: Vec<String>,
    pub issued_at: OffsetDateTime,
    pub not_before: OffsetDateTime,
    pub not_on_or_after: OffsetDateTime,
    /// Relying parties the token is meant for; empty means any.
    pub audiences: Vec<String>,
    pub confirmation: Confirmation,
    pub renewable: bool,
    pub delegatable: bool,
    /// Who acts for the subject when the token was issued by delegation (ActAs).
    pub delegate: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenCryptoError {
    /// the token is not well-formed: {0}
    #[error("the token is not well-formed: {0}")]
    Malformed(String),
    /// the token's signature is missing, does not cover the assertion, or does not verify
    #[error("the token's signature does not verify: {0}")]
    BadSignature(String),
    /// the signing key could not be made or used
    #[error("signing failed: {0}")]
    Signing(String),
}

/// A SAML token a SOAP request presents in its WS-Security header (vim `LoginByToken`), as
/// the adapter read it; the token itself is not verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedToken {
    /// The assertion as it stood in the header.
    pub assertion_xml: String,
    /// The request's own signature, when it had one and it verified.
    pub signature: Option<RequestSignature>,
}

/// A request signature that verified: over the SOAP Body and the `wsu:Timestamp`, with the key
/// of the certificate it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSignature {
    /// The certificate (DER) whose key signed the request: a holder-of-key token's proof.
    pub certificate_der: Vec<u8>,
    /// The `SignatureValue` as sent: the same value twice is the same request sent again.
    pub value: String,
    /// The last moment the adapter would accept this request: its signed Timestamp's
    /// `Expires` plus the clock tolerance; `None` when it carries no Timestamp.
    pub accepted_until: Option<OffsetDateTime>,
}

/// How a client signed a request with the key of its holder-of-key token: the JWS names the
/// vAPI runtime sends as `signatureAlgorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestSignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, -384, -512.
    Rs256,
    Rs384,
    Rs512,
    /// ECDSA with P-256/SHA-256 and P-384/SHA-384 (the signature as JWS writes it, `r‖s`).
    Es256,
    Es384,
}

impl RequestSignatureAlgorithm {
    /// The algorithm a JWS name (`RS256`, …) names, if it is one this server verifies.
    pub fn from_jws(name: &str) -> Option<Self> {
        Some(match name {
            "RS256" => Self::Rs256,
            "RS384" => Self::Rs384,
            "RS512" => Self::Rs512,
            "ES256" => Self::Es256,
            "ES384" => Self::Es384,
            _ => return None,
        })
    }
}

pub trait TokenCrypto: Send + Sync + 'static {
    /// A new key pair and a self-signed certificate naming the SSO domain.
    fn generate_identity(&self, domain: &str) -> Result<SigningIdentity, TokenCryptoError>;
    /// The assertion as XML, signed (enveloped XML-DSig, exclusive C14N) with `key`.
    fn sign(
        &self,
        assertion: &Assertion,
        key: &SigningIdentity,
    ) -> Result<String, TokenCryptoError>;
    /// Reads `xml` as one signed assertion and returns what it says, only if its signature
    /// covers the whole assertion and verifies under one of `trusted` (PEM certificates); the
    /// caller checks times, audience and proof.
    fn verify(&self, xml: &str, trusted: &[String]) -> Result<Assertion, TokenCryptoError>;
    /// Reads the SAML token in a SOAP envelope's `wsse:Security` header and checks the
    /// request's signature (Body and a current Timestamp) when it is signed. `Ok(None)`: the
    /// envelope presents no token. A signature that does not verify is `BadSignature`.
    fn presented_in_envelope(
        &self,
        envelope: &str,
        now: OffsetDateTime,
    ) -> Result<Option<PresentedToken>, TokenCryptoError>;
    /// Whether `signature` is `algorithm`'s signature of `message` by the key of the
    /// certificate `certificate_der` (a holder-of-key token's, proving its possession).
    /// `BadSignature` when it is not; `Malformed` when the certificate cannot be read.
    fn verify_request_signature(
        &self,
        message: &[u8],
        signature: &[u8],
        algorithm: RequestSignatureAlgorithm,
        certificate_der: &[u8],
    ) -> Result<(), TokenCryptoError>;
}
