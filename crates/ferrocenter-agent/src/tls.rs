//! Each agent's own self-signed certificate.
use std::path::Path;

use std::sync::Arc;

use ferrocenter_agent_client::sha256_thumbprint;

pub struct Identity {
    pub cert_pem: String,
    pub key_pem: String,
    pub thumbprint: String,
}

pub fn generate(names: Vec<String>) -> Result<Identity, String> {
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| e.to_string())?;
    Ok(Identity {
        thumbprint: sha256_thumbprint(ck.cert.der()),
        cert_pem: ck.cert.pem(),
        key_pem: ck.key_pair.serialize_pem(),
    })
}

/// Loads `agent.crt`/`agent.key` from `dir`, creating them on first start.
pub fn load_or_create(dir: &Path, names: Vec<String>) -> Result<Identity, String> {
    let (cert, key) = (dir.join("agent.crt"), dir.join("agent.key"));
    if !cert.exists() || !key.exists() {
        let id = generate(names)?;
        std::fs::write(&key, &id.key_pem).map_err(|e| format!("{}: {e}", key.display()))?;
        std::fs::write(&cert, &id.cert_pem).map_err(|e| format!("{}: {e}", cert.display()))?;
        return Ok(id);
    }
    let cert_pem =
        std::fs::read_to_string(&cert).map_err(|e| format!("{}: {e}", cert.display()))?;
    let key_pem = std::fs::read_to_string(&key).map_err(|e| format!("{}: {e}", key.display()))?;
    let der = pem_der(&cert_pem).ok_or_else(|| format!("{}: no certificate", cert.display()))?;
    Ok(Identity {
        thumbprint: sha256_thumbprint(&der),
        cert_pem,
        key_pem,
    })
}

fn pem_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let start = pem.find("-----BEGIN CERTIFICATE-----")? + "-----BEGIN CERTIFICATE-----".len();
    let end = pem[start..].find("-----END CERTIFICATE-----")? + start;
    let body: String = pem[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// The rustls server configuration of one identity (HTTP/1.1 and HTTP/2).
pub fn server_config(id: &Identity) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = ferrocenter_tls::provider();
    let certs = CertificateDer::pem_slice_iter(id.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).map_err(|e| e.to_string())?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_identity_keeps_its_thumbprint() {
        let dir = tempfile_dir();
        let a = load_or_create(&dir, vec!["localhost".into()]).unwrap();
        let b = load_or_create(&dir, vec!["localhost".into()]).unwrap();
        assert_eq!(a.thumbprint, b.thumbprint);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("fc-agent-tls-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
