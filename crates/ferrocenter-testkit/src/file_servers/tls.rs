//! A test CA and a server certificate for 127.0.0.1 and localhost, written as PEM files.
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

pub struct TestCertificate {
    /// The CA's certificate (DER), which the client trusts.
    pub ca_der: Vec<u8>,
    /// The same CA as a PEM file (what a server's `backup_ca_file` names).
    pub ca_pem_path: PathBuf,
    pub cert_pem_path: PathBuf,
    pub key_pem_path: PathBuf,
}

impl TestCertificate {
    /// Writes `server.pem`, `server.key` and `ca.pem` into `dir`.
    pub fn create(dir: &Path) -> TestCertificate {
        let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ferrocenter file server test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "ferrocenter file server");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        let cert_pem_path = dir.join("server.pem");
        let key_pem_path = dir.join("server.key");
        std::fs::write(&cert_pem_path, cert.pem()).unwrap();
        std::fs::write(&key_pem_path, key.serialize_pem()).unwrap();
        let ca_pem_path = dir.join("ca.pem");
        std::fs::write(&ca_pem_path, ca.pem()).unwrap();
        TestCertificate {
            ca_der: ca.der().to_vec(),
            ca_pem_path,
            cert_pem_path,
            key_pem_path,
        }
    }
}
