//! The JWT signature check with the `jsonwebtoken` crate (a maintained JOSE implementation
//! over ring): a token's header and claims read, and its JWS signature verified with the key
//! of a JWKS it names. Only asymmetric algorithms are accepted — `none` and HMAC (whose "key"
//! would be the public JWKS) never — and a key whose `alg` is set must be the token's.
use ferrocenter_core::ports::{JwtError, JwtVerifier, UnverifiedJwt};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;

const ACCEPTED: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

#[derive(Debug, Default, Clone, Copy)]
pub struct JoseJwtVerifier;

fn malformed(e: jsonwebtoken::errors::Error) -> JwtError {
    JwtError::Malformed(e.to_string())
}

/// Only the signature: which claims are acceptable is the core's rule.
fn signature_only(alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    v
}

fn fits(key: &Jwk, alg: Algorithm) -> bool {
    let family = match &key.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(_) => {
            matches!(alg, Algorithm::ES256 | Algorithm::ES384)
        }
        _ => false,
    };
    let named = key
        .common
        .key_algorithm
        .is_none_or(|k| k.to_string() == format!("{alg:?}"));
    family && named
}

impl JwtVerifier for JoseJwtVerifier {
    fn inspect(&self, token: &str) -> Result<UnverifiedJwt, JwtError> {
        let header = decode_header(token).map_err(malformed)?;
        // Read, not trusted: the claims only choose the provider whose keys then check it.
        let mut read = Validation::new(header.alg);
        read.insecure_disable_signature_validation();
        read.validate_exp = false;
        read.validate_nbf = false;
        read.validate_aud = false;
        read.required_spec_claims.clear();
        let claims = decode::<Value>(token, &DecodingKey::from_secret(&[]), &read)
            .map_err(malformed)?
            .claims;
        Ok(UnverifiedJwt {
            alg: format!("{:?}", header.alg),
            kid: header.kid,
            claims,
        })
    }

    fn verify(&self, token: &str, jwks: &Value) -> Result<Value, JwtError> {
        let header = decode_header(token).map_err(malformed)?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(JwtError::Algorithm(format!("{:?}", header.alg)));
        }
        // Keys this library cannot read (another kty) are skipped, as a JWKS may hold them.
        let keys: Vec<Jwk> = jwks
            .get("keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .filter(|k| match &header.kid {
                Some(kid) => k.common.key_id.as_deref() == Some(kid.as_str()),
                None => true,
            })
            .filter(|k| fits(k, header.alg))
            .collect();
        if keys.is_empty() {
            return Err(JwtError::UnknownKey);
        }
        let validation = signature_only(header.alg);
        for k in &keys {
            let Ok(key) = DecodingKey::from_jwk(k) else {
                continue;
            };
            match decode::<Value>(token, &key, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => continue,
                Err(e) => return Err(malformed(e)),
            }
        }
        Err(JwtError::BadSignature)
    }
}
