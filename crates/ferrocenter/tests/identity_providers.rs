//! Identity providers (`vcenter.identity.providers`, issue 24 items 4 and 5) against real
//! servers on loopback: `oidc-provider-mock` for the OIDC discovery document and JWKS, and
//! OpenLDAP's slapd with a test directory over plain LDAP and LDAPS
//! (`ferrocenter-testkit/src/identity.rs`). Providers are created with the management guide's
//! AD FS parameters over `/api` and through the official SDK; secrets never come back; bad
//! input is refused naming the field (an unreachable discovery endpoint, a JWKS without a
//! usable key, a wrong bind password, LDAPS without its chain); the single default provider;
//! update and delete; VcIdentityProviders.Read and .Manage; users and groups searched over
//! LDAP; and a provider whose OIDC server is stopped does not stop a local login.
//!
//! The token exchange (issue 24, acceptance 3): ID tokens the OIDC server issues for a user
//! are traded at `vcenter.tokenservice.token_exchange` for a session; the user's groups come
//! from slapd (or the token's groups claim), and an LDAP group made a member of
//! `SystemConfiguration.Administrators` gives admin. A user in no mapped group, and tokens
//! wrongly signed, for another audience, or expired, are refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::sdk::{run_sdk_script, sdk_python};
use common::*;
use ferrocenter_core::auth::Role;
use ferrocenter_testkit::identity::{
    OidcProvider, Slapd, StaticJson, ADMINS_GROUP, GROUPS_DN, READER_DN, READER_PASSWORD, USERS_DN,
};
use reqwest::Method;
use serde_json::{json, Value};

const PROVIDERS: &str = "/api/vcenter/identity/providers";
const CLIENT_SECRET: &str = "adfs-Client-Secret-77";

/// The guide's AD FS create spec (step 5), with plain LDAP or LDAPS.
fn adfs_spec(discovery: &str, endpoint: &str, password: &str, chain: Option<&str>) -> Value {
    let mut ldap = json!({
        "user_name": READER_DN,
        "password": password,
        "users_base_dn": USERS_DN,
        "groups_base_dn": GROUPS_DN,
        "server_endpoints": [endpoint],
    });
    if let Some(c) = chain {
        ldap["cert_chain"] = json!({ "cert_chain": [c] });
    }
    json!({
        "config_tag": "oidc",
        "name": "Microsoft ADFS",
        "upn_claim": "upn",
        "groups_claim": "group",
        "oidc": {
            "discovery_endpoint": discovery,
            "client_id": "vcenter-app-group",
            "client_secret": CLIENT_SECRET,
            "claim_map": {},
        },
        "idm_protocol": "LDAP",
        "active_directory_over_ldap": ldap,
    })
}

/// The field and message of a 400 answer.
fn refusal(status: u16, body: &Value) -> String {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_type"], "INVALID_ARGUMENT", "{body}");
    body["messages"][0]["default_message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_with_the_guides_parameters() {
    let Some(mut oidc) = OidcProvider::start() else {
        return;
    };
    let Some(slapd) = Slapd::start() else {
        return;
    };
    let ts = TestServer::start().await;
    let token = ts.login(ADMIN).await;
    let discovery = oidc.discovery_endpoint();
    let ca = slapd.ca_pem();

    // Refused, naming the field, with nothing kept.
    let (s, b) = ts
        .call_json(
            Method::POST,
            PROVIDERS,
            &token,
            Some(json!({"spec": adfs_spec(
                &format!("http://127.0.0.1:{}/.well-known/openid-configuration", ferrocenter_testkit::free_port()),
                &slapd.ldap_url(), READER_PASSWORD, None)})),
        )
        .await;
    let m = refusal(s, &b);
    assert!(m.contains("spec.oidc.discovery_endpoint"), "{m}");
    let (s, b) = ts
        .call_json(
            Method::POST,
            PROVIDERS,
            &token,
            Some(json!({"spec": adfs_spec(&discovery, &slapd.ldap_url(), "wrong-password", None)})),
        )
        .await;
    let m = refusal(s, &b);
    assert!(
        m.contains("spec.active_directory_over_ldap.password"),
        "{m}"
    );
    assert!(!m.contains("wrong-password"), "{m}");
    let (s, b) = ts
        .call_json(
            Method::POST,
            PROVIDERS,
            &token,
            Some(json!({"spec": adfs_spec(&discovery, &slapd.ldaps_url(), READER_PASSWORD, None)})),
        )
        .await;
    let m = refusal(s, &b);
    assert!(
        m.contains("spec.active_directory_over_ldap.cert_chain"),
        "{m}"
    );
    // LDAPS with a chain that is not the directory's: the TLS handshake fails on the endpoint.
    let other_ca = {
        let dir = tempfile::tempdir().unwrap();
        let c = ferrocenter_testkit::file_servers::TestCertificate::create(dir.path());
        std::fs::read_to_string(c.ca_pem_path).unwrap()
    };
    let (s, b) = ts
        .call_json(
            Method::POST,
            PROVIDERS,
            &token,
            Some(json!({"spec": adfs_spec(&discovery, &slapd.ldaps_url(), READER_PASSWORD, Some(&other_ca))})),
        )
        .await;
    let m = refusal(s, &b);
    assert!(m.contains("server_endpoints[0]"), "{m}");
    // A discovery document whose JWKS holds no usable key.
    let bad = StaticJson::start(&[
        (
            ".well-known/openid-configuration",
            r#"{"issuer": "{base}", "authorization_endpoint": "{base}/authorize",
                "token_endpoint": "{base}/token", "jwks_uri": "{base}/jwks.json"}"#,
        ),
        (
            "jwks.json",
            r#"{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}"#,
        ),
    ])
    .unwrap();
    let (s, b) = ts
        .call_json(
            Method::POST,
            PROVIDERS,
            &token,
            Some(json!({"spec": adfs_spec(
                &format!("{}/.well-known/openid-configuration", bad.base()),
                &slapd.ldap_url(), READER_PASSWORD, None)})),
        )
        .await;
    let m = refusal(s, &b);
    assert!(
        m.contains("spec.oidc.discovery_endpoint") && m.contains("JWKS"),
        "{m}"
    );
    let (s, b) = ts.call_json(Method::GET, PROVIDERS, &token, None).await;
    assert_eq!((s, b), (200, json!([])));

    // Created with plain LDAP: the first provider is the default although is_default is unset.
    let (s, first) = ts
        .call_json(
            Method::POST,
            PROVIDERS,
            &token,
            Some(json!({"spec": adfs_spec(&discovery, &slapd.ldap_url(), READER_PASSWORD, None)})),
        )
        .await;
    assert_eq!(s, 200, "{first}");
    let first = first.as_str().unwrap().to_string();
    let r = ts
        .call(
            Method::GET,
            &format!("{PROVIDERS}/{first}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(
        !text.contains(CLIENT_SECRET) && !text.contains(READER_PASSWORD),
        "{text}"
    );
    let info: Value = serde_json::from_str(&text).unwrap();
    // At rest the secrets are sealed: neither is in the stored row.
    let (core, _) = ts.core_admin().await;
    let row = core
        .store
        .get_identity_provider(&first)
        .await
        .unwrap()
        .unwrap();
    let sealed = [row.client_secret.unwrap(), row.ldap_password.unwrap()];
    for (s, plain) in sealed.iter().zip([CLIENT_SECRET, READER_PASSWORD]) {
        assert!(!s.contains(plain) && !s.is_empty());
    }
    assert!(!row.config.contains(CLIENT_SECRET) && !row.config.contains(READER_PASSWORD));
    assert_eq!(info["config_tag"], "Oidc");
    assert_eq!(info["name"], "Microsoft ADFS");
    assert_eq!(info["is_default"], true);
    assert_eq!(info["upn_claim"], "upn");
    assert_eq!(info["groups_claim"], "group");
    assert_eq!(info["oidc"]["issuer"], oidc.issuer());
    assert_eq!(
        info["oidc"]["public_key_uri"],
        format!("{}/jwks", oidc.issuer())
    );
    assert_eq!(info["oidc"]["client_secret"], "");
    assert_eq!(info["idm_protocol"], "LDAP");
    assert_eq!(info["active_directory_over_ldap"]["password"], "");
    assert_eq!(
        info["active_directory_over_ldap"]["server_endpoints"],
        json!([slapd.ldap_url()])
    );

    // The second (LDAPS with the directory's CA) is not the default; a third made default
    // takes it from the first.
    let mut second_spec = adfs_spec(&discovery, &slapd.ldaps_url(), READER_PASSWORD, Some(&ca));
    second_spec["config_tag"] = json!("Oidc");
    second_spec["name"] = json!("LDAPS directory");
    let (s, second) = ts
        .call_json(
            Method::POST,
            PROVIDERS,
            &token,
            Some(json!({ "spec": second_spec })),
        )
        .await;
    assert_eq!(s, 200, "{second}");
    let second = second.as_str().unwrap().to_string();
    let mut third_spec = adfs_spec(&discovery, &slapd.ldap_url(), READER_PASSWORD, None);
    third_spec["is_default"] = json!(true);
    third_spec["name"] = json!("Third");
    let (s, third) = ts
        .call_json(
            Method::POST,
            PROVIDERS,
            &token,
            Some(json!({ "spec": third_spec })),
        )
        .await;
    assert_eq!(s, 200, "{third}");
    let third = third.as_str().unwrap().to_string();
    let defaults = |list: &Value| -> Vec<(String, bool)> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["provider"].as_str().unwrap().to_string(),
                    p["is_default"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let (_, list) = ts.call_json(Method::GET, PROVIDERS, &token, None).await;
    assert_eq!(
        defaults(&list),
        vec![
            (first.clone(), false),
            (second.clone(), false),
            (third.clone(), true)
        ]
    );
    assert_eq!(list[0]["oidc"]["discovery_endpoint"], discovery);

    // Update: rename and make the second the default; a wrong password on update is refused
    // and changes nothing.
    let (s, b) = ts
        .call_json(
            Method::PATCH,
            &format!("{PROVIDERS}/{second}"),
            &token,
            Some(json!({"spec": {"config_tag": "Oidc", "name": "Renamed", "make_default": true}})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (_, list) = ts.call_json(Method::GET, PROVIDERS, &token, None).await;
    assert_eq!(
        defaults(&list),
        vec![
            (first.clone(), false),
            (second.clone(), true),
            (third.clone(), false)
        ]
    );
    assert_eq!(list[1]["name"], "Renamed");
    let (s, b) = ts
        .call_json(
            Method::PATCH,
            &format!("{PROVIDERS}/{second}"),
            &token,
            Some(
                json!({"spec": {"config_tag": "Oidc", "active_directory_over_ldap": {
                "user_name": READER_DN, "password": "nope", "users_base_dn": USERS_DN,
                "groups_base_dn": GROUPS_DN, "server_endpoints": [slapd.ldaps_url()]}}}),
            ),
        )
        .await;
    assert!(refusal(s, &b).contains("password"));

    // Users and groups searched over LDAPS under the base DNs.
    let (s, users) = ts
        .call_json(
            Method::POST,
            &format!("{PROVIDERS}/{second}/directory?action=search-users"),
            &token,
            Some(json!({"query": "ali"})),
        )
        .await;
    assert_eq!(s, 200, "{users}");
    assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
    assert_eq!(users[0]["name"], "alice");
    assert_eq!(users[0]["dn"], format!("uid=alice,{USERS_DN}"));
    assert_eq!(users[0]["upn"], "alice@example.com");
    let (s, groups) = ts
        .call_json(
            Method::POST,
            &format!("{PROVIDERS}/{first}/directory?action=search-groups"),
            &token,
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 200, "{groups}");
    let admins = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == ADMINS_GROUP)
        .unwrap_or_else(|| panic!("{groups}"));
    assert_eq!(admins["members"], json!([format!("uid=alice,{USERS_DN}")]));
    assert_eq!(groups.as_array().unwrap().len(), 2, "{groups}");

    // Privileges: an operator may not read; an admin reads but may not change.
    let op = ts.login(&ts.user("op", Role::Operator).await).await;
    let adm = ts.login(&ts.user("adm", Role::Admin).await).await;
    let (s, _) = ts.call_json(Method::GET, PROVIDERS, &op, None).await;
    assert_eq!(s, 403);
    let (s, _) = ts.call_json(Method::GET, PROVIDERS, &adm, None).await;
    assert_eq!(s, 200);
    let (s, _) = ts
        .call_json(Method::DELETE, &format!("{PROVIDERS}/{first}"), &adm, None)
        .await;
    assert_eq!(s, 403);

    // The provider trusted roots: added, listed, deleted.
    let (s, root) = ts
        .call_json(
            Method::POST,
            "/api/vcenter/identity/trusted-roots",
            &token,
            Some(json!({ "cert_text": ca })),
        )
        .await;
    assert_eq!(s, 200, "{root}");
    let (_, roots) = ts
        .call_json(
            Method::GET,
            "/api/vcenter/identity/trusted-roots",
            &token,
            None,
        )
        .await;
    assert_eq!(roots[0]["root"], root);
    let (s, _) = ts
        .call_json(
            Method::DELETE,
            &format!(
                "/api/vcenter/identity/trusted-roots/{}",
                root.as_str().unwrap()
            ),
            &token,
            None,
        )
        .await;
    assert_eq!(s, 204);

    // The OIDC server stops: local logins go on, the providers still read; a change that
    // needs discovery is refused naming the field.
    oidc.stop();
    let again = ts.login(ADMIN).await;
    let (s, _) = ts.call_json(Method::GET, PROVIDERS, &again, None).await;
    assert_eq!(s, 200);
    let (s, b) = ts
        .call_json(
            Method::PATCH,
            &format!("{PROVIDERS}/{first}"),
            &token,
            Some(
                json!({"spec": {"config_tag": "Oidc", "oidc": {"discovery_endpoint": discovery}}}),
            ),
        )
        .await;
    assert!(refusal(s, &b).contains("spec.oidc.discovery_endpoint"));

    // Delete.
    for id in [&first, &second, &third] {
        let (s, b) = ts
            .call_json(Method::DELETE, &format!("{PROVIDERS}/{id}"), &token, None)
            .await;
        assert_eq!(s, 204, "{b}");
    }
    let (s, _) = ts
        .call_json(Method::GET, &format!("{PROVIDERS}/{first}"), &token, None)
        .await;
    assert_eq!(s, 404);
    ts.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_sdk_creates_a_provider() {
    let Some(python) = sdk_python() else {
        println!("SKIPPED: FERROCENTER_VAPI_PYTHON is not set (the vSphere Automation SDK)");
        return;
    };
    let Some(oidc) = OidcProvider::start() else {
        return;
    };
    let Some(slapd) = Slapd::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let api = free_local_addr();
    let appliance = free_local_addr();
    let _p = serve_at(&dir.path().join("data"), &api, &appliance, &[]);
    let ca = slapd.certificate.ca_pem_path.display().to_string();
    let v = run_sdk_script(
        &python,
        "identity_providers.py",
        &[
            &api,
            ADMIN,
            PASSWORD,
            &oidc.discovery_endpoint(),
            &slapd.ldaps_url(),
            &ca,
            READER_DN,
            READER_PASSWORD,
            USERS_DN,
            GROUPS_DN,
        ],
    )
    .await;
    eprintln!("{v}");
    assert_eq!(v["wrong_password"]["class"], "InvalidArgument", "{v}");
    let id = v["id"].as_str().unwrap();
    let get = &v["get"];
    assert_eq!(get["name"], "Microsoft ADFS");
    assert_eq!(get["config_tag"], "Oidc");
    assert_eq!(get["is_default"], true);
    assert_eq!(get["upn_claim"], "upn");
    assert_eq!(get["issuer"], oidc.issuer());
    assert_eq!(get["client_secret"], "");
    assert_eq!(get["ldap_password"], "");
    assert_eq!(get["idm_protocol"], "LDAP");
    assert_eq!(get["server_endpoints"], json!([slapd.ldaps_url()]));
    assert_eq!(v["list"][0]["provider"], id);
    assert_eq!(v["renamed"], "ADFS renamed");
    assert_eq!(v["after_delete"], json!([]));
}

const EXCHANGE: &str = "/api/vcenter/tokenservice/token-exchange";
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

/// An ID token for `sub` with `claims`, issued to `client_id` as a browser login gets one,
/// without the browser: the claims set (`PUT /users/{sub}`), the authorization form posted
/// for `sub`, and the code redeemed at the token endpoint.
async fn id_token(oidc: &OidcProvider, client_id: &str, sub: &str, claims: Value) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = oidc.issuer();
    let r = http
        .put(format!("{base}/users/{sub}"))
        .json(&claims)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "PUT /users: {}", r.status());
    let redirect = "http://127.0.0.1/callback";
    let r = http
        .post(format!("{base}/oauth2/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect),
            ("scope", "openid"),
            ("state", "s"),
        ])
        .form(&[("sub", sub)])
        .send()
        .await
        .unwrap();
    let location = r
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or_else(|| panic!("the authorization answered {}", r.status()))
        .to_string();
    let code = location
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("code="))
        .expect("the redirect carries a code")
        .to_string();
    let body: Value = http
        .post(format!("{base}/oauth2/token"))
        .basic_auth(client_id, Some("any-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no id_token in {body}"))
        .to_string()
}

/// The exchange without a session, as a federated client makes it: (status, body).
async fn exchange(ts: &TestServer, token: &str) -> (u16, Value) {
    let r = ts
        .call(
            Method::POST,
            EXCHANGE,
            None,
            Some(json!({"spec": {
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "subject_token": token,
                "subject_token_type": ID_TOKEN_TYPE,
                "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
            }})),
        )
        .await;
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The token with one character of its signature changed.
fn tampered(token: &str) -> String {
    let (head, sig) = token.rsplit_once('.').unwrap();
    let mut sig: Vec<char> = sig.chars().collect();
    let i = sig.len() / 2;
    sig[i] = if sig[i] == 'A' { 'B' } else { 'A' };
    format!("{head}.{}", sig.into_iter().collect::<String>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federated_users_get_the_roles_of_their_mapped_groups() {
    let Some(mut oidc) = OidcProvider::start() else {
        return;
    };
    // Its tokens are born an hour expired.
    let Some(expiring) = OidcProvider::start_with_args(&["--token-max-age=-3600"]) else {
        return;
    };
    let Some(slapd) = Slapd::start() else {
        return;
    };
    let ts = TestServer::start().await;
    let admin = ts.login(ADMIN).await;
    let client_id = "vcenter-app-group";

    // The operator's set-up: the provider with the guide's AD FS parameters, then the
    // directory's administrators group made a member of the table 4-2 group.
    for o in [&oidc, &expiring] {
        let (s, b) = ts
            .call_json(
                Method::POST,
                PROVIDERS,
                &admin,
                Some(json!({"spec": adfs_spec(&o.discovery_endpoint(), &slapd.ldap_url(), READER_PASSWORD, None)})),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let mapped = format!("example.com\\{ADMINS_GROUP}");
    let (s, b) = ts
        .call_json(
            Method::POST,
            "/api/ferrocenter/sso/groups/SystemConfiguration.Administrators?action=add-members",
            &admin,
            Some(json!({ "users": [mapped] })),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (_, group) = ts
        .call_json(
            Method::GET,
            "/api/ferrocenter/sso/groups/SystemConfiguration.Administrators",
            &admin,
            None,
        )
        .await;
    assert!(
        group["members"]
            .as_array()
            .unwrap()
            .contains(&json!(mapped)),
        "{group}"
    );

    // alice is in vcenter-admins (slapd): her token buys an admin session, which creates a
    // datacenter (admin only) and is named as her.
    let alice = id_token(
        &oidc,
        client_id,
        "alice",
        json!({"upn": "alice@example.com"}),
    )
    .await;
    let (s, b) = exchange(&ts, &alice).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["token_type"], "Bearer", "{b}");
    assert_eq!(
        b["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    let session = b["access_token"].as_str().unwrap().to_string();
    assert_ne!(session, alice);
    let (s, who) = ts
        .call_json(Method::GET, "/api/session", &session, None)
        .await;
    assert_eq!(s, 200, "{who}");
    assert_eq!(who["user"], "EXAMPLE.COM\\alice");
    let (s, b) = ts
        .call_json(
            Method::POST,
            "/api/vcenter/datacenter",
            &session,
            Some(json!({"spec": {"name": "dc-federated"}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // Admin, not superAdmin: the identity providers stay out of reach.
    let (s, _) = ts
        .call_json(Method::DELETE, &format!("{PROVIDERS}/x"), &session, None)
        .await;
    assert_eq!(s, 403);

    // bob is only in `operators`, which no SSO group holds: refused.
    let bob = id_token(&oidc, client_id, "bob", json!({"upn": "bob@example.com"})).await;
    let (s, b) = exchange(&ts, &bob).await;
    assert_eq!(s, 403, "{b}");
    assert_eq!(b["error_type"], "UNAUTHORIZED", "{b}");

    // The same with the official SDK's TokenExchange stub.
    if let Some(python) = sdk_python() {
        let server = ts.api("").trim_start_matches("https://").to_string();
        let v = run_sdk_script(&python, "token_exchange.py", &[&server, &alice, &bob]).await;
        assert_eq!(v["token_type"], "Bearer", "{v}");
        assert!(
            v["datacenter"]
                .as_str()
                .unwrap_or_default()
                .starts_with("datacenter-"),
            "{v}"
        );
        assert_eq!(v["unmapped"], "Unauthorized", "{v}");
        assert_eq!(v["tampered"], "Unauthenticated", "{v}");
    } else {
        println!(
            "SKIPPED (SDK part): FERROCENTER_VAPI_PYTHON is not set (the vSphere Automation SDK)"
        );
    }

    // The groups claim, when the token carries one, is used instead of the directory: carol
    // has no entry in slapd.
    let carol = id_token(
        &oidc,
        client_id,
        "carol",
        json!({"upn": "carol@example.com", "group": [ADMINS_GROUP]}),
    )
    .await;
    let (s, b) = exchange(&ts, &carol).await;
    assert_eq!(s, 200, "{b}");

    // Wrongly signed, for another client, expired: refused as unauthenticated, with nothing
    // of the token in the answer.
    let wrong_audience = id_token(
        &oidc,
        "another-app",
        "alice",
        json!({"upn": "alice@example.com"}),
    )
    .await;
    let expired = id_token(
        &expiring,
        client_id,
        "alice",
        json!({"upn": "alice@example.com"}),
    )
    .await;
    for (what, t) in [
        ("a bad signature", tampered(&alice)),
        ("another audience", wrong_audience),
        ("expired", expired),
        ("not a JWT", "not-a-token".to_string()),
    ] {
        let (s, b) = exchange(&ts, &t).await;
        assert_eq!(s, 401, "{what}: {b}");
        assert_eq!(b["error_type"], "UNAUTHENTICATED", "{what}: {b}");
        assert!(!b.to_string().contains(&t), "{what}");
    }

    // The provider's server restarts with a new signing key: its new tokens fail with the
    // cached set, which is fetched again (once the refetch floor has passed since the forged
    // token above made one).
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    oidc.stop();
    oidc.start_again();
    let again = id_token(
        &oidc,
        client_id,
        "alice",
        json!({"upn": "alice@example.com"}),
    )
    .await;
    let (s, b) = exchange(&ts, &again).await;
    assert_eq!(s, 200, "after a key rotation: {b}");

    // The mapping removed: alice is refused at her next exchange.
    let (s, b) = ts
        .call_json(
            Method::POST,
            "/api/ferrocenter/sso/groups/SystemConfiguration.Administrators?action=remove-members",
            &admin,
            Some(json!({ "users": [mapped] })),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let later = id_token(
        &oidc,
        client_id,
        "alice",
        json!({"upn": "alice@example.com"}),
    )
    .await;
    let (s, b) = exchange(&ts, &later).await;
    assert_eq!(s, 403, "{b}");

    // The provider down: local logins are untouched.
    oidc.stop();
    let token = ts.login(ADMIN).await;
    assert!(!token.is_empty());
}
