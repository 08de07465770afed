//! The token rules of the core (`auth::tokens`) with the real libxmlsec1 adapter, a real
//! SQLite store and a clock the test moves: validity window, audience, proof of possession,
//! renewal, delegation, lockout on token requests, the signing key kept across restarts and
//! rotated without invalidating the tokens it signed.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::sync::Arc;

use ferrocenter_core::auth::tokens::{TokenCredential, TokenRequest};
use ferrocenter_core::auth::{Caller, Listener};
use ferrocenter_core::ports::{Confirmation, ManualClock};
use ferrocenter_core::{Core, CoreConfig, CoreError};
use ferrocenter_saml::XmlSecTokens;
use time::{Duration, OffsetDateTime};

const PW: &str = "Initial-Pass-1";
const ADMIN: &str = "administrator@vsphere.local";
/// Stands in for a client certificate (DER): the core compares it, the binding proves it.
const CLIENT_CERT: &[u8] = &[0x30, 0x03, 0x02, 0x01, 0x07];

struct Env {
    core: Arc<Core>,
    clock: Arc<ManualClock>,
    config: CoreConfig,
    db: String,
    _dir: tempfile::TempDir,
}

async fn core_on(db: &str, clock: Arc<ManualClock>, config: CoreConfig) -> Arc<Core> {
    let store = ferrocenter_store::open(db).await.unwrap();
    let core = Core::new(store, clock, config);
    core.set_token_crypto(Arc::new(XmlSecTokens));
    core
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let start = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let config = CoreConfig::default();
    let core = core_on(&db, clock.clone(), config.clone()).await;
    core.auth.bootstrap(PW).await.unwrap();
    Env {
        core,
        clock,
        config,
        db,
        _dir: dir,
    }
}

fn password(pw: &str) -> TokenRequest<'_> {
    TokenRequest {
        credential: TokenCredential::Password {
            username: ADMIN,
            password: pw,
        },
        proof: None,
        holder_of_key: false,
        lifetime: None,
        renewable: false,
        delegatable: false,
        audience: None,
    }
}

async fn bearer(e: &Env) -> String {
    e.core
        .issue_token(Listener::Api, &password(PW))
        .await
        .unwrap()
        .xml
}

/// Moves the test clock forward.
fn advance(clock: &ManualClock, by: Duration) {
    clock.advance(by.try_into().unwrap());
}

#[tokio::test]
async fn a_token_is_valid_only_inside_its_window_give_or_take_the_tolerance() {
    let e = env().await;
    let tol = e.core.token_policy().clock_tolerance;
    // The issuer's clock is an hour ahead of the relying party's.
    let ahead = Arc::new(ManualClock::new(e.clock_now() + Duration::hours(1)));
    let issuer = core_on(&e.db, ahead, e.config.clone()).await;
    let xml = issuer
        .issue_token(Listener::Api, &password(PW))
        .await
        .unwrap()
        .xml;
    let v = issuer.verify_saml_token(&xml, None, None).await.unwrap();
    assert_eq!(v.caller.user, ADMIN);
    let life = v.assertion.not_on_or_after - v.assertion.not_before;
    assert_eq!(life, e.core.token_policy().default_lifetime);

    // Not yet valid: more than the tolerance before NotBefore.
    assert_eq!(
        e.core
            .verify_saml_token(&xml, None, None)
            .await
            .unwrap_err(),
        CoreError::Unauthenticated
    );
    // Inside the tolerance on either side.
    advance(&e.clock, Duration::hours(1) - tol + Duration::seconds(1));
    e.core.verify_saml_token(&xml, None, None).await.unwrap();
    advance(&e.clock, life + tol * 2 - Duration::seconds(2));
    e.core.verify_saml_token(&xml, None, None).await.unwrap();
    // Expired.
    advance(&e.clock, Duration::seconds(1));
    assert_eq!(
        e.core
            .verify_saml_token(&xml, None, None)
            .await
            .unwrap_err(),
        CoreError::Unauthenticated
    );
}

#[tokio::test]
async fn the_requested_lifetime_is_honoured_under_the_cap_and_capped_above_it() {
    let e = env().await;
    let now = e.clock_now();
    let mut req = password(PW);
    req.lifetime = Some((now, now + Duration::seconds(90)));
    let t = e.core.issue_token(Listener::Api, &req).await.unwrap();
    assert_eq!(
        t.assertion.not_on_or_after - t.assertion.not_before,
        Duration::seconds(90)
    );
    req.lifetime = Some((now, now + Duration::days(2)));
    let t = e.core.issue_token(Listener::Api, &req).await.unwrap();
    assert_eq!(
        t.assertion.not_on_or_after - t.assertion.not_before,
        e.core.token_policy().max_bearer_lifetime
    );
    req.lifetime = Some((now, now - Duration::seconds(1)));
    assert!(matches!(
        e.core.issue_token(Listener::Api, &req).await.unwrap_err(),
        CoreError::InvalidArgument { field, .. } if field == "Lifetime"
    ));
}

impl Env {
    fn clock_now(&self) -> OffsetDateTime {
        use ferrocenter_core::ports::Clock;
        self.clock.now()
    }
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let e = env().await;
    let mut req = password(PW);
    req.audience = Some("https://vc-a.example.com/sdk");
    let xml = e.core.issue_token(Listener::Api, &req).await.unwrap().xml;
    e.core
        .verify_saml_token(&xml, Some("https://vc-a.example.com/sdk"), None)
        .await
        .unwrap();
    assert_eq!(
        e.core
            .verify_saml_token(&xml, Some("https://vc-b.example.com/sdk"), None)
            .await
            .unwrap_err(),
        CoreError::Unauthenticated
    );
}

#[tokio::test]
async fn holder_of_key_needs_the_bound_certificate_as_proof() {
    let e = env().await;
    let mut req = password(PW);
    req.holder_of_key = true;
    // Asking for holder-of-key without a signed request is a bad request, not a bearer token.
    assert!(matches!(
        e.core.issue_token(Listener::Api, &req).await.unwrap_err(),
        CoreError::InvalidArgument { .. }
    ));
    req.proof = Some(CLIENT_CERT);
    let xml = e.core.issue_token(Listener::Api, &req).await.unwrap().xml;
    let v = e
        .core
        .verify_saml_token(&xml, None, Some(CLIENT_CERT))
        .await
        .unwrap();
    assert_eq!(
        v.assertion.confirmation,
        Confirmation::HolderOfKey {
            certificate_der: CLIENT_CERT.to_vec()
        }
    );
    for proof in [None, Some(&[0x30, 0x00][..])] {
        assert_eq!(
            e.core
                .verify_saml_token(&xml, None, proof)
                .await
                .unwrap_err(),
            CoreError::Unauthenticated
        );
    }
}

#[tokio::test]
async fn renewal_and_delegation_follow_the_flags_the_token_was_issued_with() {
    let e = env().await;
    let plain = bearer(&e).await;
    assert!(matches!(
        e.core.renew_token(&plain, None, None).await.unwrap_err(),
        CoreError::InvalidState { .. }
    ));
    let act_as = TokenRequest {
        credential: TokenCredential::ActAs { xml: &plain },
        proof: Some(CLIENT_CERT),
        holder_of_key: true,
        ..password(PW)
    };
    assert_eq!(
        e.core
            .issue_token(Listener::Api, &act_as)
            .await
            .unwrap_err(),
        CoreError::Unauthenticated,
        "ActAs with a token that is not delegatable"
    );

    let by_token = TokenRequest {
        credential: TokenCredential::Token { xml: &plain },
        proof: Some(CLIENT_CERT),
        holder_of_key: true,
        ..password(PW)
    };
    assert_eq!(
        e.core
            .issue_token(Listener::Api, &by_token)
            .await
            .unwrap_err(),
        CoreError::Unauthenticated,
        "a bearer token does not buy a holder-of-key token by token-by-token"
    );

    let mut req = password(PW);
    req.renewable = true;
    req.delegatable = true;
    let flagged = e.core.issue_token(Listener::Api, &req).await.unwrap().xml;
    advance(&e.clock, Duration::minutes(4));
    let renewed = e.core.renew_token(&flagged, None, None).await.unwrap();
    assert!(renewed.assertion.renewable);
    assert!(renewed.assertion.not_on_or_after > e.clock_now() + Duration::minutes(4));
    let act_as = TokenRequest {
        credential: TokenCredential::ActAs { xml: &flagged },
        ..act_as
    };
    let delegated = e.core.issue_token(Listener::Api, &act_as).await.unwrap();
    assert_eq!(delegated.assertion.subject, ADMIN);
    assert_eq!(delegated.assertion.delegate.as_deref(), Some(ADMIN));
    // An expired token renews nothing.
    advance(&e.clock, Duration::hours(1));
    assert_eq!(
        e.core.renew_token(&flagged, None, None).await.unwrap_err(),
        CoreError::Unauthenticated
    );
}

#[tokio::test]
async fn wrong_passwords_on_token_requests_lock_the_account_as_logins_do() {
    let e = env().await;
    let policy = ferrocenter_core::auth::LockoutPolicy::default();
    assert!(20 * u64::from(policy.max_failures) < policy.window.as_secs());
    for _ in 0..policy.max_failures {
        assert_eq!(
            e.core
                .issue_token(Listener::Api, &password("wrong-password-1"))
                .await
                .unwrap_err(),
            CoreError::Unauthenticated
        );
        // Past each backoff (1 s doubling: 8 s after the fourth failure), so every failure is
        // counted, and all of them inside the policy's window.
        advance(&e.clock, Duration::seconds(20));
    }
    assert_eq!(
        e.core
            .issue_token(Listener::Api, &password(PW))
            .await
            .unwrap_err(),
        CoreError::Unauthenticated,
        "the right password while locked"
    );
    // A password login sees the same lock: one count for both doors.
    assert!(e
        .core
        .auth
        .authenticate(Listener::Api, ADMIN, PW)
        .await
        .is_err());
    advance(
        &e.clock,
        Duration::seconds(policy.duration.as_secs() as i64 + 1),
    );
    e.core
        .issue_token(Listener::Api, &password(PW))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_signing_key_survives_a_restart_and_rotation_keeps_old_tokens_valid() {
    let e = env().await;
    let first_certs = e.core.token_signing_certificates().await.unwrap();
    assert_eq!(first_certs.len(), 1);
    let mut req = password(PW);
    req.holder_of_key = true;
    req.proof = Some(CLIENT_CERT);
    let old = e.core.issue_token(Listener::Api, &req).await.unwrap().xml;

    // Another process on the same store and secret key: same key, the token still verifies.
    let again = core_on(&e.db, e.clock.clone(), e.config.clone()).await;
    assert_eq!(
        again.token_signing_certificates().await.unwrap(),
        first_certs
    );
    again
        .verify_saml_token(&old, None, Some(CLIENT_CERT))
        .await
        .unwrap();

    // Rotation is the SSO administrator's; an operator is refused.
    let admin = e
        .core
        .auth
        .authenticate(Listener::Api, ADMIN, PW)
        .await
        .unwrap();
    let operator = Caller {
        role: ferrocenter_core::auth::Role::Operator,
        ..admin.clone()
    };
    assert!(matches!(
        e.core
            .rotate_token_signing_key(&operator)
            .await
            .unwrap_err(),
        CoreError::NoPermission { .. }
    ));
    let new_cert = e.core.rotate_token_signing_key(&admin).await.unwrap();
    let certs = e.core.token_signing_certificates().await.unwrap();
    assert_eq!(certs, vec![new_cert.clone(), first_certs[0].clone()]);
    // Tokens signed before the rotation still verify, on this server and (after it reads the
    // store again) on the other; new ones are signed with the new key.
    e.core
        .verify_saml_token(&old, None, Some(CLIENT_CERT))
        .await
        .unwrap();
    let fresh = e
        .core
        .issue_token(Listener::Api, &password(PW))
        .await
        .unwrap()
        .xml;
    assert!(fresh.contains(&new_cert.lines().nth(1).unwrap()[..40]));
    again.verify_saml_token(&fresh, None, None).await.unwrap();
    // Once every token the old key signed has expired, its certificate is no longer trusted.
    let p = e.core.token_policy();
    advance(
        &e.clock,
        p.max_hok_lifetime + p.clock_tolerance + Duration::seconds(1),
    );
    let later = core_on(&e.db, e.clock.clone(), e.config.clone()).await;
    assert_eq!(
        later.token_signing_certificates().await.unwrap(),
        vec![new_cert]
    );
}

#[tokio::test]
async fn a_token_of_a_disabled_account_is_refused() {
    let e = env().await;
    let xml = bearer(&e).await;
    // The subject is looked up at every check: a token outlives no account.
    let caller = e
        .core
        .verify_saml_token(&xml, None, None)
        .await
        .unwrap()
        .caller;
    let store = ferrocenter_store::open(&e.db).await.unwrap();
    let mut p = store
        .find_principal(&caller.realm, "administrator")
        .await
        .unwrap()
        .unwrap();
    p.disabled = true;
    assert!(store.update_principal(&p).await.unwrap());
    assert_eq!(
        e.core
            .verify_saml_token(&xml, None, None)
            .await
            .unwrap_err(),
        CoreError::Unauthenticated
    );
}

#[tokio::test]
async fn forged_tokens_make_the_keys_be_read_again_at_most_once_per_floor() {
    use ferrocenter_core::auth::tokens::KEY_REREAD_FLOOR;
    let e = env().await;
    let again = core_on(&e.db, e.clock.clone(), e.config.clone()).await;
    again
        .verify_saml_token(&bearer(&e).await, None, None)
        .await
        .unwrap();
    // A token of another domain's key fails its signature: `again` reads the keys again.
    let foreign = env().await;
    let forged = bearer(&foreign).await;
    assert_eq!(
        again
            .verify_saml_token(&forged, None, None)
            .await
            .unwrap_err(),
        CoreError::Unauthenticated
    );
    // The key is rotated on the other server. Within the floor, `again` does not read the store
    // again for a token it cannot verify (so forged tokens cannot make it read at every request),
    // and a token of the new key is refused until the floor has passed.
    let admin = e
        .core
        .auth
        .authenticate(Listener::Api, ADMIN, PW)
        .await
        .unwrap();
    e.core.rotate_token_signing_key(&admin).await.unwrap();
    let fresh = bearer(&e).await;
    assert_eq!(
        again
            .verify_saml_token(&fresh, None, None)
            .await
            .unwrap_err(),
        CoreError::Unauthenticated
    );
    advance(&e.clock, KEY_REREAD_FLOOR);
    again.verify_saml_token(&fresh, None, None).await.unwrap();
}
