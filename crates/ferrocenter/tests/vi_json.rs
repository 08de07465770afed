//! VI/JSON: ServiceInstance and SessionManager over the wire conventions of the reference.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;
use ferrocenter_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

const BASE: &str = "/sdk/vim25/8.0.3.0";

async fn vim(
    ts: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Option<String>, String, String) {
    let r = ts.call(method, &format!("{BASE}{path}"), token, body).await;
    let status = r.status().as_u16();
    let session = r
        .headers()
        .get("vmware-api-session-id")
        .map(|v| v.to_str().unwrap().to_string());
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, session, ct, r.text().await.unwrap())
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn service_content_is_readable_without_a_session_both_ways() {
    let ts = TestServer::start().await;
    let (s, _, ct, body) = vim(
        &ts,
        Method::GET,
        "/ServiceInstance/ServiceInstance/content",
        None,
        None,
    )
    .await;
    assert_eq!((s, ct.as_str()), (200, "application/json"));
    let c = parse(&body);
    assert_eq!(c["_typeName"], "ServiceContent");
    assert_eq!(
        c["rootFolder"],
        json!({"_typeName": "ManagedObjectReference", "type": "Folder", "value": "group-d1"})
    );
    assert_eq!(c["about"]["apiType"], "VirtualCenter");
    assert_eq!(c["about"]["instanceUuid"].as_str().unwrap().len(), 32);
    // POST RetrieveServiceContent, with the three body forms clients use.
    for body in [
        None,
        Some(json!({})),
        Some(json!({"_typeName": "RetrieveServiceContent"})),
        Some(json!({"_typeName": "RetrieveServiceContentRequestType"})),
    ] {
        let (s, _, _, b) = vim(
            &ts,
            Method::POST,
            "/ServiceInstance/ServiceInstance/RetrieveServiceContent",
            None,
            body,
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(parse(&b), c);
    }
    let (s, _, _, b) = vim(
        &ts,
        Method::POST,
        "/ServiceInstance/ServiceInstance/CurrentTime",
        None,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(parse(&b).as_str().unwrap().ends_with('Z'));
    ts.stop().await;
}

#[tokio::test]
async fn login_current_session_and_logout() {
    let ts = TestServer::start().await;
    let path = "/SessionManager/SessionManager";
    // Not logged in: currentSession is unset (empty body).
    let (s, _, _, b) = vim(
        &ts,
        Method::GET,
        &format!("{path}/currentSession"),
        None,
        None,
    )
    .await;
    assert_eq!((s, b.as_str()), (200, ""));
    let (s, token, ct, b) = vim(
        &ts,
        Method::POST,
        &format!("{path}/Login"),
        None,
        Some(json!({"_typeName": "Login", "userName": ADMIN, "password": PASSWORD})),
    )
    .await;
    assert_eq!((s, ct.as_str()), (200, "application/json"));
    let token = token.expect("the session id comes in the response header");
    let us = parse(&b);
    assert_eq!(us["_typeName"], "UserSession");
    assert_eq!(us["userName"], r"VSPHERE.LOCAL\administrator");
    assert!(!b.contains(&token), "the token is only in the header");
    let (s, _, _, b) = vim(
        &ts,
        Method::GET,
        &format!("{path}/currentSession"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(parse(&b)["key"], us["key"]);
    // The same session works on the vAPI surface: one identity service.
    assert_eq!(
        ts.call(Method::GET, "/api/session", Some(&token), None)
            .await
            .status(),
        200
    );
    let (s, _, _, b) = vim(
        &ts,
        Method::POST,
        &format!("{path}/Logout"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!((s, b.as_str()), (204, ""));
    let (s, _, _, b) = vim(
        &ts,
        Method::POST,
        &format!("{path}/Logout"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, 500);
    assert_eq!(parse(&b)["_typeName"], "NotAuthenticated");
    ts.stop().await;
}

#[tokio::test]
async fn faults_follow_the_wire_conventions() {
    let ts = TestServer::start().await;
    let login = |body: Value| {
        vim(
            &ts,
            Method::POST,
            "/SessionManager/SessionManager/Login",
            None,
            Some(body),
        )
    };
    let (s, _, ct, b) = login(json!({"userName": ADMIN, "password": "wrong-one"})).await;
    assert_eq!((s, ct.as_str()), (500, "application/json"));
    assert_eq!(parse(&b)["_typeName"], "InvalidLogin");
    let (_, _, _, b) = login(json!({"userName": ADMIN})).await;
    let f = parse(&b);
    assert_eq!(
        (f["_typeName"].as_str(), f["invalidProperty"].as_str()),
        (Some("InvalidArgument"), Some("password"))
    );
    let (_, _, _, b) =
        login(json!({"_typeName": "Logout", "userName": ADMIN, "password": PASSWORD})).await;
    assert_eq!(parse(&b)["_typeName"], "InvalidRequest");
    // Malformed JSON.
    let r = ts
        .client
        .post(ts.api(&format!("{BASE}/SessionManager/SessionManager/Login")))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(
        r.json::<Value>().await.unwrap()["_typeName"],
        "InvalidRequest"
    );
    // A release outside 8.0.1.0–9.1.1.0.
    let r = ts
        .call(
            Method::GET,
            "/sdk/vim25/7.0.3.0/ServiceInstance/ServiceInstance/content",
            None,
            None,
        )
        .await;
    assert_eq!(r.status(), 500);
    let f: Value = r.json().await.unwrap();
    assert_eq!(f["_typeName"], "InvalidRequest");
    assert!(f["faultMessage"][0]["message"]
        .as_str()
        .unwrap()
        .contains("7.0.3.0"));
    assert_eq!(
        ts.call(
            Method::GET,
            "/sdk/vim25/9.1.1.0/ServiceInstance/ServiceInstance/content",
            None,
            None
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        ts.call(
            Method::GET,
            "/sdk/vim25/9.2.0.0/ServiceInstance/ServiceInstance/content",
            None,
            None
        )
        .await
        .status(),
        500
    );
    // Without a session every object is NotAuthenticated; with one: unknown object id,
    // unknown method, known-but-unserved method, wrong verb.
    let (_, _, _, b) = vim(&ts, Method::GET, "/HostSystem/host-1/name", None, None).await;
    assert_eq!(parse(&b)["_typeName"], "NotAuthenticated");
    let t = ts.login(ADMIN).await;
    let (_, _, _, b) = vim(
        &ts,
        Method::GET,
        "/SessionManager/SomethingElse/currentSession",
        Some(&t),
        None,
    )
    .await;
    assert_eq!(parse(&b)["_typeName"], "ManagedObjectNotFound");
    let (_, _, _, b) = vim(
        &ts,
        Method::POST,
        "/SessionManager/SessionManager/Fly",
        Some(&t),
        None,
    )
    .await;
    let f = parse(&b);
    assert_eq!(f["_typeName"], "MethodNotFound");
    assert_eq!(f["method"], "Fly");
    let (_, _, _, b) = vim(
        &ts,
        Method::POST,
        "/SessionManager/SessionManager/ImpersonateUser",
        Some(&t),
        None,
    )
    .await;
    assert_eq!(parse(&b)["_typeName"], "NotSupported");
    let (_, _, _, b) = vim(
        &ts,
        Method::POST,
        "/SessionManager/SessionManager/AcquireCloneTicket",
        None,
        None,
    )
    .await;
    assert_eq!(parse(&b)["_typeName"], "NotAuthenticated");
    let (s, _, _, b) = vim(
        &ts,
        Method::PUT,
        "/ServiceInstance/ServiceInstance/content",
        None,
        None,
    )
    .await;
    assert_eq!(s, 500);
    assert_eq!(parse(&b)["_typeName"], "InvalidRequest");
    ts.stop().await;
}

#[tokio::test]
async fn every_vi_json_call_by_role() {
    let ts = TestServer::start().await;
    let op = ts.user("viewer", Role::Operator).await;
    for user in [op.as_str(), ADMIN] {
        let (s, token, _, _) = vim(
            &ts,
            Method::POST,
            "/SessionManager/SessionManager/Login",
            None,
            Some(json!({"userName": user, "password": PASSWORD})),
        )
        .await;
        assert_eq!(s, 200, "{user} may log in");
        let t = token.unwrap();
        let (s, _, _, _) = vim(
            &ts,
            Method::GET,
            "/SessionManager/SessionManager/currentSession",
            Some(&t),
            None,
        )
        .await;
        assert_eq!(s, 200);
        let (s, _, _, _) = vim(
            &ts,
            Method::GET,
            "/ServiceInstance/ServiceInstance/content",
            Some(&t),
            None,
        )
        .await;
        assert_eq!(s, 200);
        let (s, _, _, _) = vim(
            &ts,
            Method::POST,
            "/SessionManager/SessionManager/Logout",
            Some(&t),
            None,
        )
        .await;
        assert_eq!(s, 204);
    }
    ts.stop().await;
}

#[tokio::test]
async fn clone_tickets_are_one_time_and_die_with_their_session() {
    let ts = TestServer::start().await;
    let sm = "/SessionManager/SessionManager";
    let t = ts.login(ADMIN).await;
    let ticket = |token: String| {
        let ts = &ts;
        async move {
            let (s, _, _, b) = vim(
                ts,
                Method::POST,
                &format!("{sm}/AcquireCloneTicket"),
                Some(&token),
                None,
            )
            .await;
            assert_eq!(s, 200);
            parse(&b).as_str().unwrap().to_string()
        }
    };
    let clone = |ticket: String| {
        let ts = &ts;
        async move {
            vim(
                ts,
                Method::POST,
                &format!("{sm}/CloneSession"),
                None,
                Some(json!({"cloneTicket": ticket})),
            )
            .await
        }
    };
    let tk = ticket(t.clone()).await;
    let (s, token, _, b) = clone(tk.clone()).await;
    assert_eq!(s, 200);
    let cloned = token.unwrap();
    assert_ne!(cloned, t);
    assert_eq!(parse(&b)["userName"], r"VSPHERE.LOCAL\administrator");
    let (s, _, _, _) = vim(
        &ts,
        Method::GET,
        &format!("{sm}/currentSession"),
        Some(&cloned),
        None,
    )
    .await;
    assert_eq!(s, 200);
    // Used once: a second use is an InvalidLogin.
    let (s, _, _, b) = clone(tk).await;
    assert_eq!(s, 500);
    assert_eq!(parse(&b)["_typeName"], "InvalidLogin");
    // A ticket dies with its session.
    let tk = ticket(t.clone()).await;
    vim(&ts, Method::POST, &format!("{sm}/Logout"), Some(&t), None).await;
    let (_, _, _, b) = clone(tk).await;
    assert_eq!(parse(&b)["_typeName"], "InvalidLogin");
    // Bad input and no session.
    let (_, _, _, b) = vim(
        &ts,
        Method::POST,
        &format!("{sm}/CloneSession"),
        None,
        Some(json!({})),
    )
    .await;
    assert_eq!(parse(&b)["invalidProperty"], "cloneTicket");
    let (_, _, _, b) = clone("cst-forged".into()).await;
    assert_eq!(parse(&b)["_typeName"], "InvalidLogin");
    let (_, _, _, b) = vim(
        &ts,
        Method::POST,
        &format!("{sm}/AcquireCloneTicket"),
        None,
        None,
    )
    .await;
    assert_eq!(parse(&b)["_typeName"], "NotAuthenticated");
    ts.stop().await;
}

#[tokio::test]
async fn session_is_active_and_terminate_session() {
    let ts = TestServer::start().await;
    let a = ts.login(ADMIN).await;
    let b = ts.login(ADMIN).await;
    let key = |t: String| {
        let ts = &ts;
        async move {
            let (_, _, _, body) = vim(
                ts,
                Method::GET,
                "/SessionManager/SessionManager/currentSession",
                Some(&t),
                None,
            )
            .await;
            parse(&body)["key"].as_str().unwrap().to_string()
        }
    };
    let (ka, kb) = (key(a.clone()).await, key(b.clone()).await);
    assert_ne!(ka, kb);
    assert_ne!(kb, b, "the key is not the token");
    let call = |t: &str, name: &str, body: Value| {
        let (ts, t, name) = (&ts, t.to_string(), name.to_string());
        async move {
            let (s, _, _, b) = vim(
                ts,
                Method::POST,
                &format!("/SessionManager/SessionManager/{name}"),
                Some(&t),
                Some(body),
            )
            .await;
            (s, if b.is_empty() { Value::Null } else { parse(&b) })
        }
    };
    for (user, active) in [
        (ADMIN, true),
        ("VSPHERE.LOCAL\\administrator", true),
        ("someone@vsphere.local", false),
    ] {
        let r = call(
            &a,
            "SessionIsActive",
            json!({"sessionID": kb, "userName": user}),
        )
        .await;
        assert_eq!(r, (200, json!(active)), "{user}");
    }
    let r = call(
        &a,
        "SessionIsActive",
        json!({"sessionID": "nope", "userName": ADMIN}),
    )
    .await;
    assert_eq!(r, (200, json!(false)));
    // Not one's own session; not an unknown one; then b ends.
    let (s, f) = call(&a, "TerminateSession", json!({"sessionId": [ka]})).await;
    assert_eq!((s, f["_typeName"].as_str()), (500, Some("InvalidArgument")));
    let (_, f) = call(&a, "TerminateSession", json!({"sessionId": [kb, "nope"]})).await;
    assert_eq!(f["_typeName"], "NotFound");
    assert_eq!(
        call(&a, "TerminateSession", json!({"sessionId": [kb]}))
            .await
            .0,
        204
    );
    let (_, f) = call(&b, "AcquireCloneTicket", json!({})).await;
    assert_eq!(f["_typeName"], "NotAuthenticated");
    let r = call(
        &a,
        "SessionIsActive",
        json!({"sessionID": kb, "userName": ADMIN}),
    )
    .await;
    assert_eq!(r, (200, json!(false)));
    // Operators may do neither.
    let op = ts.user("viewer", Role::Operator).await;
    let o = ts.login(&op).await;
    let (_, f) = call(
        &o,
        "SessionIsActive",
        json!({"sessionID": ka, "userName": ADMIN}),
    )
    .await;
    assert_eq!(f["privilegeId"], "Sessions.ValidateSession");
    let (_, f) = call(&o, "TerminateSession", json!({"sessionId": [ka]})).await;
    assert_eq!(f["privilegeId"], "Sessions.TerminateSession");
    ts.stop().await;
}
