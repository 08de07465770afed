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

/// The fewest characters any password set through ferrocenter may have.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// The longest password, in bytes (argon2 takes longer ones, but nothing needs them).
pub const PASSWORD_MAX_BYTES: usize = 256;

/// What a new password must hold. The default is the floor every password meets; the local
/// accounts' policy may raise it (`appliance::accounts`), never lower it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordRule {
    pub min_length: usize,
    pub min_uppercase: usize,
    pub min_lowercase: usize,
    pub min_digits: usize,
    /// Characters that are neither letters nor digits.
    pub min_special: usize,
}

impl Default for PasswordRule {
    fn default() -> Self {
        PasswordRule {
            min_length: PASSWORD_MIN_CHARS,
            min_uppercase: 0,
            min_lowercase: 0,
            min_digits: 0,
            min_special: 0,
        }
    }
}

impl PasswordRule {
    /// Checks `password`; the error names `field` and says what is missing, never the password.
    pub fn check(&self, field: &str, password: &str) -> Result<(), CoreError> {
        let min_length = self.min_length.max(PASSWORD_MIN_CHARS);
        if password.chars().count() < min_length {
            return Err(CoreError::invalid(
                field,
                format!("must be at least {min_length} characters long"),
            ));
        }
        if password.len() > PASSWORD_MAX_BYTES {
            return Err(CoreError::invalid(
                field,
                format!("must be at most {PASSWORD_MAX_BYTES} bytes long"),
            ));
        }
        if password.chars().any(char::is_control) {
            return Err(CoreError::invalid(
                field,
                "must not contain control characters",
            ));
        }
        let count = |f: fn(&char) -> bool| password.chars().filter(f).count();
        for (least, have, what) in [
            (
                self.min_uppercase,
                count(|c| c.is_uppercase()),
                "upper-case letters",
            ),
            (
                self.min_lowercase,
                count(|c| c.is_lowercase()),
                "lower-case letters",
            ),
            (self.min_digits, count(|c| c.is_numeric()), "digits"),
            (
                self.min_special,
                count(|c| !c.is_alphanumeric()),
                "characters other than letters and digits",
            ),
        ] {
            if have < least {
                return Err(CoreError::invalid(
                    field,
                    format!("must contain at least {least} {what}"),
                ));
            }
        }
        Ok(())
    }
}

/// The minimum a password set through ferrocenter must meet.
pub fn validate_new_password(field: &str, password: &str) -> Result<(), CoreError> {
    PasswordRule::default().check(field, password)
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
    fn a_raised_rule_counts_each_class() {
        let rule = PasswordRule {
            min_length: 10,
            min_uppercase: 2,
            min_lowercase: 1,
            min_digits: 2,
            min_special: 1,
        };
        assert!(rule.check("p", "AB-cd12xyz").is_ok());
        for (bad, says) in [
            ("AB-cd12xy", "at least 10 characters"),
            ("Ab-cd12xyz", "2 upper-case"),
            ("AB-CD12XYZ", "1 lower-case"),
            ("AB-cd1xyzw", "2 digits"),
            ("ABccd12xyz", "1 characters other than"),
        ] {
            let e = rule.check("config.password", bad).unwrap_err().to_string();
            assert!(
                e.contains("config.password") && e.contains(says),
                "{bad}: {e}"
            );
            assert!(!e.contains(bad));
        }
        // A policy cannot lower the floor.
        let low = PasswordRule {
            min_length: 1,
            ..Default::default()
        };
        assert!(low.check("p", "short").is_err());
    }

    #[test]
    fn weak_passwords_are_refused_naming_the_field() {
        let e = validate_new_password("admin_password", "short").unwrap_err();
        assert!(e.to_string().contains("admin_password"));
    }
}
