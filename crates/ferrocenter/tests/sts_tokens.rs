//! The security token service (`POST /sts/STSService`) against pyVmomi's own token client,
//! `pyVim.sso.SsoAuthenticator` (PyPI `pyvmomi` 9.1.1.0, with lxml and cryptography): a bearer
//! token for a user name and password, a holder-of-key token bound to a certificate the script
//! makes (ActAs the bearer token, the request signed with the certificate's key), a token for
//! that token, and WS-Trust faults. Every token the client got is then checked by the server's
//! own verifier, with and without the proof a holder-of-key token needs.
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
