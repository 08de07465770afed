//! Logins with the SHA-512 digest of the password (ZStack's LogInByAccount) and sessions of
//! fixed lifetime, against the core with a real SQLite store.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::sync::Arc;
use std::time::Duration;

use ferrocenter_core::auth::password::digest_hex;
use ferrocenter_core::auth::{Listener, Origin, Realm, Role, SessionKind};
use ferrocenter_core::ports::ManualClock;
use ferrocenter_core::{Core, CoreConfig, CoreError};

const PW: &str = "Initial-Pass-1";
const ADMIN: &str = "administrator@vsphere.local";

async fn core() -> (Arc<Core>, Arc<ManualClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = ferrocenter_store::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let core = Core::new(store, clock.clone(), CoreConfig::default());
    core.auth.bootstrap(PW).await.unwrap();
    (core, clock, dir)
}

#[tokio::test]
async fn the_digest_logs_in_where_the_password_does() {
    let (core, _, _dir) = core().await;
    let auth = &core.auth;
    let digest = digest_hex(PW);
    assert_eq!(digest.len(), 128);
    let c = auth
        .authenticate_digest(Listener::Api, ADMIN, &digest)
        .await
        .unwrap();
    assert_eq!(c.user, ADMIN);
    // One spelling of the digest: upper case is the same digest.
    assert!(auth
        .authenticate_digest(Listener::Api, ADMIN, &digest.to_ascii_uppercase())
        .await
        .is_ok());
    // The password itself, or a wrong digest, is refused like a wrong password.
    for wrong in [PW.to_string(), digest_hex("other")] {
        assert_eq!(
            auth.authenticate_digest(Listener::Api, ADMIN, &wrong).await,
            Err(CoreError::Unauthenticated)
        );
    }
    // New accounts get a digest verifier with their password.
    let sso = Realm::sso("vsphere.local");
    auth.create_principal(sso.clone(), "alice", "Alice-Pass-1", Role::Operator, None)
        .await
        .unwrap();
    assert!(auth
        .authenticate_digest(
            Listener::Api,
            "alice@vsphere.local",
            &digest_hex("Alice-Pass-1")
        )
        .await
        .is_ok());
}

#[tokio::test]
async fn accounts_older_than_digests_get_one_at_their_next_password_login() {
    let (core, _, _dir) = core().await;
    let sso = Realm::sso("vsphere.local");
    let mut p = core
        .store
        .find_principal(&sso, "administrator")
        .await
        .unwrap()
        .unwrap();
    p.digest_verifier = None;
    core.store.update_principal(&p).await.unwrap();
    let digest = digest_hex(PW);
    assert!(core
        .auth
        .authenticate_digest(Listener::Api, ADMIN, &digest)
        .await
        .is_err());
    core.auth
        .authenticate(Listener::Api, ADMIN, PW)
        .await
        .unwrap();
    let p = core
        .store
        .find_principal(&sso, "administrator")
        .await
        .unwrap()
        .unwrap();
    assert!(p
        .digest_verifier
        .as_deref()
        .is_some_and(|v| v.starts_with("$argon2id$")));
    assert!(
        !p.digest_verifier.unwrap().contains(&digest),
        "only a hash of the digest is kept"
    );
    assert!(core
        .auth
        .authenticate_digest(Listener::Api, ADMIN, &digest)
        .await
        .is_ok());
}

#[tokio::test]
async fn fixed_sessions_end_on_time_however_used_and_renew() {
    let (core, clock, _dir) = core().await;
    let zs = Origin::new(Listener::Api, SessionKind::Zstack, None);
    let (token, caller, end) = core
        .auth
        .login_digest(zs, ADMIN, &digest_hex(PW), Duration::from_secs(7200))
        .await
        .unwrap();
    assert_eq!(caller.user, ADMIN);
    let (_, view) = core.auth.resolve_session(zs, token.expose()).unwrap();
    assert_eq!(view.expires_at, Some(end));
    // Used within every idle timeout (30 minutes), it still ends after two hours (no sliding).
    for _ in 0..4 {
        clock.advance(Duration::from_secs(1790));
        core.auth.resolve_session(zs, token.expose()).unwrap();
    }
    let renewed = core
        .auth
        .renew_session(zs, token.expose(), Duration::from_secs(600))
        .unwrap();
    assert!(renewed > end);
    clock.advance(Duration::from_secs(599));
    assert!(core.auth.resolve_session(zs, token.expose()).is_ok());
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        core.auth.resolve_session(zs, token.expose()).map(|_| ()),
        Err(CoreError::Unauthenticated)
    );
    assert!(core
        .auth
        .renew_session(zs, token.expose(), Duration::from_secs(60))
        .is_err());
    // Wrong digests count toward the lockout like wrong passwords.
    for _ in 0..5 {
        let _ = core
            .auth
            .login_digest(zs, ADMIN, &digest_hex("nope"), Duration::from_secs(60))
            .await;
    }
    assert!(core
        .auth
        .login_digest(zs, ADMIN, &digest_hex(PW), Duration::from_secs(60))
        .await
        .is_err());
}
