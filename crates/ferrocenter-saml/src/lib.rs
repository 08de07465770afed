//! SAML 2.0 tokens and the security token service's wire (seeds/003 chapter 3).
//!
//! XML signatures are libxmlsec1's (through the `xmlsec` and `libxml` crates, OpenSSL engine,
//! exclusive C14N): nothing here canonicalises XML by hand. The rules — who gets a token, for
//! how long, and what a presented token must prove — are the core's (`auth::tokens`); this
//! crate gives it the [`XmlSecTokens`] adapter of its `TokenCrypto` port and serves WS-Trust
//! 1.3 at `/sts/STSService`.
//!
//! Layers: `sts` (route, request decoding, answers and faults) → `wssec` (WS-Security request
//! signatures) and `crypto` (the port adapter) → `assertion` → `dsig` → `dom`.
mod assertion;
mod crypto;
mod dom;
mod dsig;
mod request_signature;
mod sts;
mod wssec;

pub use assertion::confirmation_certificate;
pub use crypto::XmlSecTokens;
pub use sts::{routes, StsFault, StsState, SIGNING_CERTIFICATES_PATH, STS_PATH, STS_PATH_ALIAS};
pub use wssec::presented_token;

#[cfg(test)]
mod tests;
