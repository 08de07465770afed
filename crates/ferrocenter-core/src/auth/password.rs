//! Password hashing (argon2id) and generation.
use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::rngs::OsRng;
use rand::Rng;

use crate::CoreError;

/// Hashes with argon2id and the crate's recommended parameters; returns a PHC string.
pub fn hash_password(password: &str) -> Result<String, CoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::internal(format!("password hashing failed: {e}")))
}

/// The lower-case hex SHA-512 digest of a password, as ZStack clients send it.
pub fn digest_hex(password: &str) -> String {
    use sha2::{Digest, Sha512};
    hex::encode(Sha512::digest(password.as_bytes()))
}

/// True if `password` matches `phc`. A malformed stored hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash no password is expected to match, verified for unknown users so that a login for a
/// missing account costs the same time as one for a real account.
#[allow(
    clippy::expect_used,
    reason = "argon2 fails only on invalid parameters, and these are its defaults"
)]
pub fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password(&generate_password(32)).expect("hashing a generated password")
    })
}

/// A random password of `len` characters from an alphabet without look-alike characters, with
/// at least one lower-case letter, upper-case letter, digit and symbol.
pub fn generate_password(len: usize) -> String {
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    const SYMBOL: &[u8] = b"!#%+-.=@_";
    let len = len.max(8);
    let mut rng = OsRng;
    let all: Vec<u8> = [LOWER, UPPER, DIGIT, SYMBOL].concat();
    loop {
        let pw: Vec<u8> = (0..len).map(|_| all[rng.gen_range(0..all.len())]).collect();
        let has = |set: &[u8]| pw.iter().any(|c| set.contains(c));
        if has(LOWER) && has(UPPER) && has(DIGIT) && has(SYMBOL) {
            return pw.into_iter().map(char::from).collect();
        }
    }
}

/// The minimum a password set through ferrocenter must meet.
pub fn validate_new_password(field: &str, password: &str) -> Result<(), CoreError> {
    if password.chars().count() < 8 {
        return Err(CoreError::invalid(
            field,
            "must be at least 8 characters long",
        ));
    }
    if password.len() > 256 {
        return Err(CoreError::invalid(field, "must be at most 256 bytes long"));
    }
    if password.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash_password("Secret-Pass1").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("Secret-Pass1"));
        assert!(verify_password("Secret-Pass1", &h));
        assert!(!verify_password("secret-pass1", &h));
        assert!(!verify_password("Secret-Pass1", "not a phc string"));
    }

    #[test]
    fn generated_passwords_are_strong_and_distinct() {
        let a = generate_password(20);
        let b = generate_password(20);
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert!(validate_new_password("p", &a).is_ok());
    }

    #[test]
    fn weak_passwords_are_refused_naming_the_field() {
        let e = validate_new_password("admin_password", "short").unwrap_err();
        assert!(e.to_string().contains("admin_password"));
    }
}
