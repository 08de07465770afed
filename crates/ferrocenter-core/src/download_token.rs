//! Download URLs whose token is the credential (support bundles, LCM reports): 32 random
//! bytes in hex, kept by the server only as their SHA-256, so the store never holds a usable
//! URL; and the origin a URL is built on (the listener and `Host` the request came in on).
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::auth::Listener;
use crate::CoreError;

/// Where a request for a download came in: its URL is served on the same listener, at the
/// address the client used.
#[derive(Debug, Clone)]
pub struct RequestOrigin {
    pub listener: Listener,
    /// `https` or `http`.
    pub scheme: &'static str,
    /// The `Host` the client used (`name:port`).
    pub authority: String,
}

impl RequestOrigin {
    /// `scheme://authority`, once the authority is checked.
    pub fn base(&self) -> Result<String, CoreError> {
        check_authority(&self.authority)?;
        Ok(format!("{}://{}", self.scheme, self.authority))
    }
}

/// A new token.
pub fn mint() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// What the server keeps of a token.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether a path segment could be a token at all (anything else is not looked up).
pub fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A `Host` value that is a name or address and an optional port, nothing else.
pub fn check_authority(a: &str) -> Result<(), CoreError> {
    let ok = !a.is_empty()
        && a.len() <= 255
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'));
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            "Host",
            "the request's Host header is not a host name or address with a port",
        ))
    }
}
