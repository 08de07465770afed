//! TLS verification by thumbprint: each endpoint gets a synthetic server name, the verifier
//! accepts exactly the pinned certificate for that name and records what it saw otherwise.
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// The SHA-256 thumbprint of a DER certificate: upper-case hex pairs joined by colons.
pub fn sha256_thumbprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The SHA-256 thumbprint of the first certificate in a PEM text, if it holds one.
pub fn pem_thumbprint(pem: &str) -> Option<String> {
    use rustls::pki_types::pem::PemObject;
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).ok()?;
    Some(sha256_thumbprint(der.as_ref()))
}

/// Accepts `ab:cd…`, `ABCD…` or `ab cd …`; returns the canonical form, or None if it is not
/// 32 bytes of hex.
pub fn normalize_thumbprint(s: &str) -> Option<String> {
    let hex_digits: String = s
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect();
    let bytes = hex::decode(&hex_digits).ok()?;
    if bytes.len() != 32 {
        return None;
    }
    Some(
        bytes
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// What a handshake showed for one server name.
#[derive(Debug, Clone)]
pub struct Seen {
    pub thumbprint: String,
    pub self_signed: bool,
}

#[derive(Debug, Default)]
pub struct Pins {
    pub expected: RwLock<HashMap<String, Option<String>>>,
    pub seen: Mutex<HashMap<String, Seen>>,
}

#[derive(Debug)]
pub struct PinVerifier {
    pub pins: Arc<Pins>,
    provider: Arc<CryptoProvider>,
}

impl PinVerifier {
    pub fn new(pins: Arc<Pins>) -> Self {
        PinVerifier {
            pins,
            provider: ferrocenter_tls::provider(),
        }
    }
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let name = server_name.to_str().into_owned();
        let thumbprint = sha256_thumbprint(end_entity.as_ref());
        // A leaf presented without a chain is what a self-signed agent sends.
        let self_signed = intermediates.is_empty();
        self.pins.seen.lock().insert(
            name.clone(),
            Seen {
                thumbprint: thumbprint.clone(),
                self_signed,
            },
        );
        let expected = self.pins.expected.read().get(&name).cloned().flatten();
        match expected {
            Some(e) if e == thumbprint => Ok(ServerCertVerified::assertion()),
            _ => Err(rustls::Error::General(format!(
                "certificate thumbprint {thumbprint} is not the pinned one"
            ))),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_normalise() {
        let canon = sha256_thumbprint(b"x");
        assert_eq!(normalize_thumbprint(&canon).unwrap(), canon);
        assert_eq!(
            normalize_thumbprint(&canon.replace(':', "").to_lowercase()).unwrap(),
            canon
        );
        assert_eq!(normalize_thumbprint("AB:CD"), None);
        assert_eq!(normalize_thumbprint("zz"), None);
    }
}
