//! Sessions opened with a SAML token of this domain instead of a password: vim
//! `SessionManager.LoginByToken` (seeds/003 chapter 3). The token is checked by the one
//! verifier (`auth::tokens`); the session is then opened under Login's rules
//! (`AuthService::open_token_session`). Reading the token out of a SOAP envelope and checking
//! the request's signature is a wire matter, reached through the `TokenCrypto` port.
use std::collections::HashMap;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tracing::info;

use super::tokens::{crypto_error, refuse};
use super::{Caller, Origin, SessionToken};
use crate::ports::{Confirmation, RequestSignature};
use crate::{Core, CoreError};

/// How a token reaches a login.
#[derive(Debug, Clone, Copy)]
pub enum TokenLogin<'a> {
    /// A whole SOAP envelope: the token in its `wsse:Security` header and, for a
    /// holder-of-key token, the request signed with the token's key (pyVmomi's
    /// `add_saml_context`).
    SoapEnvelope(&'a str),
    /// The token alone, with nothing signed around it (VI/JSON's `Authorization` header): only
    /// a bearer token can log in this way.
    Bare(&'a str),
}

/// Signed token logins already accepted, by the digest of their signature, each kept until
/// its Timestamp would be refused anyway: the same signed request sent twice opens one session.
#[derive(Default)]
pub struct SeenRequests(parking_lot::Mutex<HashMap<[u8; 32], OffsetDateTime>>);

impl SeenRequests {
    /// Records the signature; false when it was seen and is still within its window.
    fn first_use(
        &self,
        sig: &RequestSignature,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> bool {
        let key: [u8; 32] = Sha256::digest(sig.value.as_bytes()).into();
        let mut seen = self.0.lock();
        seen.retain(|_, t| *t > now);
        if seen.contains_key(&key) {
            return false;
        }
        seen.insert(key, until);
        true
    }
}

impl Core {
    /// vim `LoginByToken`: opens a session of the origin's kind for the subject of a SAML
    /// token of this domain. The token must pass every check of
    /// [`verify_saml_token`](Core::verify_saml_token) with `audience` as the relying party; a
    /// holder-of-key token must come in a request signed with its key over the Body and a
    /// current Timestamp, and such a request logs in once. The address budget, the account's
    /// lockout and its disabled or expired state apply as they do to Login. Every refusal
    /// is `Unauthenticated`, but for a holder-of-key token presented [`TokenLogin::Bare`],
    /// which is `NotSupported` naming why.
    pub async fn login_by_token(
        &self,
        origin: impl Into<Origin>,
        presented: TokenLogin<'_>,
        audience: Option<&str>,
    ) -> Result<(SessionToken, Caller), CoreError> {
        let origin = origin.into();
        self.auth.admit_token_attempt(origin)?;
        let now = self.clock.now();
        let (xml, signature) = match presented {
            TokenLogin::SoapEnvelope(envelope) => {
                let found = self
                    .token_crypto()?
                    .presented_in_envelope(envelope, now)
                    .map_err(crypto_error)?;
                let p = found.ok_or_else(|| refuse("LoginByToken without a token"))?;
                (p.assertion_xml, p.signature)
            }
            TokenLogin::Bare(xml) => (xml.to_string(), None),
        };
        let assertion = self.signed_assertion(&xml).await?;
        if let (TokenLogin::Bare(_), Confirmation::HolderOfKey { .. }) =
            (presented, &assertion.confirmation)
        {
            return Err(CoreError::NotSupported {
                operation: "LoginByToken with a holder-of-key token here: its proof is a \
                            request signed with the token's key, which only the SOAP door \
                            (POST /sdk, WS-Security) carries"
                    .into(),
            });
        }
        let proof = signature.as_ref().map(|s| s.certificate_der.as_slice());
        self.check_assertion(&assertion, audience, proof)?;
        let caller = self.caller_of(&assertion).await?;
        if let Some(sig) = &signature {
            // A signed request without a Timestamp could be sent again for ever.
            let stamped = sig
                .accepted_until
                .ok_or_else(|| refuse("a signed LoginByToken without a signed Timestamp"))?;
            // Once the token has expired the request is refused anyway: no need to remember it
            // longer, however far its Timestamp reaches.
            let until =
                stamped.min(assertion.not_on_or_after + self.token_policy().clock_tolerance);
            if !self.tokens.replays.first_use(sig, until, now) {
                return Err(refuse("a signed LoginByToken request sent again"));
            }
        }
        let token = self.auth.open_token_session(origin, caller.clone())?;
        info!(user = %caller.user, "logged in by token");
        Ok((token, caller))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn sig(value: &str) -> RequestSignature {
        RequestSignature {
            certificate_der: vec![1, 2, 3],
            value: value.into(),
            accepted_until: None,
        }
    }

    #[test]
    fn a_signature_is_accepted_once_until_its_window_ends() {
        let seen = SeenRequests::default();
        let now = OffsetDateTime::now_utc();
        let until = now + Duration::minutes(5);
        assert!(seen.first_use(&sig("a"), until, now));
        assert!(!seen.first_use(&sig("a"), until, now + Duration::minutes(1)));
        assert!(seen.first_use(&sig("b"), until, now));
        // Past its window the entry is dropped (the adapter refuses such a request anyway).
        assert!(seen.first_use(&sig("a"), until, until + Duration::seconds(1)));
    }
}
