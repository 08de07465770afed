//! Logins under attack, through the real server: the per-address login rate limit and bounded
//! password hashing (a storm of wrong logins must not starve reads), session kinds (ZStack vs
//! vSphere tokens) and their limits, sessions bound to their listener, and lockout per
//! (account, source address) with backoff and an unlock by the appliance's `root`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::zstack::ZsClient;
use common::*;
use ferrocenter_core::auth::password::digest_hex;
use ferrocenter_testkit::free_port;
use reqwest::Method;
use serde_json::{json, Value};

/// A client whose connections leave from `ip` (any 127.x address reaches a loopback listener).
fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .local_address(IpAddr::V4(ip))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Item 2: 100 concurrent wrong logins with random user names from one address, while a reader
/// loop runs. The storm must be answered with 429 (and Retry-After), and reads must keep being
/// answered, none failing. Figures are printed, nothing is timed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_login_storm_is_throttled_and_reads_keep_being_served() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let api = format!("127.0.0.1:{}", free_port());
    let app = format!("127.0.0.1:{}", free_port());
    let mut p = spawn_server(&data, &["--listen", &api, "--appliance-listen", &app]);
    p.wait_stdout("thumbprint", Duration::from_secs(60));
    let pw = std::fs::read_to_string(data.join("initial-admin-password"))
        .unwrap()
        .trim()
        .to_string();
    let base = format!("https://{api}");
    let c = client();
    let r = c
        .post(format!("{base}/api/session"))
        .basic_auth(ADMIN, Some(&pw))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token: String = r.json().await.unwrap();
    let pid = p.child.id();
    let rss_before = rss_kib(pid);

    let storming = Arc::new(AtomicBool::new(true));
    let reads_ok = Arc::new(AtomicU64::new(0));
    let reads_failed = Arc::new(AtomicU64::new(0));
    let reader = {
        let (c, base, token) = (c.clone(), base.clone(), token.clone());
        let (storming, ok, failed) = (storming.clone(), reads_ok.clone(), reads_failed.clone());
        tokio::spawn(async move {
            while storming.load(Ordering::Relaxed) {
                let r = c
                    .get(format!("{base}/api/vcenter/datacenter"))
                    .header("vmware-api-session-id", &token)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    };

    let started = Instant::now();
    let mut workers = vec![];
    for w in 0..100u32 {
        let (c, base) = (c.clone(), base.clone());
        workers.push(tokio::spawn(async move {
            let (mut too_many, mut refused, mut other, mut retry_after) = (0u32, 0u32, 0u32, true);
            for i in 0..8u32 {
                let user = format!("nobody-{w}-{i}-{}@vsphere.local", zstack::uuid_hex());
                let r = c
                    .post(format!("{base}/api/session"))
                    .basic_auth(&user, Some("Wrong-Pass-1"))
                    .send()
                    .await
                    .unwrap();
                match r.status().as_u16() {
                    429 => {
                        too_many += 1;
                        retry_after &= r.headers().get("retry-after").is_some();
                    }
                    401 => refused += 1,
                    _ => other += 1,
                }
            }
            (too_many, refused, other, retry_after)
        }));
    }
    let (mut too_many, mut refused, mut other, mut retry_after) = (0, 0, 0, true);
    for w in workers {
        let (a, b, c, d) = w.await.unwrap();
        too_many += a;
        refused += b;
        other += c;
        retry_after &= d;
    }
    let storm = started.elapsed();
    let rss_during = rss_kib(pid);
    storming.store(false, Ordering::Relaxed);
    reader.await.unwrap();
    let (ok, failed) = (
        reads_ok.load(Ordering::Relaxed),
        reads_failed.load(Ordering::Relaxed),
    );
    println!(
        "storm of 800 wrong logins (100 concurrent) from one address: {storm:?}; 429: {too_many}, \
         401: {refused}, other: {other}; reads during the storm: {ok} ok, {failed} failed \
         ({:.1} reads/s); RSS before {rss_before:?} KiB, after the storm {rss_during:?} KiB",
        ok as f64 / storm.as_secs_f64()
    );
    assert!(too_many > 0, "the storm must be answered with 429");
    assert!(retry_after, "every 429 carries Retry-After");
    assert_eq!(other, 0, "only 401 and 429 answer wrong logins");
    assert!(ok > 0, "reads kept being answered during the storm");
    assert_eq!(failed, 0, "no read failed during the storm");
    // The right password is still taken from another address.
    let r = client_from(Ipv4Addr::new(127, 0, 0, 3))
        .post(format!("{base}/api/session"))
        .basic_auth(ADMIN, Some(&pw))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

/// Item 2: once an address is over its login budget, every surface answers in its own form.
#[tokio::test]
async fn every_surface_answers_its_own_too_many_logins_form() {
    let ts = TestServer::start_with(|a| {
        a.login_rate_burst = Some("3".into());
        a.login_rate_per_min = Some("1".into());
    })
    .await;
    for _ in 0..3 {
        let r = ts
            .post_basic(ts.api("/api/session"), "x@vsphere.local", "Wrong-1")
            .await;
        assert_eq!(r.status(), 401);
    }
    // vAPI /api: 429 with Retry-After, naming the limit.
    let r = ts.post_basic(ts.api("/api/session"), ADMIN, PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let v: Value = r.json().await.unwrap();
    assert!(v.to_string().contains("too many login attempts"), "{v}");
    // /rest: 429 in its own shape.
    let r = ts
        .post_basic(ts.api("/rest/com/vmware/cis/session"), ADMIN, PASSWORD)
        .await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    // JSON-RPC: inside HTTP 200, an error naming the limit.
    let r = ts
        .client
        .post(ts.api("/api"))
        .json(
            &json!({"jsonrpc": "2.0", "id": "1", "method": "invoke", "params": {
            "serviceId": "com.vmware.cis.session", "operationId": "create",
            "ctx": {"securityCtx": {"schemeId": "com.vmware.vapi.std.security.user_pass",
                "userName": ADMIN, "password": PASSWORD}},
            "input": {"STRUCTURE": {"operation-input": {}}}}}),
        )
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(v.to_string().contains("too many login attempts"), "{v}");
    // vim Login: 429 with Retry-After and a fault naming the limit.
    let r = ts
        .client
        .post(ts.api("/sdk/vim25/8.0.3.0/SessionManager/SessionManager/Login"))
        .json(&json!({"userName": ADMIN, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let v: Value = r.json().await.unwrap();
    assert!(v.to_string().contains("too many login attempts"), "{v}");
    // ZStack LogInByAccount: 429 with Retry-After and its error shape.
    let r = ts
        .client
        .put(ts.api("/zstack/v1/accounts/login"))
        .json(
            &json!({"logInByAccount": {"accountName": "admin", "password": digest_hex(PASSWORD)}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let v: Value = r.json().await.unwrap();
    assert!(v.to_string().contains("too many login attempts"), "{v}");
    // Another address is not affected.
    let r = client_from(Ipv4Addr::new(127, 0, 0, 4))
        .post(ts.api("/api/session"))
        .basic_auth(ADMIN, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    ts.stop().await;
}

async fn zstack_login(ts: &TestServer) -> String {
    let (s, v) = ZsClient::login(&ts.client, &ts.api(""), "admin", PASSWORD).await;
    assert_eq!(s, 200, "{v}");
    v["inventory"]["uuid"].as_str().unwrap().to_string()
}

async fn zstack_valid(ts: &TestServer, token: &str) -> bool {
    let r = ts
        .client
        .get(ts.api(&format!("/zstack/v1/accounts/sessions/{token}/valid")))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["valid"].as_bool().unwrap()
}

async fn vapi_status(ts: &TestServer, base: &str, token: &str) -> u16 {
    ts.client
        .get(format!("{base}/api/session"))
        .header("vmware-api-session-id", token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn vim_user(ts: &TestServer, token: &str) -> Value {
    let (_, v) = vim::call(
        ts,
        Some(token),
        Method::GET,
        "SessionManager/SessionManager/currentSession",
        None,
    )
    .await;
    v["userName"].clone()
}

/// Item 6: a ZStack token is refused on vAPI and vim, a vAPI/vim token on ZStack.
#[tokio::test]
async fn zstack_and_vsphere_tokens_are_not_interchangeable() {
    let ts = TestServer::start().await;
    let zs = zstack_login(&ts).await;
    assert_eq!(vapi_status(&ts, &ts.api(""), &zs).await, 401);
    assert!(vim_user(&ts, &zs).await.is_null());
    let vs = ts.login(ADMIN).await;
    assert!(!vim_user(&ts, &vs).await.is_null(), "vAPI and vim share");
    assert!(!zstack_valid(&ts, &vs).await);
    let c = ZsClient {
        client: ts.client.clone(),
        base: ts.api(""),
        session: vs.clone(),
    };
    let (s, v) = c.get("/zstack/v1/zones").await;
    assert_eq!(s, 503, "{v}");
    assert_eq!(zstack::code(&v), "ID.1001");
    // A ZStack LogOut of a vSphere token does not end it.
    c.call(
        Method::DELETE,
        &format!("/zstack/v1/accounts/sessions/{vs}"),
        None,
        None,
    )
    .await;
    assert_eq!(vapi_status(&ts, &ts.api(""), &vs).await, 200);
    ts.stop().await;
}

/// Item 6: ZStack sessions end at the idle timeout and at the absolute lifetime, and
/// RenewSession works only on ZStack sessions and never past the absolute limit.
#[tokio::test]
async fn zstack_sessions_obey_idle_and_absolute_limits_and_renew_is_capped() {
    let ts = TestServer::start_with(|a| {
        a.session_idle_timeout_secs = Some("2".into());
        a.session_max_lifetime_secs = Some("4".into());
    })
    .await;
    // Idle.
    let zs = zstack_login(&ts).await;
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert!(!zstack_valid(&ts, &zs).await, "idle past the idle timeout");
    // Absolute: used every half second, it still ends at the lifetime.
    let zs = zstack_login(&ts).await;
    let start = Instant::now();
    while zstack_valid(&ts, &zs).await {
        assert!(start.elapsed() < Duration::from_secs(8), "never ended");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        start.elapsed() >= Duration::from_millis(3000),
        "ended too early"
    );

    // RenewSession of a vAPI token is refused; renewing a ZStack session stops at the limit.
    let zs = zstack_login(&ts).await;
    let c = ZsClient {
        client: ts.client.clone(),
        base: ts.api(""),
        session: zs.clone(),
    };
    let vs = ts.login(ADMIN).await;
    let renew = json!({"renewSession": {"duration": 31_536_000}});
    let (s, v) = c
        .sdk(
            Method::PUT,
            &format!("/zstack/v1/accounts/sessions/{vs}/renew"),
            Some(renew.clone()),
        )
        .await;
    assert_eq!(s, 503, "renewing a vAPI token is refused: {v}");
    let (s, v) = c
        .sdk(
            Method::PUT,
            &format!("/zstack/v1/accounts/sessions/{zs}/renew"),
            Some(renew),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let start = Instant::now();
    while zstack_valid(&ts, &zs).await {
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "renewed past the limit"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    ts.stop().await;
}

/// Item 7: a session works only on the listener that made it.
#[tokio::test]
async fn sessions_work_only_on_the_listener_that_made_them() {
    let ts = TestServer::start().await;
    let r = ts
        .post_basic(ts.appliance("/api/session"), "root", PASSWORD)
        .await;
    assert_eq!(r.status(), 201);
    let root: String = r.json().await.unwrap();
    assert_eq!(vapi_status(&ts, &ts.appliance(""), &root).await, 200);
    assert_eq!(vapi_status(&ts, &ts.api(""), &root).await, 401);
    assert!(vim_user(&ts, &root).await.is_null());
    let admin = ts.login(ADMIN).await;
    assert_eq!(vapi_status(&ts, &ts.api(""), &admin).await, 200);
    assert_eq!(vapi_status(&ts, &ts.appliance(""), &admin).await, 401);
    ts.stop().await;
}

async fn login_from(ts: &TestServer, ip: Ipv4Addr, password: &str) -> u16 {
    client_from(ip)
        .post(ts.api("/api/session"))
        .basic_auth(ADMIN, Some(password))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Item 10: failures from one address lock the account for that address only; the delay
/// doubles per failure; the appliance's root can unlock.
#[tokio::test]
async fn lockout_is_per_source_backs_off_and_root_can_unlock() {
    let ts = TestServer::start().await;
    let attacker = Ipv4Addr::new(127, 0, 0, 7);
    let admin_box = Ipv4Addr::new(127, 0, 0, 8);
    // Backoff: a first failure is free; right after a second one even the right password
    // waits out the delay.
    assert_eq!(login_from(&ts, attacker, "Wrong-Pass-1").await, 401);
    assert_eq!(login_from(&ts, attacker, "Wrong-Pass-1").await, 401);
    assert_eq!(
        login_from(&ts, attacker, PASSWORD).await,
        401,
        "inside the backoff delay"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        login_from(&ts, attacker, PASSWORD).await,
        201,
        "after the delay"
    );
    // Five failures lock the account for the attacker's address (15 minutes by default) …
    for _ in 0..5 {
        assert_eq!(login_from(&ts, attacker, "Wrong-Pass-1").await, 401);
    }
    assert_eq!(
        login_from(&ts, attacker, PASSWORD).await,
        401,
        "locked from there"
    );
    // … but not for the administrator at another address.
    assert_eq!(login_from(&ts, admin_box, PASSWORD).await, 201);
    // The appliance's root unlocks the account, naming it.
    let r = ts
        .post_basic(ts.appliance("/api/session"), "root", PASSWORD)
        .await;
    let root: String = r.json().await.unwrap();
    let r = ts
        .client
        .post(ts.appliance("/api/ferrocenter/accounts/unlock"))
        .header("vmware-api-session-id", &root)
        .json(&json!({"user": ADMIN}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    assert_eq!(login_from(&ts, attacker, PASSWORD).await, 201, "unlocked");
    // A missing or malformed account name is refused, naming `user`.
    for bad in [json!({}), json!({"user": ""}), json!({"user": 7})] {
        let r = ts
            .client
            .post(ts.appliance("/api/ferrocenter/accounts/unlock"))
            .header("vmware-api-session-id", &root)
            .json(&bad)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("user"), "{bad}: {body}");
    }
    // The administrator cannot call the unlock on the main listener.
    let admin = ts.login(ADMIN).await;
    let r = ts
        .client
        .post(ts.api("/api/ferrocenter/accounts/unlock"))
        .header("vmware-api-session-id", &admin)
        .json(&json!({"user": ADMIN}))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 204);
    ts.stop().await;
}

/// Item 10: a locked account's answer pays the same password verification as any other, so
/// timing does not reveal the lock. The figures (median answer times) are printed; the
/// assertion is on the work done: one verification per attempt, locked or not.
#[tokio::test]
async fn locked_answers_pay_the_same_hash_work_as_wrong_ones() {
    let ts = TestServer::start().await;
    let (core, _) = ts.core_admin().await;
    let attacker = Ipv4Addr::new(127, 0, 0, 9);
    let timed = |v: &mut Vec<Duration>, t: Instant| v.push(t.elapsed());
    let mut wrong = vec![];
    for _ in 0..5 {
        let t = Instant::now();
        assert_eq!(login_from(&ts, attacker, "Wrong-Pass-1").await, 401);
        timed(&mut wrong, t);
    }
    let before = core.auth.verifications();
    let mut locked = vec![];
    for _ in 0..5 {
        let t = Instant::now();
        assert_eq!(login_from(&ts, attacker, PASSWORD).await, 401);
        timed(&mut locked, t);
    }
    assert_eq!(
        core.auth.verifications() - before,
        5,
        "every locked attempt ran one password verification"
    );
    wrong.sort();
    locked.sort();
    println!(
        "median answer: wrong password {:?}, locked account {:?}",
        wrong[2], locked[2]
    );
    ts.stop().await;
}

/// Item 9: the agent's login is throttled per address with the server's limiter: 30 wrong
/// root passwords, then the right one, from one address: refused with 429 and Retry-After;
/// the right password from another address still works.
#[tokio::test]
async fn agent_root_login_is_throttled_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("agent").to_string_lossy().into_owned();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut p = spawn_ferrocenter(
        &[
            "agent",
            "--listen",
            &listen,
            "--data-dir",
            &data,
            "--root-password",
            ROOT_PW,
        ],
        &dir.path().join("out"),
    );
    p.wait_stdout("thumbprint", Duration::from_secs(30));
    let url = format!("https://{listen}/api/v1/session");
    let login = |c: reqwest::Client, pw: &'static str| {
        let url = url.clone();
        async move {
            let r = c
                .post(url)
                .json(&json!({"user": "root", "password": pw}))
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.headers().get("retry-after").is_some(),
            )
        }
    };
    let attacker = client_from(Ipv4Addr::new(127, 0, 0, 1));
    let (mut refused, mut throttled) = (0, 0);
    for _ in 0..30 {
        match login(attacker.clone(), "Wrong-Pass-1").await {
            (401, _) => refused += 1,
            (429, true) => throttled += 1,
            other => panic!("a wrong password answered {other:?}"),
        }
    }
    let (last, retry_after) = login(attacker, ROOT_PW).await;
    println!("agent: 30 wrong root logins: {refused} answered 401, {throttled} answered 429; then the right one: {last}");
    assert!(throttled > 0, "wrong logins past the budget answer 429");
    assert_eq!(
        (last, retry_after),
        (429, true),
        "the right password too, until the wait passes"
    );
    let (other, _) = login(client_from(Ipv4Addr::new(127, 0, 0, 2)), ROOT_PW).await;
    assert_eq!(other, 200, "another address is not affected");
}
