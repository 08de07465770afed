//! The one place that decides which cryptography a ferrocenter process's TLS uses: every
//! listener, the agent client and every outbound connection (backup locations, web hooks,
//! anything built on reqwest) take their rustls `CryptoProvider` from here.
//!
//! Without FIPS: rustls's ring provider. With global FIPS on: rustls over aws-lc-rs built in
//! FIPS mode (AWS-LC's FIPS 140-3 validated module), restricted to what that module approves:
//! TLS 1.3 AES-GCM, TLS 1.2 ECDHE with AES-GCM, NIST curves (and the ML-KEM hybrid), no
//! ChaCha20-Poly1305 and no X25519 alone. The choice is made once per process, before the first
//! TLS configuration is built, because rustls keeps one process-wide default and a listener
//! cannot swap its provider under live connections: changing it means restarting the process.
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::ServerConfig;

/// What a health line and the log call the provider in use.
pub const FIPS_PROVIDER: &str = "aws-lc-rs FIPS module";
pub const DEFAULT_PROVIDER: &str = "ring";

#[derive(Debug, thiserror::Error)]
pub enum TlsProviderError {
    #[error(
        "the TLS crypto provider of this process is already {installed}; \
         {wanted} takes effect only after a restart"
    )]
    AlreadyChosen {
        installed: &'static str,
        wanted: &'static str,
    },
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// A server configuration on the process's provider for a certificate chain and key in PEM
/// (HTTP/2 and HTTP/1.1 offered by ALPN). In FIPS mode it must come out FIPS-compliant
/// (rustls's `fips()`: the provider and extended master secret required), or it is refused.
pub fn server_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<ServerConfig, TlsProviderError> {
    server_config_on(provider(), cert_pem, key_pem)
}

fn server_config_on(
    provider: Arc<CryptoProvider>,
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<ServerConfig, TlsProviderError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |e: &dyn std::fmt::Display| TlsProviderError::Config(e.to_string());
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| bad(&e))?;
    let mut config = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(&e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| bad(&e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    if provider.fips() && !config.fips() {
        return Err(TlsProviderError::Config(
            "the server configuration is not FIPS-compliant".into(),
        ));
    }
    Ok(config)
}

/// The provider for a mode. With `fips`, only the suites and key exchanges the FIPS module
/// approves are kept, so `fips()` holds for every configuration built from it.
pub fn tls_provider(fips: bool) -> Arc<CryptoProvider> {
    if fips {
        let mut p = rustls::crypto::default_fips_provider();
        p.cipher_suites.retain(rustls::SupportedCipherSuite::fips);
        p.kx_groups.retain(|k| k.fips());
        Arc::new(p)
    } else {
        Arc::new(rustls::crypto::ring::default_provider())
    }
}

/// Makes `fips`'s provider the process's: call before any TLS configuration or reqwest client
/// is built. Choosing the mode already in force is not an error; the other mode is.
pub fn install(fips: bool) -> Result<(), TlsProviderError> {
    let _ = tls_provider(fips).as_ref().clone().install_default();
    let installed = provider();
    if installed.fips() != fips {
        return Err(TlsProviderError::AlreadyChosen {
            installed: name(&installed),
            wanted: if fips {
                FIPS_PROVIDER
            } else {
                DEFAULT_PROVIDER
            },
        });
    }
    Ok(())
}

/// The process's provider; the default (non-FIPS) one if none was chosen yet, as in the agent,
/// the client library and tests.
pub fn provider() -> Arc<CryptoProvider> {
    if let Some(p) = CryptoProvider::get_default() {
        return p.clone();
    }
    // Two threads may race here; whichever installs first wins and both read it back.
    let _ = tls_provider(false).as_ref().clone().install_default();
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| tls_provider(false))
}

/// What `p` is called in logs and health.
pub fn name(p: &CryptoProvider) -> &'static str {
    if p.fips() {
        FIPS_PROVIDER
    } else {
        DEFAULT_PROVIDER
    }
}

/// Whether the process's TLS runs on the FIPS module.
pub fn fips_in_force() -> bool {
    provider().fips()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fips_provider_keeps_only_approved_suites_and_groups() {
        let p = tls_provider(true);
        assert!(p.fips());
        let suites: Vec<String> = p
            .cipher_suites
            .iter()
            .map(|s| format!("{:?}", s.suite()))
            .collect();
        assert!(!suites.is_empty());
        for s in &suites {
            assert!(s.contains("AES") && s.contains("GCM"), "{s} is not AES-GCM");
        }
        assert!(suites.iter().any(|s| s.starts_with("TLS13_")));
        assert!(suites.iter().any(|s| s.starts_with("TLS_ECDHE_")));
        let groups: Vec<String> = p
            .kx_groups
            .iter()
            .map(|k| format!("{:?}", k.name()))
            .collect();
        assert!(!groups.iter().any(|g| g == "X25519"), "{groups:?}");
        let roots = rustls::RootCertStore::empty();
        let client = rustls::ClientConfig::builder_with_provider(p)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        assert!(client.fips());
    }

    #[test]
    fn server_configurations_are_fips_exactly_on_the_fips_provider() {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key) = (ck.cert.pem(), ck.key_pair.serialize_pem());
        let on = |fips| server_config_on(tls_provider(fips), cert.as_bytes(), key.as_bytes());
        assert!(on(true).unwrap().fips());
        assert!(!on(false).unwrap().fips());
        assert!(matches!(
            server_config_on(tls_provider(true), cert.as_bytes(), b"not a key"),
            Err(TlsProviderError::Config(_))
        ));
    }

    #[test]
    fn the_default_provider_is_not_fips_and_offers_chacha() {
        let p = tls_provider(false);
        assert!(!p.fips());
        assert!(p
            .cipher_suites
            .iter()
            .any(|s| format!("{:?}", s.suite()).contains("CHACHA20")));
    }
}
