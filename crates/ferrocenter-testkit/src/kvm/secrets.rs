//! The random values a host gets (host UUID, root password) and the root password's hash for
//! its `/etc/shadow`.
use std::fs;
use std::io::{Read, Write};
use std::process::{Command, Stdio};

use super::KvmError;

fn random_bytes<const N: usize>() -> Result<[u8; N], KvmError> {
    let mut buf = [0u8; N];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| KvmError::setup("/dev/urandom", e.to_string()))?;
    Ok(buf)
}

pub(crate) fn random_uuid() -> Result<String, KvmError> {
    let mut b = random_bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

pub(crate) fn random_password() -> Result<String, KvmError> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    Ok(random_bytes::<20>()?
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

/// SHA-512 crypt of `password` (`openssl passwd -6`, the password on stdin, never in argv).
pub(crate) fn password_hash(password: &str) -> Result<String, KvmError> {
    let mut child = Command::new("openssl")
        .args(["passwd", "-6", "-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| KvmError::setup("openssl passwd", e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(format!("{password}\n").as_bytes())
            .map_err(|e| KvmError::setup("openssl passwd", e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| KvmError::setup("openssl passwd", e.to_string()))?;
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || !hash.starts_with("$6$") {
        return Err(KvmError::setup("openssl passwd", "no SHA-512 crypt hash"));
    }
    Ok(hash)
}
