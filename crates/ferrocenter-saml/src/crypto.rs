//! The core's [`TokenCrypto`] port over libxmlsec1, with signing identities made by rcgen.
use ferrocenter_core::ports::{
    Assertion, PresentedToken, RequestSignatureAlgorithm, SigningIdentity, TokenCrypto,
    TokenCryptoError,
};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use time::{Duration, OffsetDateTime};

use crate::{assertion, wssec};

/// How long a signing certificate is valid: rotation, not expiry, is how keys are replaced.
const CERT_VALIDITY: Duration = Duration::days(3650);

#[derive(Debug, Default, Clone, Copy)]
pub struct XmlSecTokens;

impl TokenCrypto for XmlSecTokens {
    fn generate_identity(&self, domain: &str) -> Result<SigningIdentity, TokenCryptoError> {
        let fail = |e: rcgen::Error| TokenCryptoError::Signing(e.to_string());
        // ECDSA P-256: the key kind ring (rcgen's backend) can generate.
        let key = KeyPair::generate().map_err(fail)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("STS signing ({domain})"));
        dn.push(DnType::OrganizationName, domain.to_string());
        params.distinguished_name = dn;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + CERT_VALIDITY;
        let cert = params.self_signed(&key).map_err(fail)?;
        Ok(SigningIdentity {
            key_pem: key.serialize_pem(),
            cert_pem: cert.pem(),
        })
    }

    fn sign(&self, a: &Assertion, key: &SigningIdentity) -> Result<String, TokenCryptoError> {
        assertion::sign(a, key)
    }

    fn verify(&self, xml: &str, trusted: &[String]) -> Result<Assertion, TokenCryptoError> {
        assertion::verify(xml, trusted)
    }

    fn presented_in_envelope(
        &self,
        envelope: &str,
        now: OffsetDateTime,
    ) -> Result<Option<PresentedToken>, TokenCryptoError> {
        wssec::presented_token(envelope, now).map_err(TokenCryptoError::BadSignature)
    }

    fn verify_request_signature(
        &self,
        message: &[u8],
        signature: &[u8],
        algorithm: RequestSignatureAlgorithm,
        certificate_der: &[u8],
    ) -> Result<(), TokenCryptoError> {
        crate::request_signature::verify(message, signature, algorithm, certificate_der)
    }
}
