//! Signatures over raw request bytes by the key of a holder-of-key token's certificate (the
//! vAPI runtime signs its JSON-RPC requests so): the certificate read by x509-parser, the
//! signature checked by ring.
use ferrocenter_core::ports::{RequestSignatureAlgorithm, TokenCryptoError};
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_parser::oid_registry::{OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION};
use x509_parser::prelude::{FromDer, X509Certificate};

pub fn verify(
    message: &[u8],
    sig: &[u8],
    algorithm: RequestSignatureAlgorithm,
    certificate_der: &[u8],
) -> Result<(), TokenCryptoError> {
    use RequestSignatureAlgorithm as A;
    let (_, cert) = X509Certificate::from_der(certificate_der)
        .map_err(|e| TokenCryptoError::Malformed(format!("the bound certificate: {e}")))?;
    let spki = cert.public_key();
    let (key_type, ring_alg): (_, &'static dyn VerificationAlgorithm) = match algorithm {
        A::Rs256 => (
            OID_PKCS1_RSAENCRYPTION,
            &signature::RSA_PKCS1_2048_8192_SHA256,
        ),
        A::Rs384 => (
            OID_PKCS1_RSAENCRYPTION,
            &signature::RSA_PKCS1_2048_8192_SHA384,
        ),
        A::Rs512 => (
            OID_PKCS1_RSAENCRYPTION,
            &signature::RSA_PKCS1_2048_8192_SHA512,
        ),
        A::Es256 => (
            OID_KEY_TYPE_EC_PUBLIC_KEY,
            &signature::ECDSA_P256_SHA256_FIXED,
        ),
        A::Es384 => (
            OID_KEY_TYPE_EC_PUBLIC_KEY,
            &signature::ECDSA_P384_SHA384_FIXED,
        ),
    };
    if spki.algorithm.algorithm != key_type {
        return Err(TokenCryptoError::BadSignature(format!(
            "{algorithm:?} does not suit the bound certificate's key"
        )));
    }
    // For both key types ring takes the subjectPublicKey bit string's contents: the RSA
    // public key's DER, or the uncompressed EC point.
    UnparsedPublicKey::new(ring_alg, spki.subject_public_key.data.as_ref())
        .verify(message, sig)
        .map_err(|_| TokenCryptoError::BadSignature("the request signature does not verify".into()))
}
