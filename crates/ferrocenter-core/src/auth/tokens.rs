//! SAML tokens of the SSO domain (seeds/003 chapter 3): what the security token service issues
//! and what every surface accepts in place of a password. The rules live here — who the
//! subject is, for how long a token may live, when it may be renewed or delegated, which
//! audience and which proof of possession it needs; the XML and its signature are reached
//! through [`TokenCrypto`], whose real adapter is `ferrocenter-saml`.
//!
//! The domain's signing key is made on first use, kept sealed in the store
//! ([`SIGNING_KEYS_KEY`]) and survives restarts. Rotation makes a new key; the certificates of
//! the keys it replaced keep verifying until every token they signed has expired.
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use tracing::{info, warn};

use super::{parse_login_name, Caller, Origin};
use crate::model::new_uuid;
use crate::ports::{Assertion, Confirmation, SigningIdentity, TokenCrypto, TokenCryptoError};
use crate::{Core, CoreError};

/// The setting holding the signing keys: the current key (sealed) and certificate, and the
/// certificates of retired keys.
pub const SIGNING_KEYS_KEY: &str = "sso.sts.signing_keys";

/// The token policy, with vCenter's defaults but a tighter clock tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPolicy {
    /// The longest a bearer token may live (vCenter: 5 minutes).
    pub max_bearer_lifetime: Duration,
    /// The longest a holder-of-key token may live (vCenter: 30 days).
    pub max_hok_lifetime: Duration,
    /// The lifetime given when the request names none.
    pub default_lifetime: Duration,
    /// How far the clocks of the issuer and the relying party may disagree.
    pub clock_tolerance: Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy {
            max_bearer_lifetime: Duration::minutes(5),
            max_hok_lifetime: Duration::days(30),
            default_lifetime: Duration::minutes(5),
            clock_tolerance: Duration::seconds(60),
        }
    }
}

impl TokenPolicy {
    fn cap(&self, c: &Confirmation) -> Duration {
        match c {
            Confirmation::Bearer => self.max_bearer_lifetime,
            Confirmation::HolderOfKey { .. } => self.max_hok_lifetime,
        }
    }

    /// How long a retired certificate stays trusted: past the end of every token it signed.
    fn retired_keep(&self) -> Duration {
        self.max_hok_lifetime.max(self.max_bearer_lifetime) + self.clock_tolerance
    }
}

/// How the requester proves who the new token is for.
#[derive(Debug, Clone, Copy)]
pub enum TokenCredential<'a> {
    /// A user name and password (a WS-Security UsernameToken); counts toward lockout.
    Password {
        username: &'a str,
        password: &'a str,
    },
    /// A token of this domain presented to get another for the same subject: token-by-token
    /// (the token itself authenticates the request, so a holder-of-key one needs its proof).
    Token { xml: &'a str },
    /// Delegation (WS-Trust ActAs): a delegatable token of the subject, and the requester
    /// proving possession of the key the new token will be bound to.
    ActAs { xml: &'a str },
}

/// A request for a token (WS-Trust `RequestSecurityToken` Issue), as the binding read it.
#[derive(Debug, Clone)]
pub struct TokenRequest<'a> {
    pub credential: TokenCredential<'a>,
    /// The certificate (DER) whose key signed the request, when the binding verified such a
    /// signature: the proof for a presented holder-of-key token, and the key a new
    /// holder-of-key token is bound to.
    pub proof: Option<&'a [u8]>,
    /// Bearer, or holder-of-key (bound to `proof`).
    pub holder_of_key: bool,
    /// The requested lifetime (WS-Trust `Lifetime`); capped by policy.
    pub lifetime: Option<(OffsetDateTime, OffsetDateTime)>,
    pub renewable: bool,
    pub delegatable: bool,
    /// WS-Policy `AppliesTo`: the relying party the token is for.
    pub audience: Option<&'a str>,
}

/// A signed token and when it stops being valid.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub xml: String,
    pub assertion: Assertion,
}

/// A token that passed every check: who it speaks for, and what it says.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub caller: Caller,
    pub assertion: Assertion,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredKeys {
    current_key_sealed: String,
    current_cert_pem: String,
    #[serde(default)]
    retired: Vec<RetiredCert>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RetiredCert {
    cert_pem: String,
    /// Unix seconds.
    retired_at: i64,
}

/// The token service's state in the core: its crypto adapter and the keys read from the store.
#[derive(Default)]
pub struct TokenState {
    crypto: OnceLock<Arc<dyn TokenCrypto>>,
    /// Signed token logins seen, by request signature, until their Timestamp lapses.
    pub(super) replays: super::token_sessions::SeenRequests,
    keys: parking_lot::Mutex<Option<Keys>>,
    policy: parking_lot::RwLock<TokenPolicy>,
    /// When a token that failed its signature last made this server read the keys again.
    reread_at: parking_lot::Mutex<Option<OffsetDateTime>>,
}

/// A token failing its signature makes the server read the signing keys again (another server
/// of the database may have rotated them) at most this often, so that forged tokens cannot turn
/// every request into a store read.
pub const KEY_REREAD_FLOOR: Duration = Duration::seconds(5);

#[derive(Clone)]
struct Keys {
    signing: SigningIdentity,
    trusted: Vec<String>,
}

pub(super) fn crypto_error(e: TokenCryptoError) -> CoreError {
    match e {
        TokenCryptoError::Signing(m) => CoreError::internal(format!("token signing: {m}")),
        // Why a token was refused is logged, never told: every refusal is the same answer.
        other => {
            info!("token refused: {other}");
            CoreError::Unauthenticated
        }
    }
}

pub(super) fn refuse(why: &str) -> CoreError {
    info!("token refused: {why}");
    CoreError::Unauthenticated
}

impl Core {
    /// Plugs in the SAML adapter; the first one set stays.
    pub fn set_token_crypto(&self, crypto: Arc<dyn TokenCrypto>) {
        let _ = self.tokens.crypto.set(crypto);
    }

    pub fn token_policy(&self) -> TokenPolicy {
        *self.tokens.policy.read()
    }

    pub fn set_token_policy(&self, policy: TokenPolicy) {
        *self.tokens.policy.write() = policy;
    }

    pub(super) fn token_crypto(&self) -> Result<&Arc<dyn TokenCrypto>, CoreError> {
        self.tokens
            .crypto
            .get()
            .ok_or_else(|| CoreError::NotSupported {
                operation: "SAML tokens (no token crypto adapter is configured)".into(),
            })
    }

    /// The issuer name every token of this domain carries.
    pub fn token_issuer(&self) -> String {
        format!("urn:ferrocenter:sso:{}", self.auth.sso_domain())
    }

    /// The domain's signing key, made and stored on first use; kept in memory afterwards.
    async fn signing_keys(&self) -> Result<Keys, CoreError> {
        if let Some(k) = self.tokens.keys.lock().clone() {
            return Ok(k);
        }
        self.reload_signing_keys().await
    }

    /// Drops the signing keys held in memory: the next use reads (or makes) the stored ones.
    /// A setup that emptied the store or renamed the domain calls it.
    pub(crate) fn forget_signing_keys(&self) {
        *self.tokens.keys.lock() = None;
    }

    async fn reload_signing_keys(&self) -> Result<Keys, CoreError> {
        let stored = match self.store.get_setting(SIGNING_KEYS_KEY).await? {
            Some(s) => s,
            None => {
                let crypto = self.token_crypto()?;
                let id = crypto
                    .generate_identity(&self.auth.sso_domain())
                    .map_err(crypto_error)?;
                let fresh = StoredKeys {
                    current_key_sealed: self.secrets.seal(&id.key_pem)?,
                    current_cert_pem: id.cert_pem,
                    retired: vec![],
                };
                let json = serde_json::to_string(&fresh)
                    .map_err(|e| CoreError::internal(format!("signing keys: {e}")))?;
                // Several servers may start at once on one database: the first key stays.
                if self
                    .store
                    .put_setting_if_absent(SIGNING_KEYS_KEY, &json)
                    .await?
                {
                    info!("made the SSO domain's token signing key");
                }
                self.store
                    .get_setting(SIGNING_KEYS_KEY)
                    .await?
                    .ok_or_else(|| CoreError::internal("the signing keys vanished"))?
            }
        };
        let keys = self.open_keys(&stored)?;
        *self.tokens.keys.lock() = Some(keys.clone());
        Ok(keys)
    }

    fn open_keys(&self, stored: &str) -> Result<Keys, CoreError> {
        let s: StoredKeys = serde_json::from_str(stored)
            .map_err(|e| CoreError::internal(format!("the stored signing keys: {e}")))?;
        let now = self.clock.now().unix_timestamp();
        let keep = self.token_policy().retired_keep().whole_seconds();
        let mut trusted = vec![s.current_cert_pem.clone()];
        trusted.extend(
            s.retired
                .iter()
                .filter(|r| r.retired_at.saturating_add(keep) > now)
                .map(|r| r.cert_pem.clone()),
        );
        Ok(Keys {
            signing: SigningIdentity {
                key_pem: self.secrets.open(&s.current_key_sealed)?,
                cert_pem: s.current_cert_pem,
            },
            trusted,
        })
    }

    /// The certificates relying parties trust tokens under (PEM): the current one first, then
    /// those of retired keys whose tokens may still be valid.
    pub async fn token_signing_certificates(&self) -> Result<Vec<String>, CoreError> {
        Ok(self.signing_keys().await?.trusted)
    }

    /// Replaces the signing key. Tokens signed with the old key keep verifying until they
    /// expire; new ones are signed with the new key. Returns the new certificate (PEM).
    pub async fn rotate_token_signing_key(&self, caller: &Caller) -> Result<String, CoreError> {
        // Replacing the key that vouches for every token is the SSO administrator's act.
        if caller.role < super::Role::SuperAdmin {
            return Err(CoreError::NoPermission {
                privilege: format!(
                    "of the {} role (token signing keys)",
                    super::Role::SuperAdmin
                ),
            });
        }
        self.signing_keys().await?;
        let crypto = self.token_crypto()?;
        let id = crypto
            .generate_identity(&self.auth.sso_domain())
            .map_err(crypto_error)?;
        let now = self.clock.now().unix_timestamp();
        let keep = self.token_policy().retired_keep().whole_seconds();
        let old: StoredKeys = match self.store.get_setting(SIGNING_KEYS_KEY).await? {
            Some(s) => serde_json::from_str(&s)
                .map_err(|e| CoreError::internal(format!("the stored signing keys: {e}")))?,
            None => return Err(CoreError::internal("the signing keys vanished")),
        };
        let mut retired: Vec<RetiredCert> = old
            .retired
            .into_iter()
            .filter(|r| r.retired_at.saturating_add(keep) > now)
            .collect();
        retired.push(RetiredCert {
            cert_pem: old.current_cert_pem,
            retired_at: now,
        });
        let new = StoredKeys {
            current_key_sealed: self.secrets.seal(&id.key_pem)?,
            current_cert_pem: id.cert_pem.clone(),
            retired,
        };
        let json = serde_json::to_string(&new)
            .map_err(|e| CoreError::internal(format!("signing keys: {e}")))?;
        self.store.put_setting(SIGNING_KEYS_KEY, &json).await?;
        *self.tokens.keys.lock() = Some(self.open_keys(&json)?);
        warn!(user = %caller.user, "rotated the SSO domain's token signing key");
        Ok(id.cert_pem)
    }

    /// Checks a token presented in place of a password: signed by this domain's key (current
    /// or retired and still trusted), issued by this domain, inside its validity window (give
    /// or take the clock tolerance), meant for `expected_audience` when it names audiences,
    /// and — for a holder-of-key token — `proof` is the certificate it is bound to, whose key
    /// the binding saw sign the request. The subject must still be an enabled account.
    /// Every refusal is `Unauthenticated`.
    pub async fn verify_saml_token(
        &self,
        xml: &str,
        expected_audience: Option<&str>,
        proof: Option<&[u8]>,
    ) -> Result<VerifiedToken, CoreError> {
        let assertion = self.signed_assertion(xml).await?;
        self.accept_assertion(assertion, expected_audience, proof)
            .await
    }

    /// What a token says, once its signature verified under a certificate of this domain;
    /// nothing else is checked yet.
    pub(super) async fn signed_assertion(&self, xml: &str) -> Result<Assertion, CoreError> {
        let crypto = self.token_crypto()?;
        let keys = self.signing_keys().await?;
        match crypto.verify(xml, &keys.trusted) {
            // Another server of a shared database may have rotated the key: read it again once.
            Err(TokenCryptoError::BadSignature(e)) => {
                if self.may_reread_keys() {
                    let keys = self.reload_signing_keys().await?;
                    crypto.verify(xml, &keys.trusted)
                } else {
                    Err(TokenCryptoError::BadSignature(e))
                }
            }
            other => other,
        }
        .map_err(crypto_error)
    }

    /// A signed assertion that meets every rule beyond its signature, as the caller it names.
    pub(super) async fn accept_assertion(
        &self,
        assertion: Assertion,
        expected_audience: Option<&str>,
        proof: Option<&[u8]>,
    ) -> Result<VerifiedToken, CoreError> {
        self.check_assertion(&assertion, expected_audience, proof)?;
        let caller = self.caller_of(&assertion).await?;
        Ok(VerifiedToken { caller, assertion })
    }

    /// Whether a failed signature may make this server read the keys again now; if so, the
    /// time is taken so that the next one within [`KEY_REREAD_FLOOR`] may not.
    fn may_reread_keys(&self) -> bool {
        let now = self.clock.now();
        let mut at = self.tokens.reread_at.lock();
        if at.is_some_and(|t| now - t < KEY_REREAD_FLOOR) {
            return false;
        }
        *at = Some(now);
        true
    }

    /// The rules a signed assertion must meet beyond its signature.
    pub(super) fn check_assertion(
        &self,
        a: &Assertion,
        expected_audience: Option<&str>,
        proof: Option<&[u8]>,
    ) -> Result<(), CoreError> {
        let now = self.clock.now();
        let tol = self.token_policy().clock_tolerance;
        if a.issuer != self.token_issuer() {
            return Err(refuse("issued by another token service"));
        }
        if !a.domain.eq_ignore_ascii_case(&self.auth.sso_domain()) {
            return Err(refuse("of another SSO domain"));
        }
        if now + tol < a.not_before {
            return Err(refuse("not valid yet"));
        }
        if now - tol >= a.not_on_or_after {
            return Err(refuse("expired"));
        }
        if let (Some(want), false) = (expected_audience, a.audiences.is_empty()) {
            if !a.audiences.iter().any(|have| have == want) {
                return Err(refuse("meant for another audience"));
            }
        }
        if let Confirmation::HolderOfKey { certificate_der } = &a.confirmation {
            match proof {
                Some(p) if p == certificate_der.as_slice() => {}
                Some(_) => return Err(refuse("the request was signed by another key")),
                None => return Err(refuse("holder-of-key without proof of possession")),
            }
        }
        Ok(())
    }

    /// The subject as a caller, with the role its account and groups give it now.
    pub(super) async fn caller_of(&self, a: &Assertion) -> Result<Caller, CoreError> {
        let (realm, name) = parse_login_name(&a.subject, false, &self.auth.sso_domain())
            .map_err(|_| refuse("subject is not a user of this domain"))?;
        let p = self
            .store
            .find_principal(&realm, &name)
            .await?
            .ok_or_else(|| refuse("subject has no account"))?;
        if let Some(why) = p.login_refusal(self.clock.now()) {
            return Err(refuse(why.as_str()));
        }
        let role = self.auth.effective_role(&p).await?;
        Ok(Caller {
            principal_id: p.id.clone(),
            user: p.login_name(),
            realm: p.realm.clone(),
            role,
        })
    }

    /// WS-Trust Issue: authenticates the request by its credential and signs a new token.
    /// A wrong password counts toward the account's lockout as a failed login does.
    pub async fn issue_token(
        &self,
        origin: impl Into<Origin>,
        req: &TokenRequest<'_>,
    ) -> Result<IssuedToken, CoreError> {
        let origin = origin.into();
        let confirmation = if req.holder_of_key {
            let cert = req.proof.ok_or_else(|| {
                CoreError::invalid(
                    "UseKey",
                    "a holder-of-key token needs the request signed with the key it binds",
                )
            })?;
            Confirmation::HolderOfKey {
                certificate_der: cert.to_vec(),
            }
        } else {
            Confirmation::Bearer
        };
        let (caller, delegate) = match req.credential {
            TokenCredential::Password { username, password } => (
                self.auth.authenticate(origin, username, password).await?,
                None,
            ),
            TokenCredential::Token { xml } => {
                let v = self.verify_saml_token(xml, None, req.proof).await?;
                // A bearer token is traded only through Renew (if renewable) or ActAs (if
                // delegatable): otherwise a five-minute token would buy a thirty-day one.
                if v.assertion.confirmation == Confirmation::Bearer {
                    return Err(refuse("token-by-token with a bearer token"));
                }
                (v.caller, None)
            }
            TokenCredential::ActAs { xml } => {
                // The presented token is the subject's; the requester only proves the key.
                let v = self.verify_saml_token(xml, None, req.proof).await?;
                if !v.assertion.delegatable {
                    return Err(refuse("ActAs with a token that is not delegatable"));
                }
                (v.caller, Some(v.assertion.subject))
            }
        };
        let lifetime = self.lifetime(req.lifetime, &confirmation)?;
        self.sign_for(&caller, confirmation, lifetime, req, delegate)
            .await
    }

    /// WS-Trust Renew: a renewable token of this domain, still valid, for a new lifetime;
    /// the subject, confirmation and flags stay.
    pub async fn renew_token(
        &self,
        xml: &str,
        proof: Option<&[u8]>,
        lifetime: Option<(OffsetDateTime, OffsetDateTime)>,
    ) -> Result<IssuedToken, CoreError> {
        let v = self.verify_saml_token(xml, None, proof).await?;
        if !v.assertion.renewable {
            return Err(CoreError::invalid_state("the token is not renewable"));
        }
        let a = v.assertion;
        let lifetime = self.lifetime(lifetime, &a.confirmation)?;
        let req = TokenRequest {
            credential: TokenCredential::Token { xml },
            proof,
            holder_of_key: matches!(a.confirmation, Confirmation::HolderOfKey { .. }),
            lifetime: None,
            renewable: a.renewable,
            delegatable: a.delegatable,
            audience: a.audiences.first().map(String::as_str),
        };
        self.sign_for(
            &v.caller,
            a.confirmation.clone(),
            lifetime,
            &req,
            a.delegate,
        )
        .await
    }

    /// The requested lifetime, capped by policy; none asked gives the default.
    fn lifetime(
        &self,
        asked: Option<(OffsetDateTime, OffsetDateTime)>,
        c: &Confirmation,
    ) -> Result<Duration, CoreError> {
        let policy = self.token_policy();
        let cap = policy.cap(c);
        match asked {
            None => Ok(policy.default_lifetime.min(cap)),
            Some((created, expires)) => {
                let d = expires - created;
                if d <= Duration::ZERO {
                    return Err(CoreError::invalid(
                        "Lifetime",
                        "Expires must be later than Created",
                    ));
                }
                Ok(d.min(cap))
            }
        }
    }

    async fn sign_for(
        &self,
        caller: &Caller,
        confirmation: Confirmation,
        lifetime: Duration,
        req: &TokenRequest<'_>,
        delegate: Option<String>,
    ) -> Result<IssuedToken, CoreError> {
        let super::Realm::Sso { domain } = &caller.realm else {
            return Err(CoreError::invalid(
                "Username",
                "only users of the SSO domain get tokens",
            ));
        };
        let groups = self
            .store
            .groups_of(&caller.principal_id)
            .await?
            .into_iter()
            .map(|g| format!("{domain}\\{}", g.name))
            .collect();
        let now = self.clock.now();
        let assertion = Assertion {
            // An NCName: it must not start with a digit.
            id: format!("_{}", new_uuid()),
            issuer: self.token_issuer(),
            subject: caller.user.clone(),
            domain: domain.clone(),
            groups,
            issued_at: now,
            not_before: now,
            not_on_or_after: now + lifetime,
            audiences: req.audience.map(str::to_string).into_iter().collect(),
            confirmation,
            renewable: req.renewable,
            delegatable: req.delegatable,
            delegate,
        };
        let keys = self.signing_keys().await?;
        let xml = self
            .token_crypto()?
            .sign(&assertion, &keys.signing)
            .map_err(crypto_error)?;
        Ok(IssuedToken { xml, assertion })
    }
}
