//! The security token service (`POST /sts/STSService`) against pyVmomi's own token client,
//! `pyVim.sso.SsoAuthenticator` (PyPI `pyvmomi` 9.1.1.0, with lxml and cryptography): a bearer
//! token for a user name and password, a holder-of-key token bound to a certificate the script
//! makes (ActAs the bearer token, the request signed with the certificate's key), a token for
//! that token, and WS-Trust faults. Every token the client got is then checked by the server's
//! own verifier, with and without the proof a holder-of-key token needs. Then vim
//! `LoginByToken` with such tokens over SOAP (pyVmomi) and VI/JSON (reqwest), and its refusals.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use base64::Engine;
use common::sdk::{run_soap_script, soap_python};
use common::*;
use ferrocenter_core::ports::Confirmation;
use ferrocenter_core::CoreError;

#[tokio::test]
async fn pyvmomi_gets_bearer_and_holder_of_key_tokens_that_the_server_verifies() {
    let Some(python) = soap_python() else {
        eprintln!("SKIPPED: pyVmomi is not installed (scripts/test.sh installs it)");
        return;
    };
    let ts = TestServer::start().await;
    let (core, _) = ts.core_admin().await;
    let dir = tempfile::tempdir().unwrap();
    let server = ts.api("").trim_start_matches("https://").to_string();
    let v = run_soap_script(
        &python,
        "sts_tokens.py",
        &[&server, ADMIN, PASSWORD, &dir.path().to_string_lossy()],
    )
    .await;
    let cert = base64::engine::general_purpose::STANDARD
        .decode(v["cert_der_b64"].as_str().unwrap())
        .unwrap();

    // Bearer: the subject, its groups, the flags asked for, and the lifetime capped by the
    // policy (600 s asked, bearer tokens live 5 minutes at most).
    let bearer = v["bearer"].as_str().unwrap();
    let b = core.verify_saml_token(bearer, None, None).await.unwrap();
    assert_eq!(b.caller.user, ADMIN);
    assert_eq!(b.assertion.subject, ADMIN);
    assert_eq!(b.assertion.domain, "vsphere.local");
    assert_eq!(b.assertion.confirmation, Confirmation::Bearer);
    assert!(b.assertion.renewable && b.assertion.delegatable);
    assert_eq!(
        (b.assertion.not_on_or_after - b.assertion.not_before).whole_seconds(),
        core.token_policy().max_bearer_lifetime.whole_seconds()
    );
    let admins = format!(
        "vsphere.local\\{}",
        ferrocenter_core::auth::ADMINISTRATORS_GROUP
    );
    assert!(
        b.assertion.groups.contains(&admins),
        "{:?}",
        b.assertion.groups
    );

    // Holder-of-key: bound to the script's certificate, valid only with proof of its key.
    let hok = v["hok"].as_str().unwrap();
    let h = core
        .verify_saml_token(hok, None, Some(&cert))
        .await
        .unwrap();
    assert_eq!(h.caller.user, ADMIN);
    assert_eq!(
        h.assertion.confirmation,
        Confirmation::HolderOfKey {
            certificate_der: cert.clone()
        }
    );
    assert_eq!(h.assertion.delegate.as_deref(), Some(ADMIN));
    assert_eq!(
        (h.assertion.not_on_or_after - h.assertion.not_before).whole_seconds(),
        3600,
        "asked for an hour, under the holder-of-key cap"
    );
    assert_eq!(
        core.verify_saml_token(hok, None, None).await.unwrap_err(),
        CoreError::Unauthenticated,
        "no proof of possession"
    );
    let mut other = cert.clone();
    let last = other.len() - 1;
    other[last] ^= 1;
    assert_eq!(
        core.verify_saml_token(hok, None, Some(&other))
            .await
            .unwrap_err(),
        CoreError::Unauthenticated,
        "proof with another certificate"
    );

    // Token by token: signed with the holder-of-key token's key, bound to the same certificate.
    let again = v["hok_by_hok"].as_str().unwrap();
    let a = core
        .verify_saml_token(again, None, Some(&cert))
        .await
        .unwrap();
    assert_eq!(a.caller.user, ADMIN);
    assert_ne!(a.assertion.id, h.assertion.id);

    // Faults, as WS-Trust names them and pyVmomi raises them.
    for (case, what) in [
        ("wrong_password", "a wrong password"),
        ("no_credential", "a signed request naming no user"),
        (
            "not_delegatable",
            "ActAs with a token not issued delegatable",
        ),
    ] {
        let code = v[case]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: {v}"));
        assert_eq!(code, "wst:FailedAuthentication", "{what}: {v}");
    }
    // No secret in the answer.
    assert!(!v["wrong_password"].to_string().contains("not-the-password"));
}

/// A bearer token for `username`, as the core issues it (audience and lifetime as given).
async fn issue(
    core: &ferrocenter_core::Core,
    username: &str,
    audience: Option<&str>,
    lifetime: Option<(time::OffsetDateTime, time::OffsetDateTime)>,
) -> ferrocenter_core::auth::tokens::IssuedToken {
    use ferrocenter_core::auth::tokens::{TokenCredential, TokenRequest};
    let req = TokenRequest {
        credential: TokenCredential::Password {
            username,
            password: PASSWORD,
        },
        proof: None,
        holder_of_key: false,
        lifetime,
        renewable: false,
        delegatable: false,
        audience,
    };
    core.issue_token(ferrocenter_core::auth::Listener::Api, &req)
        .await
        .unwrap()
}

/// vim `SessionManager.LoginByToken` over SOAP with pyVmomi as pyVim's own token logins call
/// it (tests/vim_soap/token_logins.py): bearer and holder-of-key tokens from the STS open
/// sessions that read the inventory and end with Logout; forged, expired, tampered, wrapped,
/// wrong-audience tokens, a token of a user disabled after issue, and holder-of-key requests
/// signed with another key, unsigned, with a stale Timestamp or sent twice are refused with
/// InvalidLogin. Then VI/JSON: a bearer token in `Authorization: Bearer` logs in, a
/// holder-of-key token is NotSupported (nothing carries its proof there).
#[tokio::test]
async fn pyvmomi_logs_in_by_token_and_bad_tokens_are_refused() {
    use ferrocenter_core::auth::Role;
    use ferrocenter_core::ports::TokenCrypto;
    let Some(python) = soap_python() else {
        eprintln!("SKIPPED: pyVmomi is not installed (scripts/test.sh installs it)");
        return;
    };
    let ts = TestServer::start().await;
    let (core, admin) = ts.core_admin().await;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, xml: &str| std::fs::write(dir.path().join(name), xml).unwrap();

    let genuine = issue(&core, ADMIN, None, None).await;
    let other_key = ferrocenter_saml::XmlSecTokens
        .generate_identity("vsphere.local")
        .unwrap();
    write(
        "forged",
        &ferrocenter_saml::XmlSecTokens
            .sign(&genuine.assertion, &other_key)
            .unwrap(),
    );
    let user = ts.user("tokenuser", Role::Operator).await;
    write("tampered", &genuine.xml.replace(ADMIN, &user));
    write("disabled_user", &issue(&core, &user, None, None).await.xml);
    core.sso_user_disable(&admin, "tokenuser").await.unwrap();
    write(
        "other_audience",
        &issue(
            &core,
            ADMIN,
            Some("https://elsewhere.example.com/sdk"),
            None,
        )
        .await
        .xml,
    );
    // vim's audience is its URL as the Lookup Service registers it.
    write(
        "this_audience",
        &issue(&core, ADMIN, Some(&ts.api("/sdk")), None).await.xml,
    );
    // A token of one second, checked without clock tolerance once it has passed.
    let mut policy = core.token_policy();
    policy.clock_tolerance = time::Duration::ZERO;
    core.set_token_policy(policy);
    let now = time::OffsetDateTime::now_utc();
    write(
        "expired",
        &issue(
            &core,
            ADMIN,
            None,
            Some((now, now + time::Duration::seconds(1))),
        )
        .await
        .xml,
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

    let server = ts.api("").trim_start_matches("https://").to_string();
    let v = run_soap_script(
        &python,
        "token_logins.py",
        &[&server, ADMIN, PASSWORD, &dir.path().to_string_lossy()],
    )
    .await;
    let errors = v["errors"].as_object().unwrap();
    assert!(errors.is_empty(), "steps failed: {errors:#?}\n{v:#}");
    for case in ["bearer", "hok", "this_audience"] {
        let s = &v[case];
        assert_eq!(s["user"], r"VSPHERE.LOCAL\administrator", "{case}: {v:#}");
        assert_eq!(s["current_user"], s["user"], "{case}: {v:#}");
        assert_eq!(s["same_key"], true, "{case}: {v:#}");
        assert!(s["root_folder"].is_string(), "{case}: {v:#}");
    }
    assert_eq!(v["logout"], "NotAuthenticated", "{v:#}");
    for case in [
        "forged",
        "expired",
        "tampered",
        "disabled_user",
        "other_audience",
        "wrapped_two_assertions",
        "wrapped_moved_signature",
        "hok_other_key",
        "hok_unsigned",
        "hok_stale_timestamp",
    ] {
        assert_eq!(v[case], "InvalidLogin", "{case}: {v:#}");
    }
    let replay = &v["hok_replay"];
    assert_eq!(replay["first"], "session", "{v:#}");
    assert_eq!(replay["again_status"], 500, "{v:#}");
    assert_eq!(replay["again_fault"], "InvalidLogin", "{v:#}");
    assert_eq!(replay["again_cookie"], false, "{v:#}");

    // VI/JSON.
    let url = ts.api("/sdk/vim25/8.0.3.0/SessionManager/SessionManager/LoginByToken");
    let login = |auth: Option<String>| {
        let mut r = ts.client.post(url.clone()).body("{}");
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.send()
    };
    let r = login(Some(format!(
        "Bearer {}",
        v["bearer_b64"].as_str().unwrap()
    )))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let session = r.headers()["vmware-api-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["userName"], r"VSPHERE.LOCAL\administrator");
    let current: serde_json::Value = ts
        .client
        .get(ts.api("/sdk/vim25/8.0.3.0/SessionManager/SessionManager/currentSession"))
        .header("vmware-api-session-id", &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(current["key"], body["key"]);
    let b64 = |xml: &str| base64::engine::general_purpose::STANDARD.encode(xml);
    // vAPI REST's form works here too: the assertion gzipped, base64, in `SIGN token="…"`.
    let bearer_xml = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(v["bearer_b64"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bearer_xml.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let r = login(Some(format!(
        "SIGN token=\"{}\"",
        base64::engine::general_purpose::STANDARD.encode(gz)
    )))
    .await
    .unwrap();
    assert_eq!(r.status(), 200, "SIGN form");
    let signed: serde_json::Value = r.json().await.unwrap();
    assert_eq!(signed["userName"], r"VSPHERE.LOCAL\administrator");
    assert_ne!(signed["key"], body["key"], "a session of its own");
    let fault = |r: reqwest::Response| async move {
        assert_eq!(r.status(), 500);
        r.json::<serde_json::Value>().await.unwrap()
    };
    let f = fault(
        login(Some(format!("Bearer {}", v["hok_b64"].as_str().unwrap())))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(f["_typeName"], "NotSupported", "{f}");
    assert!(f.to_string().contains("SOAP"), "the fault says why: {f}");
    let forged = std::fs::read_to_string(dir.path().join("forged")).unwrap();
    let f = fault(
        login(Some(format!("Bearer {}", b64(&forged))))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(f["_typeName"], "InvalidLogin", "{f}");
    let f = fault(login(None).await.unwrap()).await;
    assert_eq!(f["_typeName"], "InvalidLogin", "{f}");

    // Login's lockout holds for token logins: an account locked for this address by wrong
    // passwords is refused with a token issued before, and logs in again once unlocked.
    let locked = ts.user("lockeduser", Role::Operator).await;
    let token = issue(&core, &locked, None, None).await.xml;
    core.auth
        .set_lockout_policy(ferrocenter_core::auth::LockoutPolicy {
            max_failures: 2,
            ..Default::default()
        });
    for _ in 0..2 {
        let r = ts
            .post_basic(ts.api("/api/session"), &locked, "not-the-password")
            .await;
        assert_eq!(r.status(), 401);
    }
    let f = fault(
        login(Some(format!("Bearer {}", b64(&token))))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(f["_typeName"], "InvalidLogin", "locked: {f}");
    assert!(core.auth.clear_lockout(
        &ferrocenter_core::auth::Realm::sso("vsphere.local"),
        "lockeduser"
    ));
    let r = login(Some(format!("Bearer {}", b64(&token))))
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "unlocked");
}
