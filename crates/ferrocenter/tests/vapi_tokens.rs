//! Token sessions on the vAPI (seeds/003 chapter 3): SAML tokens of the SSO domain presented to
//! `cis.session.create` and per call — by the official SDK over JSON-RPC (bearer, and holder of
//! key with the SDK's request signature) and as vCenter's `Authorization: SIGN` header on the
//! REST doors — and every kind of bad token refused with the surface's unauthenticated error.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::io::Write;
use std::sync::Arc;

use base64::Engine;
use common::sdk::{run_sdk_script, sdk_python};
use common::*;
use ferrocenter_core::auth::tokens::{TokenCredential, TokenPolicy, TokenRequest};
use ferrocenter_core::auth::{Listener, Role};
use ferrocenter_core::Core;
use reqwest::Response;
use serde_json::{json, Value};

const OTHER: &str = "tokuser@vsphere.local";
/// The administrator as `cis.session.get` names it.
const ADMIN_QUALIFIED: &str = "VSPHERE.LOCAL\\administrator";

/// A token for `user` (password credential), bound to `cert` (DER) when given.
async fn issue(core: &Core, user: &str, cert: Option<&[u8]>) -> String {
    let req = TokenRequest {
        credential: TokenCredential::Password {
            username: user,
            password: PASSWORD,
        },
        proof: cert,
        holder_of_key: cert.is_some(),
        lifetime: None,
        renewable: false,
        delegatable: false,
        audience: None,
    };
    core.issue_token(Listener::Api, &req).await.unwrap().xml
}

/// The tokens the refusal cases need, besides a good bearer one.
struct Bad {
    forged: String,
    expired: String,
    tampered: String,
    disabled: String,
}

async fn bad_tokens(ts: &TestServer, core: &Arc<Core>, bearer: &str) -> Bad {
    // Forged: the same issuer, domain and subject, signed by another server's key.
    let other = TestServer::start().await;
    let (other_core, _) = other.core_admin().await;
    let forged = issue(&other_core, ADMIN, None).await;
    other.stop().await;

    // Expired: issued with a one-second lifetime (the tolerance is one second too).
    let policy = core.token_policy();
    core.set_token_policy(TokenPolicy {
        max_bearer_lifetime: time::Duration::seconds(1),
        ..policy
    });
    let expired = issue(core, ADMIN, None).await;
    core.set_token_policy(policy);

    // Tampered: the subject changed after signing.
    let tampered = bearer.replacen(&format!(">{ADMIN}<"), &format!(">{OTHER}<"), 1);
    assert_ne!(tampered, bearer, "the NameID is where the test expects it");

    // Disabled after issue.
    ts.user("tokuser", Role::Admin).await;
    let disabled = issue(core, OTHER, None).await;
    let (_, admin) = ts.core_admin().await;
    core.sso_user_disable(&admin, "tokuser").await.unwrap();
    Bad {
        forged,
        expired,
        tampered,
        disabled,
    }
}

fn sign_header(xml: &str) -> String {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(xml.as_bytes()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    format!("SIGN token=\"{b64}\"")
}

async fn post_sign(ts: &TestServer, path: &str, auth: &str) -> Response {
    ts.client
        .post(ts.api(path))
        .header("Authorization", auth)
        .send()
        .await
        .unwrap()
}

/// The status and the body's error type, as `/api` (`error_type`) or `/rest` (`type`) says it.
async fn error_type(r: Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let kind = body["error_type"]
        .as_str()
        .or(body["type"].as_str())
        .unwrap_or("")
        .to_string();
    (status, kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_and_rest_sessions_with_saml_tokens() {
    let ts = TestServer::start().await;
    let (core, _) = ts.core_admin().await;
    core.set_token_policy(TokenPolicy {
        clock_tolerance: time::Duration::seconds(1),
        ..core.token_policy()
    });
    let bearer = issue(&core, ADMIN, None).await;
    let bad = bad_tokens(&ts, &core, &bearer).await;
    // Let the one-second token and the one-second tolerance pass.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;

    // ---- REST: `Authorization: SIGN token="<base64 of the gzipped assertion>"`.
    let r = post_sign(&ts, "/api/session", &sign_header(&bearer)).await;
    assert_eq!(r.status(), 201);
    let session: String = r.json().await.unwrap();
    let (status, info) = ts
        .call_json(reqwest::Method::GET, "/api/session", &session, None)
        .await;
    assert_eq!(
        (status, &info["user"]),
        (200, &json!(ADMIN_QUALIFIED)),
        "{info}"
    );
    let r = post_sign(&ts, "/rest/com/vmware/cis/session", &sign_header(&bearer)).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v["value"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
    // Per call, with no session.
    let r = ts
        .client
        .get(ts.api("/api/vcenter/datacenter"))
        .header("Authorization", sign_header(&bearer))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Refusals, each the REST door's 401 unauthenticated.
    let hok_cert = rcgen::generate_simple_self_signed(vec!["hok".into()]).unwrap();
    let hok_rest = issue(&core, ADMIN, Some(hok_cert.cert.der().as_ref())).await;
    let hok_form = format!(
        "{}, nonce=\"1700000000:abc\", signature_alg=\"RSA-SHA256\", signature=\"AAAA\"",
        sign_header(&hok_rest)
    );
    for (case, auth) in [
        ("forged", sign_header(&bad.forged)),
        ("expired", sign_header(&bad.expired)),
        ("tampered", sign_header(&bad.tampered)),
        ("disabled", sign_header(&bad.disabled)),
        ("holder-of-key as bearer", sign_header(&hok_rest)),
        ("holder-of-key header form", hok_form),
        ("not base64", "SIGN token=\"%%%\"".into()),
    ] {
        let (status, kind) = error_type(post_sign(&ts, "/api/session", &auth).await).await;
        assert_eq!((status, kind.as_str()), (401, "UNAUTHENTICATED"), "{case}");
        let (status, kind) =
            error_type(post_sign(&ts, "/rest/com/vmware/cis/session", &auth).await).await;
        assert_eq!(
            (status, kind.as_str()),
            (401, "com.vmware.vapi.std.errors.unauthenticated"),
            "{case} on /rest"
        );
    }

    // ---- JSON-RPC with the official SDK.
    let Some(python) = sdk_python() else {
        println!("SKIPPED: FERROCENTER_VAPI_PYTHON is not set (the vSphere Automation SDK)");
        ts.stop().await;
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_string_lossy().to_string();
    run_sdk_script(&python, "saml_tokens.py", &["keys", &d]).await;
    let cert = std::fs::read(dir.path().join("cert.der")).unwrap();
    let hok = issue(&core, ADMIN, Some(&cert)).await;
    for (name, xml) in [
        ("bearer", &bearer),
        ("hok", &hok),
        ("forged", &bad.forged),
        ("expired", &bad.expired),
        ("tampered", &bad.tampered),
        ("disabled", &bad.disabled),
    ] {
        std::fs::write(dir.path().join(format!("{name}.xml")), xml).unwrap();
    }
    let server = ts.api("").trim_start_matches("https://").to_string();
    let v = run_sdk_script(&python, "saml_tokens.py", &["run", &server, &d]).await;
    eprintln!("{v}");
    for case in ["bearer", "hok"] {
        assert_eq!(v[case]["user"], ADMIN_QUALIFIED, "{case}: {v}");
        assert!(v[case]["datacenters"].is_u64(), "{case}: {v}");
    }
    assert!(v["bearer_per_call"]["datacenters"].is_u64(), "{v}");
    for alg in ["RS256", "RS384", "RS512"] {
        assert!(v["hok_per_call"][alg]["datacenters"].is_u64(), "{alg}: {v}");
    }
    for case in [
        "forged",
        "expired",
        "tampered",
        "disabled",
        "hok_as_bearer",
        "bearer_as_hok",
        "hok_wrong_key",
        "hok_expired_timestamp",
        "hok_future_timestamp",
    ] {
        assert_eq!(v[case], json!({"class": "Unauthenticated"}), "{case}: {v}");
    }
    assert_eq!(
        v["hok_replay"],
        json!({"first": "session", "again": "UNAUTHENTICATED"}),
        "{v}"
    );
    ts.stop().await;
}
