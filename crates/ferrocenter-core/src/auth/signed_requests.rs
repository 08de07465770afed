//! A SAML token presented in place of a password (seeds/003 chapter 3): a bearer token as it
//! is, a holder-of-key token with a request signed by the key of its certificate. The rules of
//! the signed request live here — which bytes were signed (the request's canonical JSON
//! without its signature, as the vAPI runtime makes it) and for how long a signature counts;
//! the signature arithmetic is the [`TokenCrypto`](crate::ports::TokenCrypto) port's.
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use tracing::info;

use super::tokens::VerifiedToken;
use super::{Caller, Origin, SessionToken};
use crate::ports::{Confirmation, RequestSignatureAlgorithm};
use crate::{Core, CoreError};

/// The longest a signed request may say it is valid: the vAPI runtime gives its requests 20
/// minutes; a longer window would make a captured request replayable for longer.
pub const MAX_REQUEST_VALIDITY: Duration = Duration::minutes(30);

/// A request signed with a holder-of-key token's key, as a binding read it.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The whole request with its signature taken out: what the client signed, before
    /// canonicalisation.
    pub unsigned: &'a Value,
    /// The JWS name the request gives (`RS256`, …).
    pub algorithm: &'a str,
    /// The signature, decoded from its base64.
    pub signature: &'a [u8],
    /// The validity window the request states (inside the signed part).
    pub created: OffsetDateTime,
    pub expires: OffsetDateTime,
}

/// How a token arrives.
#[derive(Debug, Clone, Copy)]
pub enum TokenPresentation<'a> {
    /// Whoever holds it may use it.
    Bearer { token: &'a str },
    /// Its holder proves the key of its certificate by signing the request.
    HolderOfKey {
        token: &'a str,
        request: SignedRequest<'a>,
    },
}

/// Refusals say nothing to the caller; why is logged without the token.
fn refuse(why: &str) -> CoreError {
    info!("token refused: {why}");
    CoreError::Unauthenticated
}

/// JSON as the vAPI runtime canonicalises it before signing: object keys sorted by code point,
/// no insignificant whitespace, strings escaped as Python's `json` does with `ensure_ascii`
/// (everything outside ASCII as `\uXXXX`), doubles in XML Schema canonical form (`1.5E0`).
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) => out.push_str(&canonical_double(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // UTF-8 byte order is code point order.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// XML Schema's canonical double: one non-zero digit before the point (unless zero), at least
/// one after it, no trailing zeros, `E` and the exponent.
fn canonical_double(f: f64) -> String {
    // Rust's `{:E}` writes the shortest round-trip mantissa without trailing zeros.
    let s = format!("{f:E}");
    match s.split_once('E') {
        Some((m, e)) if !m.contains('.') => format!("{m}.0E{e}"),
        _ => s,
    }
}

impl Core {
    /// Checks a presented token — and, for a holder-of-key one, the request signed with its
    /// key — and returns whom it speaks for. Every refusal is `Unauthenticated`.
    pub async fn verify_presented_token(
        &self,
        presented: &TokenPresentation<'_>,
        expected_audience: Option<&str>,
    ) -> Result<VerifiedToken, CoreError> {
        match presented {
            TokenPresentation::Bearer { token } => {
                self.verify_saml_token(token, expected_audience, None).await
            }
            TokenPresentation::HolderOfKey { token, request } => {
                self.check_request_window(request)?;
                let assertion = self.signed_assertion(token).await?;
                let Confirmation::HolderOfKey { certificate_der } = &assertion.confirmation else {
                    return Err(refuse("a bearer token in a holder-of-key context"));
                };
                let algorithm = RequestSignatureAlgorithm::from_jws(request.algorithm)
                    .ok_or_else(|| refuse("an unknown request signature algorithm"))?;
                let message = canonical_json(request.unsigned);
                self.token_crypto()?
                    .verify_request_signature(
                        message.as_bytes(),
                        request.signature,
                        algorithm,
                        certificate_der,
                    )
                    .map_err(|e| refuse(&e.to_string()))?;
                let proof = certificate_der.clone();
                self.accept_assertion(assertion, expected_audience, Some(&proof))
                    .await
            }
        }
    }

    /// The window a signed request states must hold now (give or take the clock tolerance),
    /// and be no longer than [`MAX_REQUEST_VALIDITY`]: outside it, a captured request is a
    /// replay.
    fn check_request_window(&self, r: &SignedRequest<'_>) -> Result<(), CoreError> {
        let now = self.clock.now();
        let tol = self.token_policy().clock_tolerance;
        if r.expires <= r.created {
            return Err(refuse(
                "a signed request whose window ends before it starts",
            ));
        }
        if r.expires - r.created > MAX_REQUEST_VALIDITY {
            return Err(refuse("a signed request valid for too long"));
        }
        if now + tol < r.created {
            return Err(refuse("a signed request from the future"));
        }
        if now - tol >= r.expires {
            return Err(refuse("a signed request past its window"));
        }
        Ok(())
    }

    /// The caller a presented token speaks for, for one call from `origin`: the token's checks,
    /// then the account's lockout as for a session.
    pub async fn token_caller(
        &self,
        origin: impl Into<Origin>,
        presented: &TokenPresentation<'_>,
        expected_audience: Option<&str>,
    ) -> Result<Caller, CoreError> {
        let caller = self
            .verify_presented_token(presented, expected_audience)
            .await?
            .caller;
        self.auth.admit_token_subject(origin.into(), &caller)?;
        Ok(caller)
    }

    /// Opens a session for the subject of a presented token (`cis.session.create` with a SAML
    /// security context or `Authorization: SIGN`), under the same rules as vim's
    /// `LoginByToken`: the address budget, the account's lockout, one way to open a token
    /// session. The session lives as a password login's does; the token's own end does not
    /// bound it, as on vCenter.
    pub async fn login_with_token(
        &self,
        origin: impl Into<Origin>,
        presented: &TokenPresentation<'_>,
        expected_audience: Option<&str>,
    ) -> Result<(SessionToken, Caller), CoreError> {
        let origin = origin.into();
        self.auth.admit_token_attempt(origin)?;
        let caller = self
            .verify_presented_token(presented, expected_audience)
            .await?
            .caller;
        let token = self.auth.open_token_session(origin, caller.clone())?;
        info!(user = %caller.user, "session opened with a SAML token");
        Ok((token, caller))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_is_what_the_vapi_runtime_signs() {
        // The runtime's JSONCanonicalEncoder: sorted keys, no spaces, ASCII escapes.
        let v = json!({"b": [1, 2.5, "é\u{1F600}\"\n"], "a": {"z": null, "y": true}, "c": 100.0});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"y":true,"z":null},"b":[1,2.5E0,"\u00e9\ud83d\ude00\"\n"],"c":1.0E2}"#
        );
        assert_eq!(canonical_double(0.0), "0.0E0");
        assert_eq!(canonical_double(-0.015), "-1.5E-2");
    }
}
