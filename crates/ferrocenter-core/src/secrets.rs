//! Sealing of secrets kept at rest (agent service-account passwords) with AES-256-GCM under the
//! server's key, so a copied database alone does not give access to the hosts.
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use crate::CoreError;

pub struct SecretBox {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<key>)")
    }
}

impl SecretBox {
    #[allow(
        clippy::expect_used,
        reason = "AES-256-GCM takes any 32-byte key, and the type holds exactly 32 bytes"
    )]
    pub fn new(key: &[u8; 32]) -> SecretBox {
        SecretBox {
            key: LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte key")),
            rng: SystemRandom::new(),
        }
    }

    /// A fresh random key.
    #[allow(
        clippy::expect_used,
        reason = "without the system's randomness no key can be made, and nothing may run unsealed"
    )]
    pub fn generate_key() -> [u8; 32] {
        let mut k = [0u8; 32];
        SystemRandom::new().fill(&mut k).expect("system randomness");
        k
    }

    /// hex(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, plain: &str) -> Result<String, CoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| CoreError::internal("no system randomness"))?;
        let mut buf = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
            .map_err(|_| CoreError::internal("sealing failed"))?;
        Ok(hex::encode([nonce.as_slice(), &buf].concat()))
    }

    pub fn open(&self, sealed: &str) -> Result<String, CoreError> {
        let bad = || CoreError::internal("a stored secret cannot be opened with this server's key");
        let raw = hex::decode(sealed).map_err(|_| bad())?;
        if raw.len() < NONCE_LEN {
            return Err(bad());
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let mut buf = rest.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut buf)
            .map_err(|_| bad())?;
        String::from_utf8(plain.to_vec()).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let b = SecretBox::new(&SecretBox::generate_key());
        let s = b.seal("hunter2-but-longer").unwrap();
        assert!(!s.contains("hunter2"));
        assert_eq!(b.open(&s).unwrap(), "hunter2-but-longer");
        assert_ne!(b.seal("x").unwrap(), b.seal("x").unwrap());
        let other = SecretBox::new(&SecretBox::generate_key());
        assert!(other.open(&s).is_err());
    }
}
