//! Certificate verification as HostConnect describes it: on by default, against the system's
//! roots, a CA file or a directory of CA files (`enableSslCertificateCheck`,
//! `sslCertificateFile`, `sslCertificateDirectory`); off only for an explicitly pinned
//! thumbprint. A failure is `SSL_SECURITY` and no handle is created.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::ClientError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// `enableSslCertificateCheck` (default true).
    pub enable_ssl_certificate_check: bool,
    /// `sslCertificateFile`: CA certificates in PEM.
    pub ssl_certificate_file: Option<PathBuf>,
    /// `sslCertificateDirectory`: files that each hold a CA certificate in PEM.
    pub ssl_certificate_directory: Option<PathBuf>,
    /// The server certificate's SHA-256 thumbprint. Required when the check is off; with the
    /// check on it must match as well.
    pub thumbprint: Option<String>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            enable_ssl_certificate_check: true,
            ssl_certificate_file: None,
            ssl_certificate_directory: None,
            thumbprint: None,
        }
    }
}

/// `AB:CD:…` in upper case, from any spelling; None if not 32 bytes of hex.
pub use ferrocenter_agent_client::normalize_thumbprint;

/// The SHA-256 thumbprint of a DER certificate, in the form servers print.
pub use ferrocenter_agent_client::sha256_thumbprint as der_thumbprint;

impl TlsSettings {
    /// Reads the settings from a config file in VMware's `key = "value"` form; keys may carry
    /// the `vix.` prefix. Unknown keys are left for other readers.
    pub fn from_config(text: &str) -> Result<TlsSettings, ClientError> {
        let mut s = TlsSettings::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(ClientError::invalid(
                    "config",
                    format!("line {}: not 'key = value'", n + 1),
                ));
            };
            let key = k.trim().trim_start_matches("vix.");
            let v = v.trim().trim_matches('"');
            match key {
                "enableSslCertificateCheck" => {
                    s.enable_ssl_certificate_check = match v.to_ascii_lowercase().as_str() {
                        "true" | "yes" | "1" => true,
                        "false" | "no" | "0" => false,
                        _ => {
                            return Err(ClientError::invalid(
                                "enableSslCertificateCheck",
                                format!("'{v}' is not TRUE or FALSE"),
                            ))
                        }
                    }
                }
                "sslCertificateFile" => s.ssl_certificate_file = Some(PathBuf::from(v)),
                "sslCertificateDirectory" => s.ssl_certificate_directory = Some(PathBuf::from(v)),
                _ => {}
            }
        }
        Ok(s)
    }

    /// The rustls configuration these settings ask for, and where connections made with it
    /// record the certificate the server presented (so a refusal can name its thumbprint).
    pub fn client_config(
        &self,
    ) -> Result<(rustls::ClientConfig, PresentedCertificate), ClientError> {
        let provider = ferrocenter_tls::provider();
        let pin = match &self.thumbprint {
            Some(t) => Some(normalize_thumbprint(t).ok_or_else(|| {
                ClientError::invalid("thumbprint", "must be a SHA-256 thumbprint (32 hex bytes)")
            })?),
            None => None,
        };
        let chain = if self.enable_ssl_certificate_check {
            let roots = self.roots()?;
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| ClientError::invalid("CA certificates", e))?,
            )
        } else if pin.is_none() {
            return Err(ClientError::invalid(
                "enableSslCertificateCheck",
                "verification may be off only with a pinned thumbprint",
            ));
        } else {
            None
        };
        let presented = PresentedCertificate::default();
        let verifier = Verifier {
            chain,
            pin,
            provider: provider.clone(),
            presented: presented.clone(),
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::invalid("TLS", e))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok((config, presented))
    }

    fn roots(&self) -> Result<RootCertStore, ClientError> {
        let mut roots = RootCertStore::empty();
        let mut from_files = false;
        if let Some(f) = &self.ssl_certificate_file {
            add_pem_file(&mut roots, f, "sslCertificateFile")?;
            from_files = true;
        }
        if let Some(d) = &self.ssl_certificate_directory {
            let entries = std::fs::read_dir(d)
                .map_err(|e| ClientError::invalid("sslCertificateDirectory", e))?;
            for entry in entries.flatten() {
                if entry.path().is_file() {
                    // Files that are not certificates are skipped, as OpenSSL's hashed
                    // directories hold other files too.
                    let _ = add_pem_file(&mut roots, &entry.path(), "sslCertificateDirectory");
                }
            }
            from_files = true;
        }
        if !from_files {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
        }
        if roots.is_empty() {
            return Err(ClientError::invalid(
                "CA certificates",
                "none were found to verify the server with",
            ));
        }
        Ok(roots)
    }
}

fn add_pem_file(roots: &mut RootCertStore, path: &Path, key: &str) -> Result<(), ClientError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| ClientError::invalid(key, format!("{}: {e}", path.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| ClientError::invalid(key, format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(ClientError::invalid(
            key,
            format!("{} holds no certificate", path.display()),
        ));
    }
    for c in certs {
        roots
            .add(c)
            .map_err(|e| ClientError::invalid(key, format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

/// The SHA-256 thumbprint of the last certificate a server presented to connections made with
/// one configuration, whether or not it was accepted: what vSphere's SSLVerifyFault reports, so
/// that an operator can compare it and pin it.
#[derive(Debug, Clone, Default)]
pub struct PresentedCertificate(Arc<Mutex<Option<String>>>);

impl PresentedCertificate {
    pub fn thumbprint(&self) -> Option<String> {
        self.0.lock().clone()
    }
}

/// The chain (when checking) and the pinned thumbprint (when given) must both agree.
#[derive(Debug)]
struct Verifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    pin: Option<String>,
    provider: Arc<CryptoProvider>,
    presented: PresentedCertificate,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = der_thumbprint(end_entity.as_ref());
        *self.presented.0.lock() = Some(presented.clone());
        if let Some(pin) = &self.pin {
            if presented != *pin {
                return Err(rustls::Error::General(
                    "the server's certificate does not match the pinned thumbprint".into(),
                ));
            }
        }
        match &self.chain {
            Some(v) => v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now),
            None => Ok(ServerCertVerified::assertion()),
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

/// Whether an error from the HTTP stack is a certificate failure. The rustls error sits inside
/// nested `io::Error`s, whose `source()` skips the wrapped error itself.
pub(crate) fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        cur = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner),
            None => err.source(),
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn config_files_use_vmware_keys() {
        let s = TlsSettings::from_config(
            "# a comment\nvix.enableSslCertificateCheck = \"TRUE\"\nvix.sslCertificateFile = \"/etc/ca.pem\"\nsslCertificateDirectory = /etc/cas\nother.key = 1\n",
        )
        .unwrap();
        assert!(s.enable_ssl_certificate_check);
        assert_eq!(
            s.ssl_certificate_file.as_deref(),
            Some(Path::new("/etc/ca.pem"))
        );
        assert_eq!(
            s.ssl_certificate_directory.as_deref(),
            Some(Path::new("/etc/cas"))
        );
        let e = TlsSettings::from_config("vix.enableSslCertificateCheck = maybe").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        assert!(e.message.contains("enableSslCertificateCheck"));
    }

    #[test]
    fn verification_is_off_only_with_a_pin() {
        let off = TlsSettings {
            enable_ssl_certificate_check: false,
            ..Default::default()
        };
        let e = off.client_config().unwrap_err();
        assert!(e.message.contains("pinned thumbprint"), "{e}");
        let pinned = TlsSettings {
            thumbprint: Some("ab".repeat(32)),
            ..off
        };
        assert!(pinned.client_config().is_ok());
        assert_eq!(
            normalize_thumbprint(&"ab".repeat(32)).unwrap(),
            vec!["AB"; 32].join(":")
        );
        assert!(normalize_thumbprint("abc").is_none());
    }
}
