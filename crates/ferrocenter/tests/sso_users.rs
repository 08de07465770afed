//! SSO users and groups through `com.ferrocenter.sso` on a real server: an administrator adds
//! users over /api and through the CLI; users log in, change their own password (the old one
//! and reuse refused after), are locked out after the configured failures and unlocked; group
//! membership gives the role; only superAdmin manages users; the built-in administrator and
//! groups stay.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::cli::{json_of, Cli};
use common::*;
use ferrocenter_core::auth::Role;
use ferrocenter_core::inventory::EventFilter;
use reqwest::Method;
use serde_json::{json, Value};

const ALICE_1: &str = "Alice-first-pw1";
const ALICE_2: &str = "Alice-second-p2";
const BOB: &str = "Bob-password-01";

async fn login_status(ts: &TestServer, user: &str, password: &str) -> u16 {
    ts.post_basic(ts.api("/api/session"), user, password)
        .await
        .status()
        .as_u16()
}

async fn session(ts: &TestServer, user: &str, password: &str) -> String {
    let r = ts.post_basic(ts.api("/api/session"), user, password).await;
    assert_eq!(r.status(), 201, "login of {user}");
    r.json::<String>().await.unwrap()
}

fn message(v: &Value) -> String {
    v["messages"][0]["default_message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_logs_in_changes_their_password_is_locked_out_and_unlocked() {
    let ts = TestServer::start().await;
    let admin = ts.login(ADMIN).await;

    // The hardening defaults, as the API reports them.
    let (s, policy) = ts
        .call_json(
            Method::GET,
            "/api/ferrocenter/sso/password-policy",
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            &policy["min_length"],
            &policy["history"],
            &policy["max_lifetime_days"]
        ),
        (&json!(15), &json!(5), &json!(90))
    );
    let (_, lockout) = ts
        .call_json(
            Method::GET,
            "/api/ferrocenter/sso/lockout-policy",
            &admin,
            None,
        )
        .await;
    assert_eq!(
        lockout,
        json!({"max_failed_attempts": 5, "failed_attempt_interval_secs": 180, "auto_unlock_secs": 900})
    );

    // A weak password is refused naming the field, and nothing is created.
    let (s, v) = ts
        .call_json(
            Method::POST,
            "/api/ferrocenter/sso/users",
            &admin,
            Some(json!({"spec": {"name": "alice", "password": "Short-1"}})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(message(&v).contains("spec.password"), "{v}");
    assert!(!v.to_string().contains("Short-1"));
    assert_eq!(
        login_status(&ts, "alice@vsphere.local", "Short-1").await,
        401
    );

    let (s, v) = ts
        .call_json(
            Method::POST,
            "/api/ferrocenter/sso/users",
            &admin,
            Some(json!({"spec": {"name": "alice", "password": ALICE_1,
                                 "full_name": "Alice A", "email": "alice@example.com"}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "alice");
    assert_eq!(v["full_name"], "Alice A");
    assert!(v["password_expires_at"].is_string(), "{v}");
    assert!(!v.to_string().contains(ALICE_1));

    // Alice logs in and changes her own password; the old one is refused after.
    let alice = session(&ts, "alice@vsphere.local", ALICE_1).await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let (s, v) = ts
        .call_json(
            Method::POST,
            "/api/ferrocenter/sso/self?action=change-password",
            &alice,
            Some(change("Not-her-password1", ALICE_2)),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(message(&v).contains("current_password"), "{v}");
    let (s, v) = ts
        .call_json(
            Method::POST,
            "/api/ferrocenter/sso/self?action=change-password",
            &alice,
            Some(change(ALICE_1, ALICE_2)),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    assert_eq!(login_status(&ts, "alice@vsphere.local", ALICE_1).await, 401);
    let alice = session(&ts, "alice@vsphere.local", ALICE_2).await;

    // Reusing a password of the history is refused.
    let (s, v) = ts
        .call_json(
            Method::POST,
            "/api/ferrocenter/sso/self?action=change-password",
            &alice,
            Some(change(ALICE_2, ALICE_1)),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        message(&v).contains("new_password") && message(&v).contains("history"),
        "{v}"
    );
    assert_eq!(login_status(&ts, "alice@vsphere.local", ALICE_2).await, 201);

    // A lockout policy of 3 failures: two leave the account open (after the backoff), the
    // third locks it — the right password is refused until the administrator unlocks it.
    let (s, v) = ts
        .call_json(
            Method::PUT,
            "/api/ferrocenter/sso/lockout-policy",
            &admin,
            Some(json!({"policy": {"max_failed_attempts": 3,
                                   "failed_attempt_interval_secs": 180,
                                   "auto_unlock_secs": 900}})),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    for _ in 0..2 {
        assert_eq!(
            login_status(&ts, "alice@vsphere.local", "Wrong-password-9").await,
            401
        );
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(login_status(&ts, "alice@vsphere.local", ALICE_2).await, 201);
    for _ in 0..3 {
        assert_eq!(
            login_status(&ts, "alice@vsphere.local", "Wrong-password-9").await,
            401
        );
    }
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(
        login_status(&ts, "alice@vsphere.local", ALICE_2).await,
        401,
        "locked: the right password is refused"
    );
    let (s, v) = ts
        .call_json(
            Method::POST,
            "/api/ferrocenter/sso/users/alice?action=unlock",
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 204, "{v}");
    assert_eq!(login_status(&ts, "alice@vsphere.local", ALICE_2).await, 201);

    // Disabled: logins refused; enabled again: accepted.
    let (s, _) = ts
        .call_json(
            Method::POST,
            "/api/ferrocenter/sso/users/alice?action=disable",
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(login_status(&ts, "alice@vsphere.local", ALICE_2).await, 401);
    let (s, _) = ts
        .call_json(
            Method::POST,
            "/api/ferrocenter/sso/users/alice?action=enable",
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(login_status(&ts, "alice@vsphere.local", ALICE_2).await, 201);

    // The events say what happened and hold no password.
    let (core, _) = ts.core_admin().await;
    let events = core
        .store
        .list_events(&EventFilter::default())
        .await
        .unwrap();
    let text = format!("{events:?}");
    for kind in [
        "AccountCreatedEvent",
        "UserPasswordChanged",
        "AccountUpdatedEvent",
    ] {
        assert!(events.iter().any(|e| e.kind == kind), "no {kind}: {text}");
    }
    for pw in [ALICE_1, ALICE_2] {
        assert!(!text.contains(pw), "an event holds a password");
    }
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_super_admins_manage_users_and_built_ins_stay() {
    let ts = TestServer::start().await;
    let admin = ts.login(ADMIN).await;
    let adm = ts.login(&ts.user("adm", Role::Admin).await).await;
    let op = ts.login(&ts.user("op", Role::Operator).await).await;
    let spec = json!({"spec": {"name": "mallory", "password": "Mallory-pass-01"}});
    for token in [&adm, &op] {
        let (s, v) = ts
            .call_json(
                Method::POST,
                "/api/ferrocenter/sso/users",
                token,
                Some(spec.clone()),
            )
            .await;
        assert_eq!(s, 403, "{v}");
        let (s, _) = ts
            .call_json(
                Method::POST,
                "/api/ferrocenter/sso/users/adm?action=set-password",
                token,
                Some(json!({"password": "Mallory-pass-01"})),
            )
            .await;
        assert_eq!(s, 403);
        // Reading is allowed to every role.
        let (s, v) = ts
            .call_json(Method::GET, "/api/ferrocenter/sso/users", token, None)
            .await;
        assert_eq!(s, 200);
        assert!(v
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "administrator"));
    }
    assert_eq!(
        login_status(&ts, "mallory@vsphere.local", "Mallory-pass-01").await,
        401
    );

    for (method, path) in [
        (Method::DELETE, "/api/ferrocenter/sso/users/administrator"),
        (
            Method::POST,
            "/api/ferrocenter/sso/users/administrator?action=disable",
        ),
    ] {
        let (s, v) = ts.call_json(method, path, &admin, None).await;
        assert_eq!(s, 400, "{v}");
        assert!(message(&v).contains("built-in administrator"), "{v}");
    }
    assert_eq!(login_status(&ts, ADMIN, PASSWORD).await, 201);
    let (s, v) = ts
        .call_json(
            Method::DELETE,
            "/api/ferrocenter/sso/groups/SystemConfiguration.Administrators",
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(message(&v).contains("built-in group"), "{v}");
    let (_, groups) = ts
        .call_json(Method::GET, "/api/ferrocenter/sso/groups", &admin, None)
        .await;
    let names: Vec<&str> = groups
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert!(
        names.contains(&"SystemConfiguration.Administrators")
            && names.contains(&"SystemConfiguration.BashShellAdministrators"),
        "{groups}"
    );
    // An impossible policy names its field and changes nothing.
    let (s, v) = ts
        .call_json(
            Method::PUT,
            "/api/ferrocenter/sso/password-policy",
            &admin,
            Some(
                json!({"policy": {"min_length": 30, "max_length": 20, "min_uppercase": 1,
                "min_lowercase": 1, "min_numeric": 1, "min_special": 1, "history": 5,
                "max_lifetime_days": 90}}),
            ),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(message(&v).contains("policy.max_length"), "{v}");
    let (_, p) = ts
        .call_json(
            Method::GET,
            "/api/ferrocenter/sso/password-policy",
            &admin,
            None,
        )
        .await;
    assert_eq!(p["min_length"], 15);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_of_the_administrators_group_grants_the_admin_role() {
    let ts = TestServer::start().await;
    let admin = ts.login(ADMIN).await;
    let (s, v) = ts
        .call_json(
            Method::POST,
            "/api/ferrocenter/sso/users",
            &admin,
            Some(json!({"spec": {"name": "bob", "password": BOB}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let create_dc = |token: String, name: &'static str| {
        let rb = ts
            .client
            .post(ts.api("/api/vcenter/datacenter"))
            .header("vmware-api-session-id", token)
            .json(&json!({"spec": {"name": name}}));
        async move { rb.send().await.unwrap().status().as_u16() }
    };
    let bob = session(&ts, "bob@vsphere.local", BOB).await;
    assert_eq!(
        create_dc(bob, "dc-refused").await,
        403,
        "no group, no admin role"
    );

    let group = "/api/ferrocenter/sso/groups/SystemConfiguration.Administrators";
    let (s, v) = ts
        .call_json(
            Method::POST,
            &format!("{group}?action=add-members"),
            &admin,
            Some(json!({"users": ["bob"]})),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    let (_, g) = ts.call_json(Method::GET, group, &admin, None).await;
    assert_eq!(g["members"], json!(["administrator", "bob"]), "{g}");
    assert_eq!(g["role"], "admin");
    let bob = session(&ts, "bob@vsphere.local", BOB).await;
    assert_eq!(create_dc(bob.clone(), "dc-allowed").await, 200);

    // Removed from the group: the session ends, a new one has no admin role.
    let (s, _) = ts
        .call_json(
            Method::POST,
            &format!("{group}?action=remove-members"),
            &admin,
            Some(json!({"users": ["bob"]})),
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(create_dc(bob, "dc-ended").await, 401);
    let bob = session(&ts, "bob@vsphere.local", BOB).await;
    assert_eq!(create_dc(bob, "dc-refused-again").await, 403);

    // A group of one's own: created, a member added, deleted.
    let (s, v) = ts
        .call_json(
            Method::POST,
            "/api/ferrocenter/sso/groups",
            &admin,
            Some(json!({"spec": {"name": "ops-team", "description": "on call"}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["built_in"], false);
    let (s, v) = ts
        .call_json(
            Method::POST,
            "/api/ferrocenter/sso/groups/ops-team?action=add-members",
            &admin,
            Some(json!({"users": ["bob", "nobody"]})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(message(&v).contains("users[1]"), "{v}");
    let (_, g) = ts
        .call_json(
            Method::GET,
            "/api/ferrocenter/sso/groups/ops-team",
            &admin,
            None,
        )
        .await;
    assert_eq!(g["members"], json!([]), "a refused call adds no one");
    let (s, _) = ts
        .call_json(
            Method::DELETE,
            "/api/ferrocenter/sso/groups/ops-team",
            &admin,
            None,
        )
        .await;
    assert_eq!(s, 204);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_adds_a_user_who_changes_their_password() {
    let ts = TestServer::start().await;
    let cli = Cli::new(&ts);
    let o = cli.login(PASSWORD);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    const DAVE_1: &str = "Dave-first-pw-1";
    const DAVE_2: &str = "Dave-second-p-2";
    const DAVE_3: &str = "Dave-third-pw-3";
    let new_pw = |pw: &'static str| [("FERROCENTER_NEW_PASSWORD", pw)];

    // The password comes from the environment (or a prompt), never the command line.
    let v = json_of(&cli.run_env(
        &[
            "sso",
            "user",
            "add",
            "dave",
            "--full-name",
            "Dave D",
            "--output",
            "json",
        ],
        &new_pw(DAVE_1),
    ));
    assert_eq!(v["name"], "dave");
    let v = json_of(&cli.run_env(&["sso", "user", "list", "--output", "json"], &[]));
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["name"] == "dave" && u["full_name"] == "Dave D"));
    let o = cli.run_env(
        &[
            "sso",
            "group",
            "add-member",
            "SystemConfiguration.Administrators",
            "dave",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json_of(&cli.run_env(&["sso", "group", "list", "--output", "json"], &[]));
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "SystemConfiguration.Administrators"
                && g["members"].as_array().unwrap().contains(&json!("dave"))),
        "{v}"
    );

    // Dave logs in with his own CLI session and changes his password (read from stdin lines
    // here: current, then new).
    let dave = Cli::to(&cli.server, &cli.thumbprint);
    let dave_login = |pw: &str| {
        dave.run(
            &[
                "login",
                "--server",
                &dave.server,
                "--user",
                "dave@vsphere.local",
                "--no-verify",
                "--thumbprint",
                &dave.thumbprint,
            ],
            Some(pw),
        )
    };
    let o = dave_login(DAVE_1);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut child = dave
        .command(&["sso", "user", "passwd"], &[])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{DAVE_1}\n{DAVE_2}").unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        dave_login(DAVE_1).status.code(),
        Some(3),
        "the old password is refused"
    );
    assert!(dave_login(DAVE_2).status.success());
    // Reuse is refused (exit 2: a bad argument), naming the field.
    let o = dave.run_env(
        &["sso", "user", "passwd"],
        &[
            ("FERROCENTER_CURRENT_PASSWORD", DAVE_2),
            ("FERROCENTER_NEW_PASSWORD", DAVE_1),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("history"));
    // Dave is not a superAdmin: managing users is refused (4).
    let o = dave.run_env(&["sso", "user", "disable", "administrator"], &[]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // The administrator disables, enables, sets the password, unlocks and deletes.
    let ok = |args: &[&str], env: &[(&str, &str)]| {
        let o = cli.run_env(args, env);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    ok(&["sso", "user", "disable", "dave"], &[]);
    assert_eq!(dave_login(DAVE_2).status.code(), Some(3));
    ok(&["sso", "user", "enable", "dave"], &[]);
    ok(&["sso", "user", "set-password", "dave"], &new_pw(DAVE_3));
    assert!(dave_login(DAVE_3).status.success());
    ok(&["sso", "user", "unlock", "dave"], &[]);
    let o = cli.run_env(&["sso", "user", "delete", "administrator"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("built-in administrator"));
    ok(
        &[
            "sso",
            "group",
            "add",
            "night-shift",
            "--description",
            "on call",
        ],
        &[],
    );
    ok(&["sso", "group", "delete", "night-shift"], &[]);
    ok(&["sso", "user", "delete", "dave"], &[]);
    assert_eq!(dave_login(DAVE_3).status.code(), Some(3));
    ts.stop().await;
}

/// Issues a five-minute bearer token for the administrator through the core's token service.
async fn admin_token(core: &ferrocenter_core::Core) -> String {
    use ferrocenter_core::auth::tokens::{TokenCredential, TokenRequest};
    let req = TokenRequest {
        credential: TokenCredential::Password {
            username: ADMIN,
            password: PASSWORD,
        },
        proof: None,
        holder_of_key: false,
        lifetime: None,
        renewable: false,
        delegatable: false,
        audience: None,
    };
    core.issue_token(ferrocenter_core::auth::Listener::Api, &req)
        .await
        .unwrap()
        .xml
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_rotates_the_token_signing_key_and_old_tokens_stay_valid() {
    let ts = TestServer::start().await;
    let cli = Cli::new(&ts);
    let o = cli.login(PASSWORD);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (core, _) = ts.core_admin().await;
    let before = admin_token(&core).await;

    let list = || json_of(&cli.run_env(&["sso", "signing-key", "list", "--output", "json"], &[]));
    let v = list();
    let first = v.as_array().unwrap();
    assert_eq!(first.len(), 1, "{v}");
    assert_eq!(first[0]["current"], true);
    let old_pem = first[0]["certificate"].as_str().unwrap().to_string();
    assert!(
        old_pem.starts_with("-----BEGIN CERTIFICATE-----"),
        "{old_pem}"
    );

    let o = cli.run_env(&["sso", "signing-key", "rotate"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let new_pem = String::from_utf8(o.stdout).unwrap();
    assert!(new_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_ne!(new_pem.trim(), old_pem.trim());

    // The new certificate is current, the old one retired but still trusted: on the API, the
    // CLI and the relying parties' PEM download alike.
    let v = list();
    let after = v.as_array().unwrap();
    assert_eq!(after.len(), 2, "{v}");
    assert_eq!(
        after[0]["certificate"].as_str().unwrap().trim(),
        new_pem.trim()
    );
    assert_eq!(after[0]["current"], true);
    assert_eq!(
        after[1]["certificate"].as_str().unwrap().trim(),
        old_pem.trim()
    );
    assert_eq!(after[1]["current"], false);
    let pem = ts
        .client
        .get(ts.api("/sts/signing-certificates"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(pem.starts_with(new_pem.trim()), "{pem}");
    assert!(pem.contains(old_pem.trim()));

    // A token signed before the rotation verifies until it expires; a new one is signed with
    // the new key (it verifies, and its signature names the new certificate).
    let old = core.verify_saml_token(&before, None, None).await.unwrap();
    assert_eq!(old.caller.user, ADMIN);
    let after_token = admin_token(&core).await;
    core.verify_saml_token(&after_token, None, None)
        .await
        .unwrap();
    let body = |pem: &str| -> String {
        pem.lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
    };
    assert!(
        after_token.contains(&body(&new_pem)),
        "signed under the new certificate"
    );
    assert!(!before.contains(&body(&new_pem)));

    // Only a superAdmin rotates: an administrator is refused (exit 4) and nothing changes.
    let adminish = ts.user("erin", Role::Admin).await;
    let erin = Cli::to(&cli.server, &cli.thumbprint);
    let o = erin.run(
        &[
            "login",
            "--server",
            &erin.server,
            "--user",
            &adminish,
            "--no-verify",
            "--thumbprint",
            &erin.thumbprint,
        ],
        Some(PASSWORD),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = erin.run_env(&["sso", "signing-key", "rotate"], &[]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(list().as_array().unwrap().len(), 2);
}
