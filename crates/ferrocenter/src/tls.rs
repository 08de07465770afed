//! The server's TLS identity: a self-signed certificate made on first start and kept in the
//! data dir, and its SHA-256 thumbprint (what vSphere clients pin). An operator's own
//! certificate and key, put in place of the generated pair, are used as they are.
use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use ferrocenter_agent_client::sha256_thumbprint;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
}

pub struct TlsIdentity {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
    /// `AB:CD:…`, 32 bytes as upper-case hex pairs.
    pub thumbprint: String,
    /// The certificate (the first of the file) as base64 DER: the Lookup Service's `sslTrust`.
    pub cert_base64: String,
    pub created: bool,
}

/// Writes a file readable by the owner only.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), TlsError> {
    let err = |e: std::io::Error| TlsError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(err)?;
    f.write_all(contents).map_err(err)?;
    f.sync_all().map_err(err)
}

/// The names a generated certificate is valid for: loopback, the machine's host name, and every
/// address the server listens on (a wildcard address stands for the host name alone, since
/// clients cannot connect to 0.0.0.0 itself).
pub fn subject_alt_names(listen: &[IpAddr]) -> Vec<String> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let mut add = |n: String| {
        if !n.is_empty() && !names.contains(&n) {
            names.push(n);
        }
    };
    if let Some(h) = host_name() {
        add(h);
    }
    for ip in listen.iter().filter(|ip| !ip.is_unspecified()) {
        add(ip.to_string());
    }
    names
}

/// The kernel's host name (what `hostname` prints).
pub fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into the buffer it is given.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).trim().to_string();
    (!name.is_empty()).then_some(name)
}

/// Loads the certificate and key in `dir` (generated or the operator's own), or creates a
/// self-signed pair for this machine's names and the addresses in `listen`.
pub fn load_or_create(dir: &Path, listen: &[IpAddr]) -> Result<TlsIdentity, TlsError> {
    let cert_pem = cert_path(dir);
    let key_pem = dir.join("server.key");
    let mut created = false;
    if !cert_pem.exists() || !key_pem.exists() {
        generate(dir, listen)?;
        created = true;
    }
    read_identity(cert_pem, key_pem, created)
}

/// Where the server certificate is (`DIR/server.crt`).
pub fn cert_path(dir: &Path) -> PathBuf {
    dir.join("server.crt")
}

/// Replaces the certificate and key with new self-signed ones naming this machine.
pub fn regenerate(dir: &Path, listen: &[IpAddr]) -> Result<TlsIdentity, TlsError> {
    generate(dir, listen)?;
    read_identity(cert_path(dir), dir.join("server.key"), true)
}

fn generate(dir: &Path, listen: &[IpAddr]) -> Result<(), TlsError> {
    fs::create_dir_all(dir).map_err(|e| TlsError::Write {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let ck = rcgen::generate_simple_self_signed(subject_alt_names(listen))
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    // The key first: a certificate never stands beside a key that is not its own for long.
    write_private(
        &dir.join("server.key"),
        ck.key_pair.serialize_pem().as_bytes(),
    )?;
    write_private(&cert_path(dir), ck.cert.pem().as_bytes())
}

fn read_identity(
    cert_pem: PathBuf,
    key_pem: PathBuf,
    created: bool,
) -> Result<TlsIdentity, TlsError> {
    let pem = fs::read_to_string(&cert_pem).map_err(|e| TlsError::Read {
        path: cert_pem.clone(),
        reason: e.to_string(),
    })?;
    let (cert_base64, der) = first_pem_block(&pem).ok_or_else(|| TlsError::Read {
        path: cert_pem.clone(),
        reason: "no PEM certificate in the file".into(),
    })?;
    Ok(TlsIdentity {
        cert_pem,
        key_pem,
        thumbprint: sha256_thumbprint(&der),
        cert_base64,
        created,
    })
}

/// The first certificate of a PEM file: its base64 text and the DER it decodes to.
fn first_pem_block(pem: &str) -> Option<(String, Vec<u8>)> {
    let start = pem.find("-----BEGIN CERTIFICATE-----")?;
    let rest = &pem[start + "-----BEGIN CERTIFICATE-----".len()..];
    let end = rest.find("-----END CERTIFICATE-----")?;
    let b64: String = rest[..end].chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(&b64)
        .ok()?;
    Some((b64, der))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_once_then_reused_with_the_same_thumbprint() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(dir.path(), &[]).unwrap();
        assert!(a.created);
        assert_eq!(a.thumbprint.len(), 32 * 3 - 1);
        let mode = fs::metadata(&a.key_pem).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let b = load_or_create(dir.path(), &[]).unwrap();
        assert!(!b.created);
        assert_eq!(a.thumbprint, b.thumbprint);
    }

    #[test]
    fn names_hold_the_host_name_and_specific_listen_addresses_once() {
        let names = subject_alt_names(&[
            "127.0.0.1".parse().unwrap(),
            "192.0.2.7".parse().unwrap(),
            "0.0.0.0".parse().unwrap(),
            "192.0.2.7".parse().unwrap(),
        ]);
        assert_eq!(&names[..3], ["localhost", "127.0.0.1", "::1"]);
        assert!(names.contains(&host_name().unwrap()), "{names:?}");
        assert_eq!(names.iter().filter(|n| *n == "192.0.2.7").count(), 1);
        assert!(!names.iter().any(|n| n == "0.0.0.0"), "{names:?}");
    }
}
