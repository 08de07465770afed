//! Ed25519 keys of update repositories (through ring, already the core's crypto crate): the
//! public keys the server trusts, the private key the `update-repo` tool signs with, and
//! `manifest.json.sig`, a JSON document `{algorithm, key_id, signature}` over the exact bytes
//! of `manifest.json` (no canonicalisation to get wrong: the bytes signed are the bytes read).
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::UpdateError;

/// The only signature algorithm; named in the file so another can be added without ambiguity.
pub const ALGORITHM: &str = "ed25519";

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey([u8; 32]);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

impl PublicKey {
    /// The 32 raw bytes in standard base64 (44 characters), as `keygen` prints it.
    pub fn from_base64(text: &str) -> Result<PublicKey, String> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|e| format!("not base64: {e}"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("{} bytes, an Ed25519 public key has 32", b.len()))?;
        Ok(PublicKey(bytes))
    }

    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }

    /// The first 8 bytes of the key's SHA-256 in hex: names the key in signature files and
    /// messages without repeating it.
    pub fn key_id(&self) -> String {
        hex::encode(&Sha256::digest(self.0)[..8])
    }
}

/// The public keys a repository may be signed with (`update_trusted_keys`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedKeys(Vec<PublicKey>);

impl TrustedKeys {
    pub fn new(keys: Vec<PublicKey>) -> TrustedKeys {
        TrustedKeys(keys)
    }

    /// The configuration's entries: each is a public key in base64 (44 characters, as
    /// `update-repo keygen` prints it) or the path of a file holding one (its `.pub` file).
    pub fn from_entries(entries: &[String]) -> Result<TrustedKeys, UpdateError> {
        let mut keys = Vec::new();
        for entry in entries {
            let key = match PublicKey::from_base64(entry) {
                Ok(k) if entry.trim().len() == 44 => k,
                _ => {
                    let text = std::fs::read_to_string(Path::new(entry)).map_err(|e| {
                        UpdateError::Key {
                            entry: entry.clone(),
                            reason: format!(
                                "neither a base64 Ed25519 public key nor a readable file: {e}"
                            ),
                        }
                    })?;
                    PublicKey::from_base64(&text).map_err(|reason| UpdateError::Key {
                        entry: entry.clone(),
                        reason,
                    })?
                }
            };
            keys.push(key);
        }
        Ok(TrustedKeys(keys))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn keys(&self) -> &[PublicKey] {
        &self.0
    }

    fn find(&self, key_id: &str) -> Option<&PublicKey> {
        self.0.iter().find(|k| k.key_id() == key_id)
    }
}

/// `manifest.json.sig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureFile {
    pub algorithm: String,
    pub key_id: String,
    /// The 64-byte signature in standard base64.
    pub signature: String,
}

/// A private key that signs manifests (the `update-repo` tool).
pub struct SigningKey(Ed25519KeyPair);

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

impl SigningKey {
    /// A new key and its PKCS#8 PEM text (to be written to a file only its owner reads).
    pub fn generate() -> Result<(SigningKey, String), UpdateError> {
        let rng = ring::rand::SystemRandom::new();
        let der = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| UpdateError::Key {
            entry: "new key".into(),
            reason: "the system's random generator failed".into(),
        })?;
        let pem = pem_of(der.as_ref());
        Ok((SigningKey::from_pem(&pem)?, pem))
    }

    /// A PKCS#8 PEM Ed25519 key: `keygen`'s, or `openssl genpkey -algorithm ed25519`'s.
    pub fn from_pem(pem: &str) -> Result<SigningKey, UpdateError> {
        let bad = |reason: String| UpdateError::Key {
            entry: "--key".into(),
            reason,
        };
        let body = pem
            .trim()
            .strip_prefix(PEM_BEGIN)
            .and_then(|r| r.strip_suffix(PEM_END))
            .ok_or_else(|| bad(format!("not a PEM private key ({PEM_BEGIN} … {PEM_END})")))?;
        let der = B64
            .decode(body.split_whitespace().collect::<String>())
            .map_err(|e| bad(format!("not base64: {e}")))?;
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
            .map(SigningKey)
            .map_err(|e| bad(format!("not a PKCS#8 Ed25519 key: {e}")))
    }

    pub fn public_key(&self) -> PublicKey {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(self.0.public_key().as_ref());
        PublicKey(bytes)
    }

    /// The signature file's bytes for `manifest`.
    pub fn sign(&self, manifest: &[u8]) -> Vec<u8> {
        let file = SignatureFile {
            algorithm: ALGORITHM.into(),
            key_id: self.public_key().key_id(),
            signature: B64.encode(self.0.sign(manifest).as_ref()),
        };
        let mut out = serde_json::to_vec_pretty(&file).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

fn pem_of(der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("{PEM_BEGIN}\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(PEM_END);
    out.push('\n');
    out
}

/// Checks `signature` (the bytes of `manifest.json.sig`) over `manifest` against the trusted
/// keys; returns the key that signed.
pub fn verify_signature(
    keys: &TrustedKeys,
    manifest: &[u8],
    signature: &[u8],
) -> Result<PublicKey, UpdateError> {
    let field = |name: &str, reason: String| UpdateError::SignatureFile {
        field: format!("manifest.json.sig{name}"),
        reason,
    };
    let file: SignatureFile = serde_json::from_slice(signature).map_err(|e| {
        field(
            "",
            format!("not a JSON object {{algorithm, key_id, signature}}: {e}"),
        )
    })?;
    if file.algorithm != ALGORITHM {
        return Err(field(
            ".algorithm",
            format!(
                "{:?} is not supported; only {ALGORITHM:?} is",
                file.algorithm
            ),
        ));
    }
    let bytes = B64
        .decode(file.signature.trim())
        .map_err(|e| field(".signature", format!("not base64: {e}")))?;
    if bytes.len() != 64 {
        return Err(field(
            ".signature",
            format!("{} bytes, an Ed25519 signature has 64", bytes.len()),
        ));
    }
    let key = keys
        .find(&file.key_id)
        .ok_or_else(|| UpdateError::UntrustedKey {
            key_id: file.key_id.clone(),
        })?;
    UnparsedPublicKey::new(&ED25519, key.0)
        .verify(manifest, &bytes)
        .map_err(|_| UpdateError::SignatureMismatch {
            key_id: file.key_id.clone(),
        })?;
    Ok(*key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_manifests_verify_only_unchanged_and_with_a_trusted_key() {
        let (key, pem) = SigningKey::generate().unwrap();
        let again = SigningKey::from_pem(&pem).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let trusted = TrustedKeys::from_entries(&[key.public_key().to_base64()]).unwrap();
        let sig = key.sign(b"{\"version\":\"1\"}");
        assert_eq!(
            verify_signature(&trusted, b"{\"version\":\"1\"}", &sig).unwrap(),
            key.public_key()
        );
        assert!(matches!(
            verify_signature(&trusted, b"{\"version\":\"2\"}", &sig),
            Err(UpdateError::SignatureMismatch { .. })
        ));
        let (other, _) = SigningKey::generate().unwrap();
        let foreign = other.sign(b"{\"version\":\"1\"}");
        assert_eq!(
            verify_signature(&trusted, b"{\"version\":\"1\"}", &foreign),
            Err(UpdateError::UntrustedKey {
                key_id: other.public_key().key_id()
            })
        );
        let e = verify_signature(
            &trusted,
            b"{}",
            br#"{"algorithm":"rsa","key_id":"x","signature":""}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("manifest.json.sig.algorithm"), "{e}");
    }

    #[test]
    fn trusted_keys_come_from_base64_or_files() {
        let (key, _) = SigningKey::generate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k.pub");
        std::fs::write(&file, format!("{}\n", key.public_key().to_base64())).unwrap();
        let keys =
            TrustedKeys::from_entries(&[file.display().to_string(), key.public_key().to_base64()])
                .unwrap();
        assert_eq!(keys.keys(), &[key.public_key(), key.public_key()]);
        let e = TrustedKeys::from_entries(&["/nonexistent/key.pub".into()]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("update_trusted_keys: /nonexistent/key.pub"),
            "{e}"
        );
    }
}
