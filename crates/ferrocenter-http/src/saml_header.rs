//! A SAML assertion carried in an `Authorization` header, for the bindings that take one in
//! place of a password: vCenter's REST form `SIGN token="<base64 of the gzipped assertion>"`
//! (the assertion may also come base64-encoded without compression) and, for VI/JSON, whose
//! transport for a token VMware does not document, `Bearer <base64 of the assertion>` (or the
//! XML itself). Only the header's shape is read here; the token is the core's to verify.
use std::io::Read;

use base64::Engine;

/// The largest assertion a header may inflate to: a token is a few kilobytes, and a gzip bomb
/// must not cost more than this.
pub const MAX_ASSERTION_BYTES: u64 = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderTokenError {
    /// A `SIGN` header with a request signature: the holder-of-key form, which no client
    /// documents exactly enough to verify.
    #[error("a holder-of-key token in an Authorization header is not supported")]
    HolderOfKeyForm,
    /// The header names a token scheme but holds no readable assertion.
    #[error("the Authorization header holds no readable SAML assertion")]
    Unreadable,
}

/// The assertion in an `Authorization` header value, if its scheme is one that carries a
/// token (`SIGN`, and `Bearer` when `bearer` is allowed); `Ok(None)` for any other scheme.
pub fn assertion_in(value: &str, bearer: bool) -> Result<Option<String>, HeaderTokenError> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("sign") {
        sign_params(rest).map(Some)
    } else if bearer && scheme.eq_ignore_ascii_case("bearer") {
        let rest = rest.trim();
        if rest.starts_with('<') {
            return Ok(Some(rest.to_string()));
        }
        decode(rest).map(Some)
    } else {
        Ok(None)
    }
}

fn sign_params(params: &str) -> Result<String, HeaderTokenError> {
    let mut token = None;
    for part in params.split(',') {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        match k.trim() {
            "token" => token = Some(v.trim().trim_matches('"')),
            "signature" | "signature_alg" | "nonce" | "bodyhash" => {
                return Err(HeaderTokenError::HolderOfKeyForm)
            }
            _ => {}
        }
    }
    decode(token.ok_or(HeaderTokenError::Unreadable)?)
}

/// Base64 (standard or URL-safe, whitespace ignored) of the assertion, gzipped or not.
fn decode(encoded: &str) -> Result<String, HeaderTokenError> {
    let compact: String = encoded.split_whitespace().collect();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(&compact))
        .map_err(|_| HeaderTokenError::Unreadable)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut xml = String::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .take(MAX_ASSERTION_BYTES)
            .read_to_string(&mut xml)
            .map_err(|_| HeaderTokenError::Unreadable)?;
        Ok(xml)
    } else {
        String::from_utf8(raw).map_err(|_| HeaderTokenError::Unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const XML: &str = "<saml2:Assertion ID=\"_a\"/>";

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    fn gzip(s: &str) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(s.as_bytes()).unwrap_or_default();
        e.finish().unwrap_or_default()
    }

    #[test]
    fn each_form_yields_the_assertion() {
        let gz = b64(&gzip(XML));
        assert_eq!(
            assertion_in(&format!("SIGN token=\"{gz}\""), false),
            Ok(Some(XML.into()))
        );
        assert_eq!(
            assertion_in(&format!("sign token=\"{}\"", b64(XML.as_bytes())), false),
            Ok(Some(XML.into()))
        );
        assert_eq!(
            assertion_in(&format!("Bearer {gz}"), true),
            Ok(Some(XML.into()))
        );
        assert_eq!(
            assertion_in(&format!("Bearer {XML}"), true),
            Ok(Some(XML.into()))
        );
    }

    #[test]
    fn other_schemes_and_bad_values_are_told_apart() {
        assert_eq!(assertion_in("Basic dXNlcjpwdw==", true), Ok(None));
        assert_eq!(assertion_in("Bearer abc", false), Ok(None));
        assert_eq!(
            assertion_in("SIGN token=\"x\", signature=\"y\"", false),
            Err(HeaderTokenError::HolderOfKeyForm)
        );
        assert_eq!(
            assertion_in("SIGN nonce=\"1\"", false),
            Err(HeaderTokenError::HolderOfKeyForm)
        );
        assert_eq!(
            assertion_in("SIGN token=\"%%%\"", false),
            Err(HeaderTokenError::Unreadable)
        );
        assert_eq!(
            assertion_in("SIGN", false),
            Err(HeaderTokenError::Unreadable)
        );
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_cap() {
        let big = "a".repeat(2 * MAX_ASSERTION_BYTES as usize);
        let v = assertion_in(&format!("SIGN token=\"{}\"", b64(&gzip(&big))), false);
        assert_eq!(
            v.map(|s| s.map(|x| x.len() as u64)),
            Ok(Some(MAX_ASSERTION_BYTES))
        );
    }
}
