//! Sessions over `/api` and `/rest`, lockout, timeouts, and the appliance listener's accounts.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn api_session_create_get_delete() {
    let ts = TestServer::start().await;
    let r = ts.post_basic(ts.api("/api/session"), ADMIN, PASSWORD).await;
    assert_eq!(r.status(), 201);
    let token: String = r.json().await.unwrap();
    assert_eq!(token.len(), 32);
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()));

    let r = ts
        .call(Method::GET, "/api/session", Some(&token), None)
        .await;
    assert_eq!(r.status(), 200);
    let info: Value = r.json().await.unwrap();
    assert_eq!(info["user"], "VSPHERE.LOCAL\\administrator");
    assert!(info["created_time"].as_str().unwrap().ends_with('Z'));
    assert!(info["last_accessed_time"].is_string());

    let r = ts
        .call(Method::DELETE, "/api/session", Some(&token), None)
        .await;
    assert_eq!(r.status(), 204);
    let r = ts
        .call(Method::GET, "/api/session", Some(&token), None)
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"].to_str().unwrap(),
        "Basic realm=\"VAPI endpoint\""
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_type"], "UNAUTHENTICATED");
    assert_eq!(
        body["messages"][0]["id"],
        "vapi.security.authentication.invalid"
    );
    // Deleting twice is unauthenticated too.
    let r = ts
        .call(Method::DELETE, "/api/session", Some(&token), None)
        .await;
    assert_eq!(r.status(), 401);
    ts.stop().await;
}

#[tokio::test]
async fn bad_credentials_get_401_with_the_vapi_body_and_reveal_nothing() {
    let ts = TestServer::start().await;
    let mut bodies = Vec::new();
    for (user, pw) in [
        (ADMIN, "wrong-password"),
        ("nobody@vsphere.local", PASSWORD),
        ("nobody@other.domain", PASSWORD),
        ("bad name", PASSWORD),
    ] {
        let r = ts.post_basic(ts.api("/api/session"), user, pw).await;
        assert_eq!(r.status(), 401, "{user}");
        bodies.push(r.text().await.unwrap());
    }
    // The same answer whether the user exists or not.
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert!(!bodies[0].contains("nobody"));
    // No credentials at all, and a malformed Authorization header.
    let r = ts.client.post(ts.api("/api/session")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = ts
        .client
        .post(ts.api("/api/session"))
        .header("Authorization", "Basic !!!notbase64")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A `SIGN` header whose token is no signed assertion is refused.
    let r = ts
        .client
        .get(ts.api("/api/session"))
        .header("Authorization", "SIGN token=\"abc\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    ts.stop().await;
}

#[tokio::test]
async fn five_failures_lock_the_account_until_the_lockout_passes() {
    let ts = TestServer::start_with(|a| a.lockout_duration_secs = Some("2".into())).await;
    let try_login = |pw: &'static str| {
        let rb = ts
            .client
            .post(ts.api("/api/session"))
            .basic_auth(ADMIN, Some(pw));
        async move { rb.send().await.unwrap().status().as_u16() }
    };
    for _ in 0..5 {
        assert_eq!(try_login("wrong-password").await, 401);
    }
    // Locked: the right password is refused, with the same answer as a wrong one.
    assert_eq!(try_login(PASSWORD).await, 401);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(try_login(PASSWORD).await, 201);
    // A success resets the count: the next failure is a first one again (no wait), and two
    // more cost a one-second backoff, not a lock.
    assert_eq!(try_login("wrong-password").await, 401);
    assert_eq!(try_login(PASSWORD).await, 201);
    assert_eq!(try_login("wrong-password").await, 401);
    assert_eq!(try_login("wrong-password").await, 401);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(try_login(PASSWORD).await, 201);
    ts.stop().await;
}

#[tokio::test]
async fn sessions_expire_when_idle_and_at_their_lifetime() {
    let ts = TestServer::start_with(|a| {
        a.session_idle_timeout_secs = Some("1".into());
        a.session_max_lifetime_secs = Some("3".into());
    })
    .await;
    // Idle: unused for longer than the idle timeout.
    let t = ts.login(ADMIN).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(
        ts.call(Method::GET, "/api/session", Some(&t), None)
            .await
            .status(),
        401
    );
    // Lifetime: used every half second, it still ends after the absolute lifetime.
    let t = ts.login(ADMIN).await;
    let start = std::time::Instant::now();
    let mut last = 200;
    while start.elapsed() < Duration::from_millis(3600) {
        last = ts
            .call(Method::GET, "/api/session", Some(&t), None)
            .await
            .status()
            .as_u16();
        if last == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(last, 401);
    assert!(
        start.elapsed() >= Duration::from_millis(2400),
        "ended too early"
    );
    ts.stop().await;
}

#[tokio::test]
async fn basic_auth_works_per_call_without_a_session() {
    let ts = TestServer::start().await;
    let r = ts
        .client
        .post(ts.api("/api/cis/tasks?action=list"))
        .basic_auth(ADMIN, Some(PASSWORD))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    ts.stop().await;
}

#[tokio::test]
async fn rest_session_with_cookie_header_and_action_get() {
    let ts = TestServer::start().await;
    let r = ts
        .post_basic(ts.api("/rest/com/vmware/cis/session"), ADMIN, PASSWORD)
        .await;
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    let token = body["value"].as_str().unwrap().to_string();
    assert!(cookie.starts_with(&format!("vmware-api-session-id={token}")));
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"));

    // The cookie alone authenticates.
    let r = ts
        .client
        .post(ts.api("/rest/com/vmware/cis/session?~action=get"))
        .header("Cookie", format!("vmware-api-session-id={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["value"]["user"], "VSPHERE.LOCAL\\administrator");

    // Asking for header authentication suppresses the cookie.
    let r = ts
        .client
        .post(ts.api("/rest/com/vmware/cis/session"))
        .basic_auth(ADMIN, Some(PASSWORD))
        .header("vmware-use-header-authn", "true")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("set-cookie").is_none());

    let r = ts
        .client
        .delete(ts.api("/rest/com/vmware/cis/session"))
        .header("vmware-api-session-id", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = ts
        .client
        .post(ts.api("/rest/com/vmware/cis/session?~action=get"))
        .header("vmware-api-session-id", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], "com.vmware.vapi.std.errors.unauthenticated");
    assert_eq!(body["value"]["error_type"], "UNAUTHENTICATED");
    ts.stop().await;
}

#[tokio::test]
async fn appliance_listener_takes_local_accounts() {
    let ts = TestServer::start().await;
    let r = ts
        .post_basic(ts.appliance("/api/session"), "root", PASSWORD)
        .await;
    assert_eq!(r.status(), 201);
    let token: String = r.json().await.unwrap();
    let r = ts
        .client
        .get(ts.appliance("/api/session"))
        .header("vmware-api-session-id", &token)
        .send()
        .await
        .unwrap();
    let info: Value = r.json().await.unwrap();
    assert_eq!(info["user"], "root");
    // On the API listener a bare name means the SSO domain, where there is no root.
    let r = ts
        .post_basic(ts.api("/api/session"), "root", PASSWORD)
        .await;
    assert_eq!(r.status(), 401);
    // SSO users can manage the appliance too.
    let r = ts
        .post_basic(ts.appliance("/api/session"), ADMIN, PASSWORD)
        .await;
    assert_eq!(r.status(), 201);
    ts.stop().await;
}
