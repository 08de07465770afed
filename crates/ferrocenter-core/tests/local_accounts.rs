//! The appliance's local accounts against the core with a real SQLite store and a clock the
//! test moves: password expiry and the policy's days, disabled accounts, the last superAdmin,
//! self-service password changes, and refused calls that change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::sync::Arc;
use std::time::Duration;

use ferrocenter_core::appliance::accounts::{AccountConfig, PolicyInfo};
use ferrocenter_core::auth::password::digest_hex;
use ferrocenter_core::auth::{Caller, Listener, Role};
use ferrocenter_core::ports::{Clock, ManualClock};
use ferrocenter_core::{Core, CoreConfig, CoreError};

const PW: &str = "Initial-Pass-1";
const ALICE_PW: &str = "Alice-Pass-1";
const DAY: Duration = Duration::from_secs(86_400);

struct Env {
    core: Arc<Core>,
    clock: Arc<ManualClock>,
    root: Caller,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = ferrocenter_store::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    // Whole seconds: the store keeps milliseconds, and the test compares dates it computes.
    let start = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let core = Core::new(store, clock.clone(), CoreConfig::default());
    core.auth.bootstrap(PW).await.unwrap();
    let root = core
        .auth
        .authenticate(Listener::Appliance, "root", PW)
        .await
        .unwrap();
    Env {
        core,
        clock,
        root,
        _dir: dir,
    }
}

fn config(password: &str, roles: &[&str]) -> AccountConfig {
    AccountConfig {
        password: Some(password.into()),
        roles: Some(roles.iter().map(ToString::to_string).collect()),
        ..Default::default()
    }
}

/// The field an `InvalidArgument` names.
fn field_of<T: std::fmt::Debug>(r: Result<T, CoreError>) -> String {
    match r {
        Err(CoreError::InvalidArgument { field, .. }) => field,
        other => panic!("expected invalid_argument, got {other:?}"),
    }
}

impl Env {
    async fn login(&self, user: &str, pw: &str) -> Result<Caller, CoreError> {
        self.core
            .auth
            .authenticate(Listener::Appliance, user, pw)
            .await
    }

    /// Moves past any login backoff a refused attempt left.
    fn wait(&self) {
        self.clock.advance(Duration::from_secs(120));
    }
}

#[tokio::test]
async fn a_password_expires_after_the_policy_days_and_then_cannot_log_in() {
    let e = env().await;
    let core = &e.core;
    let created_at = e.clock.now();
    core.local_account_create(&e.root, "alice", config(ALICE_PW, &["operator"]))
        .await
        .unwrap();
    let info = core.local_account_get(&e.root, "alice").await.unwrap();
    // New accounts take the policy's defaults: 90 days, warned 7 days before.
    assert_eq!(info.days.max, Some(90));
    assert_eq!(info.days.warn, Some(7));
    assert_eq!(info.password_expires_at, Some(created_at + 90 * DAY));
    // Inactive at expiry unless told otherwise (reported; logins end at expiry already).
    assert_eq!(info.inactive_at, info.password_expires_at);

    e.clock.advance(89 * DAY);
    let alice = e.login("alice", ALICE_PW).await.unwrap();
    assert_eq!(alice.role, Role::Operator);
    e.clock.advance(2 * DAY);
    // Every login path applies the one rule: password and digest alike.
    assert_eq!(
        e.login("alice", ALICE_PW).await,
        Err(CoreError::Unauthenticated)
    );
    assert_eq!(
        core.auth
            .authenticate_digest(Listener::Appliance, "alice", &digest_hex(ALICE_PW))
            .await,
        Err(CoreError::Unauthenticated)
    );
    // A superAdmin sets a new password: a new life of 90 days from now.
    let renewed = "Alice-Pass-2";
    core.local_account_update(
        &e.root,
        "alice",
        AccountConfig {
            password: Some(renewed.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    e.wait();
    e.login("alice", renewed).await.unwrap();
    let info = core.local_account_get(&e.root, "alice").await.unwrap();
    assert_eq!(
        info.password_expires_at,
        Some(e.clock.now() - Duration::from_secs(120) + 90 * DAY)
    );

    // An explicit expiry in the past ends logins at once, and ends the account's sessions.
    let (token, _) = core
        .auth
        .login(Listener::Appliance, "alice", renewed)
        .await
        .unwrap();
    core.local_account_update(
        &e.root,
        "alice",
        AccountConfig {
            password_expires_at: Some(e.clock.now() - DAY),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(core
        .auth
        .resolve_session(Listener::Appliance, token.expose())
        .is_err());
    assert_eq!(
        e.login("alice", renewed).await,
        Err(CoreError::Unauthenticated)
    );
    // A password that does not expire logs in whatever the dates.
    core.local_account_update(
        &e.root,
        "alice",
        AccountConfig {
            password_expires: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    e.wait();
    e.login("alice", renewed).await.unwrap();
    assert_eq!(
        core.local_account_get(&e.root, "alice")
            .await
            .unwrap()
            .password_expires_at,
        None
    );
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in_and_its_sessions_end() {
    let e = env().await;
    let core = &e.core;
    core.local_account_create(&e.root, "carol", config(ALICE_PW, &["admin"]))
        .await
        .unwrap();
    let (token, _) = core
        .auth
        .login(Listener::Appliance, "carol", ALICE_PW)
        .await
        .unwrap();
    let disable = AccountConfig {
        enabled: Some(false),
        ..Default::default()
    };
    core.local_account_update(&e.root, "carol", disable)
        .await
        .unwrap();
    assert!(
        !core
            .local_account_get(&e.root, "carol")
            .await
            .unwrap()
            .enabled
    );
    assert!(core
        .auth
        .resolve_session(Listener::Appliance, token.expose())
        .is_err());
    assert_eq!(
        e.login("carol", ALICE_PW).await,
        Err(CoreError::Unauthenticated)
    );
    core.local_account_update(
        &e.root,
        "carol",
        AccountConfig {
            enabled: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    e.wait();
    assert_eq!(e.login("carol", ALICE_PW).await.unwrap().role, Role::Admin);
}

#[tokio::test]
async fn the_last_superadmin_that_can_log_in_stays() {
    let e = env().await;
    let core = &e.core;
    let refused = |r: Result<(), CoreError>| field_of(r);
    // root alone: not deleted, demoted, disabled or expired.
    assert!(matches!(
        core.local_account_delete(&e.root, "root").await,
        Err(CoreError::InvalidState { .. })
    ));
    let demote = AccountConfig {
        roles: Some(vec!["admin".into()]),
        ..Default::default()
    };
    assert_eq!(
        refused(
            core.local_account_update(&e.root, "root", demote.clone())
                .await
        ),
        "config.roles"
    );
    let disable = AccountConfig {
        enabled: Some(false),
        ..Default::default()
    };
    assert_eq!(
        refused(
            core.local_account_update(&e.root, "root", disable.clone())
                .await
        ),
        "config.enabled"
    );
    let expire = AccountConfig {
        password_expires: Some(true),
        password_expires_at: Some(e.clock.now() - DAY),
        ..Default::default()
    };
    assert_eq!(
        refused(core.local_account_update(&e.root, "root", expire).await),
        "config.password_expires_at"
    );
    // Nothing of the refused calls stuck.
    let root = core.local_account_get(&e.root, "root").await.unwrap();
    assert_eq!(root.roles, [Role::SuperAdmin]);
    assert!(root.enabled);
    assert_eq!(root.password_expires_at, None);

    // The policy cannot expire it either: root's password is made to expire with the
    // policy's 90 days, 50 days pass, and a policy of 30 days would end the last superAdmin.
    core.local_account_update(
        &e.root,
        "root",
        AccountConfig {
            password_expires: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    e.clock.advance(50 * DAY);
    let policy = PolicyInfo {
        max_days: Some(30),
        ..Default::default()
    };
    assert_eq!(
        field_of(core.password_policy_set(&e.root, policy.clone()).await),
        "policy.max_days"
    );
    assert_eq!(
        core.password_policy_get(&e.root).await.unwrap().max_days,
        Some(90)
    );

    // With a second superAdmin that can log in, root may be demoted; then the other is last.
    core.local_account_create(&e.root, "sam", config(ALICE_PW, &["superAdmin"]))
        .await
        .unwrap();
    core.local_account_update(&e.root, "root", demote)
        .await
        .unwrap();
    let sam = e.login("sam", ALICE_PW).await.unwrap();
    assert!(matches!(
        core.local_account_delete(&sam, "sam").await,
        Err(CoreError::InvalidState { .. })
    ));
    assert_eq!(
        refused(core.local_account_update(&sam, "sam", disable).await),
        "config.enabled"
    );
    let root_now = e.login("root", PW).await.unwrap();
    assert_eq!(root_now.role, Role::Admin);
    assert!(matches!(
        core.local_account_create(&root_now, "x", config(ALICE_PW, &["operator"]))
            .await,
        Err(CoreError::NoPermission { .. })
    ));
}

#[tokio::test]
async fn an_account_changes_its_own_password_proving_the_old_one() {
    let e = env().await;
    let core = &e.core;
    core.local_account_create(&e.root, "alice", config(ALICE_PW, &["operator"]))
        .await
        .unwrap();
    let alice = e.login("alice", ALICE_PW).await.unwrap();
    let change = |old: Option<&str>, new: &str| AccountConfig {
        password: Some(new.into()),
        old_password: old.map(String::from),
        ..Default::default()
    };
    assert_eq!(
        field_of(
            core.local_account_update(&alice, "alice", change(None, "Alice-Pass-2"))
                .await
        ),
        "config.old_password"
    );
    assert_eq!(
        field_of(
            core.local_account_update(&alice, "alice", change(Some("wrong-old-1"), "Alice-Pass-2"))
                .await
        ),
        "config.old_password"
    );
    e.wait();
    core.local_account_update(&alice, "alice", change(Some(ALICE_PW), "Alice-Pass-2"))
        .await
        .unwrap();
    assert!(e.login("alice", "Alice-Pass-2").await.is_ok());
    // Only the password: anything else needs Appliance.ManageAccounts.
    let promote = AccountConfig {
        roles: Some(vec!["superAdmin".into()]),
        ..Default::default()
    };
    assert!(matches!(
        core.local_account_update(&alice, "alice", promote).await,
        Err(CoreError::NoPermission { .. })
    ));
    assert!(matches!(
        core.local_account_update(&alice, "root", change(Some(PW), "Root-Pass-2"))
            .await,
        Err(CoreError::NoPermission { .. })
    ));
    // min_days: not again before the days have passed.
    core.local_account_update(
        &e.root,
        "alice",
        AccountConfig {
            min_days_between_password_change: Some(2),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let again = change(Some("Alice-Pass-2"), "Alice-Pass-3");
    assert_eq!(
        field_of(
            core.local_account_update(&alice, "alice", again.clone())
                .await
        ),
        "config.password"
    );
    e.clock.advance(2 * DAY);
    core.local_account_update(&alice, "alice", again)
        .await
        .unwrap();
    // root changes its own password with the old one; a superAdmin of SSO needs none.
    assert_eq!(
        field_of(
            core.local_account_update(&e.root, "root", change(None, "Root-Pass-2"))
                .await
        ),
        "config.old_password"
    );
    core.local_account_update(&e.root, "root", change(Some(PW), "Root-Pass-2"))
        .await
        .unwrap();
    e.wait();
    assert!(e.login("root", "Root-Pass-2").await.is_ok());
    let admin = core
        .auth
        .authenticate(Listener::Api, "administrator@vsphere.local", PW)
        .await
        .unwrap();
    core.local_account_update(&admin, "root", change(None, PW))
        .await
        .unwrap();
    e.wait();
    assert!(e.login("root", PW).await.is_ok());
}

#[tokio::test]
async fn bad_input_names_the_field_and_changes_nothing() {
    let e = env().await;
    let core = &e.core;
    let create = |name: &str, c: AccountConfig| {
        let core = core.clone();
        let root = e.root.clone();
        let name = name.to_string();
        async move { core.local_account_create(&root, &name, c).await }
    };
    assert_eq!(
        field_of(create("bob", config(ALICE_PW, &["operator", "root"])).await),
        "config.roles[1]"
    );
    assert_eq!(
        field_of(create("bob", config(ALICE_PW, &[])).await),
        "config.roles"
    );
    for bad in ["bad name", "-x", "", "global-policy"] {
        assert_eq!(
            field_of(create(bad, config(ALICE_PW, &["operator"])).await),
            "username",
            "{bad:?}"
        );
    }
    assert_eq!(
        field_of(create("bob", config("short", &["operator"])).await),
        "config.password"
    );
    let with = |f: fn(&mut AccountConfig)| {
        let mut c = config(ALICE_PW, &["operator"]);
        f(&mut c);
        c
    };
    for (c, field) in [
        (
            with(|c| c.email = Some("not-an-address".into())),
            "config.email",
        ),
        (
            with(|c| c.full_name = Some("a\u{7}b".into())),
            "config.full_name",
        ),
        (
            with(|c| c.max_days_between_password_change = Some(100_000)),
            "config.max_days_between_password_change",
        ),
        (
            with(|c| c.min_days_between_password_change = Some(-2)),
            "config.min_days_between_password_change",
        ),
        (
            with(|c| {
                c.min_days_between_password_change = Some(10);
                c.max_days_between_password_change = Some(5);
            }),
            "config.min_days_between_password_change",
        ),
        (
            with(|c| {
                c.password_expires = Some(false);
                c.password_expires_at = Some(time::OffsetDateTime::UNIX_EPOCH);
            }),
            "config.password_expires_at",
        ),
    ] {
        assert_eq!(field_of(create("bob", c).await), field);
    }
    assert_eq!(
        core.local_accounts_list(&e.root).await.unwrap(),
        ["root"],
        "no refused create left an account"
    );
    create("bob", config(ALICE_PW, &["operator"]))
        .await
        .unwrap();
    assert!(matches!(
        create("BOB", config(ALICE_PW, &["operator"])).await,
        Err(CoreError::AlreadyExists { .. })
    ));
    // An update with one bad field applies none of its fields.
    let half = AccountConfig {
        roles: Some(vec!["admin".into()]),
        full_name: Some("Bob".into()),
        email: Some("bob@".into()),
        ..Default::default()
    };
    assert_eq!(
        field_of(core.local_account_update(&e.root, "bob", half).await),
        "config.email"
    );
    let bob = core.local_account_get(&e.root, "bob").await.unwrap();
    assert_eq!((bob.roles, bob.full_name), (vec![Role::Operator], None));
    for missing in ["nobody", "global-policy"] {
        assert!(matches!(
            core.local_account_get(&e.root, missing).await,
            Err(CoreError::NotFound { .. })
        ));
        assert!(matches!(
            core.local_account_delete(&e.root, missing).await,
            Err(CoreError::NotFound { .. })
        ));
    }
    // The policy: bad days, lower than the floor, and what ferrocenter does not enforce.
    for (p, field) in [
        (
            PolicyInfo {
                max_days: Some(-5),
                ..Default::default()
            },
            "policy.max_days",
        ),
        (
            PolicyInfo {
                minimum_length: Some(4),
                ..Default::default()
            },
            "policy.minimum_length",
        ),
        (
            PolicyInfo {
                minimum_special_char_count: Some(1000),
                ..Default::default()
            },
            "policy.minimum_special_char_count",
        ),
    ] {
        assert_eq!(field_of(core.password_policy_set(&e.root, p).await), field);
    }
    for (p, names) in [
        (
            PolicyInfo {
                prior_password_remember_count: Some(5),
                ..Default::default()
            },
            "policy.prior_password_remember_count",
        ),
        (
            PolicyInfo {
                failed_attempt_count_before_account_lockout: Some(3),
                ..Default::default()
            },
            "policy.failed_attempt_count_before_account_lockout",
        ),
        (
            PolicyInfo {
                managed_at_fleet: Some(true),
                ..Default::default()
            },
            "policy.managed_at_fleet",
        ),
    ] {
        match core.password_policy_set(&e.root, p).await {
            Err(CoreError::NotSupported { operation }) => {
                assert!(operation.contains(names), "{operation}");
            }
            other => panic!("expected unsupported, got {other:?}"),
        }
    }
    assert_eq!(
        core.password_policy_get(&e.root).await.unwrap().max_days,
        Some(90),
        "no refused policy stuck"
    );
}

#[tokio::test]
async fn the_policy_applies_to_every_account_and_new_passwords() {
    let e = env().await;
    let core = &e.core;
    core.local_account_create(&e.root, "alice", config(ALICE_PW, &["operator"]))
        .await
        .unwrap();
    // What get reports can be set back as is, with changes: the lockout fields at their
    // configured values are accepted.
    let mut p = core.password_policy_get(&e.root).await.unwrap();
    assert_eq!(p.failed_attempt_count_before_account_lockout, Some(5));
    assert_eq!(p.minimum_length, Some(8));
    p.max_days = Some(30);
    p.warn_days = Some(3);
    p.minimum_uppercase_char_count = Some(2);
    core.password_policy_set(&e.root, p.clone()).await.unwrap();
    assert_eq!(core.password_policy_get(&e.root).await.unwrap(), p);
    for name in ["alice", "root"] {
        let a = core.local_account_get(&e.root, name).await.unwrap();
        assert_eq!((a.days.max, a.days.warn), (Some(30), Some(3)), "{name}");
    }
    // root's password does not expire (the first start's), whatever the days say.
    assert_eq!(
        core.local_account_get(&e.root, "root")
            .await
            .unwrap()
            .password_expires_at,
        None
    );
    assert_eq!(
        field_of(
            core.local_account_create(&e.root, "dave", config("lower-case-1", &["operator"]))
                .await
        ),
        "config.password"
    );
    core.local_account_create(&e.root, "dave", config("TWO-Upper-1", &["operator"]))
        .await
        .unwrap();
    assert_eq!(
        core.local_account_get(&e.root, "dave")
            .await
            .unwrap()
            .days
            .max,
        Some(30)
    );
    // Operators read the policy and accounts, and change neither.
    let alice = e.login("alice", ALICE_PW).await.unwrap();
    assert!(core.password_policy_get(&alice).await.is_ok());
    assert_eq!(
        core.local_accounts_list(&alice).await.unwrap(),
        ["alice", "dave", "root"]
    );
    assert!(matches!(
        core.password_policy_set(&alice, p).await,
        Err(CoreError::NoPermission { .. })
    ));
    assert!(matches!(
        core.local_account_delete(&alice, "dave").await,
        Err(CoreError::NoPermission { .. })
    ));
}
