//! The identity federation ports' real adapters: [`HttpOidcFetcher`] reads a provider's
//! discovery document and JWKS with reqwest; [`Ldap3Directory`] binds to and searches an LDAP
//! directory with the `ldap3` crate (plain LDAP, or LDAPS trusting only the chain given);
//! [`JoseJwtVerifier`] checks a provider-issued token's signature with the `jsonwebtoken` crate.
mod http;
mod jwt;
mod ldap;

pub use http::HttpOidcFetcher;
pub use jwt::JoseJwtVerifier;
pub use ldap::Ldap3Directory;

use std::sync::Arc;

use ferrocenter_core::identity_providers::FederationPorts;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// The system's CA bundle (Debian's path), trusted beside the web's roots.
const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The adapters, for a running server.
pub fn federation() -> FederationPorts {
    FederationPorts {
        oidc: Arc::new(HttpOidcFetcher::default()),
        ldap: Arc::new(Ldap3Directory::default()),
        jwt: Arc::new(JoseJwtVerifier),
    }
}

/// Certificates in PEM texts; what does not parse is left out and named.
fn pem_certs(pems: &[String]) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut out = Vec::new();
    for (i, p) in pems.iter().enumerate() {
        let before = out.len();
        for c in CertificateDer::pem_slice_iter(p.as_bytes()) {
            out.push(c.map_err(|e| format!("certificate {i} is not PEM: {e}"))?);
        }
        if out.len() == before {
            return Err(format!("certificate {i} holds no PEM certificate"));
        }
    }
    Ok(out)
}

/// A TLS client configuration trusting `roots` (and, with `system`, the web's and the system's
/// roots too).
fn client_config(roots: &[String], system: bool) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut store = rustls::RootCertStore::empty();
    if system {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Ok(iter) = CertificateDer::pem_file_iter(SYSTEM_BUNDLE) {
            for c in iter.flatten() {
                // A system certificate rustls cannot use is skipped, as browsers do.
                let _ = store.add(c);
            }
        }
    }
    for c in pem_certs(roots)? {
        store
            .add(c)
            .map_err(|e| format!("a trusted certificate is unusable: {e}"))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(ferrocenter_tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

// An error and its causes, as one line: the crate's one rendering, shared with the other clients.
use crate::http_client::source_chain as chain_text;
