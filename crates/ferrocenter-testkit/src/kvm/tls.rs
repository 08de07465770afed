//! One certificate authority per harness, and per host the files libvirt (`/etc/pki/CA`,
//! `/etc/pki/libvirt`) and QEMU (`/etc/pki/qemu`) read at their default paths, so that
//! `qemu+tls://<address>/system` between hosts and QEMU's TLS migration stream both work with
//! nothing but the host's own `/etc/pki`.
use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};

use super::KvmError;

/// The subject every host's client certificate carries; libvirtd's `tls_allowed_dn_list`
/// admits exactly this DN.
pub const CLIENT_DN: &str = "CN=ferrocenter-kvm-client";

/// The harness's CA, kept in memory to sign each host's certificates.
pub(crate) struct Ca {
    cert: Certificate,
    key: KeyPair,
}

fn err(e: rcgen::Error) -> KvmError {
    KvmError::setup("rcgen", e.to_string())
}

impl Ca {
    pub(crate) fn new(label: &str) -> Result<Ca, KvmError> {
        let mut params = CertificateParams::new(Vec::new()).map_err(err)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.distinguished_name = dn(&format!("ferrocenter test CA {label}"));
        let key = KeyPair::generate().map_err(err)?;
        let cert = params.self_signed(&key).map_err(err)?;
        Ok(Ca { cert, key })
    }

    pub(crate) fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A certificate for `names` (DNS names or IP addresses) with subject `cn`, usable as a TLS
    /// server and client. Returns (certificate PEM, key PEM).
    fn issue(&self, cn: &str, names: Vec<String>) -> Result<(String, String), KvmError> {
        let mut params = CertificateParams::new(names).map_err(err)?;
        params.distinguished_name = dn(cn);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().map_err(err)?;
        let cert = params.signed_by(&key, &self.cert, &self.key).map_err(err)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// Writes a host's `/etc/pki` tree (under `pki`, the source of its bind mount): the CA,
    /// a server certificate for its address and hostname, and the shared client identity.
    pub(crate) fn write_host_pki(
        &self,
        pki: &Path,
        address: Ipv4Addr,
        hostname: &str,
    ) -> Result<(), KvmError> {
        let (server, server_key) = self.issue(
            &address.to_string(),
            vec![address.to_string(), hostname.to_string()],
        )?;
        let (client, client_key) = self.issue(
            CLIENT_DN.trim_start_matches("CN="),
            vec!["ferrocenter-kvm-client".to_string()],
        )?;
        let ca = self.pem();
        let files: [(&str, &str); 10] = [
            ("CA/cacert.pem", &ca),
            ("libvirt/servercert.pem", &server),
            ("libvirt/private/serverkey.pem", &server_key),
            ("libvirt/clientcert.pem", &client),
            ("libvirt/private/clientkey.pem", &client_key),
            ("qemu/ca-cert.pem", &ca),
            ("qemu/server-cert.pem", &server),
            ("qemu/server-key.pem", &server_key),
            ("qemu/client-cert.pem", &client),
            ("qemu/client-key.pem", &client_key),
        ];
        for (name, content) in files {
            let path = pki.join(name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)
                    .map_err(|e| KvmError::setup("pki dir", e.to_string()))?;
            }
            fs::write(&path, content).map_err(|e| KvmError::setup(name, e.to_string()))?;
        }
        Ok(())
    }

    /// Writes the client files a tool in the root namespace needs for `qemu+tls://` URIs, in
    /// libvirt's `pkipath` layout (`cacert.pem`, `clientcert.pem`, `clientkey.pem`).
    pub(crate) fn write_client_pkipath(&self, dir: &Path) -> Result<(), KvmError> {
        let (client, client_key) = self.issue(
            CLIENT_DN.trim_start_matches("CN="),
            vec!["ferrocenter-kvm-client".to_string()],
        )?;
        fs::create_dir_all(dir).map_err(|e| KvmError::setup("pkipath dir", e.to_string()))?;
        for (name, content) in [
            ("cacert.pem", self.pem()),
            ("clientcert.pem", client),
            ("clientkey.pem", client_key),
        ] {
            fs::write(dir.join(name), content).map_err(|e| KvmError::setup(name, e.to_string()))?;
        }
        Ok(())
    }
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}
