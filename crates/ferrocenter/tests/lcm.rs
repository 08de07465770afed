//! Update planning (`com.vmware.vcenter.lcm`, seeds/003 chapter 8) against a real server
//! managing a simulated fleet: every curl line of the chapter replayed with curl (over /api, and
//! /rest on 5480 for the task monitor), the official Python SDK (tests/vapi_sdk/lcm.py) driving
//! the catalog, associated products, an interoperability report task and its CSV download, and
//! (tests/vapi_sdk/lcm_update.py) the pending updates of a signed repository the appliance
//! update service checked and a pre-update report; the download URL expiring; bad input naming
//! its field; a read-only role refused changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::sdk::{run_sdk_script, sdk_python};
use common::update_repo::{build, keygen, small_binary, Key};
use common::*;
use ferrocenter_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The version the test repositories offer: newer than this one, in the same major line.
const NEXT: &str = "0.2.0";
const KB: &str = "https://docs.ferrocenter.invalid/releases/0.2.0";

/// A server managing `fleet`'s hosts (libvirt 9.0.0, QEMU 7.2.0 and this agent on each).
async fn server_with_hosts(fleet: &ferrocenter_agent::simulate::Fleet) -> TestServer {
    let ts = TestServer::start().await;
    add_fleet_to_dc0(&ts, fleet).await;
    ts
}

/// A repository offering ferrocenter [`NEXT`], signed by a new key, made by the real
/// `update-repo` commands from a small stand-in binary.
fn next_release(dir: &Path) -> (Key, PathBuf) {
    let key = keygen(dir, "release.key");
    let binary = small_binary(dir);
    let repo = build(
        dir,
        &key,
        &binary,
        NEXT,
        &[
            "--severity",
            "IMPORTANT",
            "--update-type",
            "FIX",
            "--build",
            "b4217",
            "--description",
            "Fixes, and the hosts reconnect faster",
            "--kb-url",
            KB,
        ],
    );
    (key, repo)
}

/// A server trusting `key` whose LOCAL update source is `repo`.
async fn server_with_updates(key: &Key, repo: &Path) -> TestServer {
    let public = key.public.clone();
    let local = repo.to_string_lossy().into_owned();
    TestServer::start_with(move |a| {
        a.update_trusted_keys = Some(vec![public]);
        a.update_local_source = Some(local);
    })
    .await
}

/// The summary of [`NEXT`] as `pending.list` and `get` answer it from the request's `base`.
fn assert_next(u: &Value, base: &str) {
    assert_eq!(u["pending_update"], NEXT, "{u}");
    assert_eq!(u["version"], NEXT, "{u}");
    assert_eq!(u["build"], "b4217", "{u}");
    assert_eq!(u["severity"], "IMPORTANT", "{u}");
    // 0.1.0 → 0.2.0 is an update, not a patch or an upgrade; the manifest's type is its
    // category.
    assert_eq!(u["update_type"], "UPDATE", "{u}");
    assert_eq!(u["category"], "FIX", "{u}");
    assert_eq!(u["reboot_required"], false, "{u}");
    assert_eq!(
        u["execute_URL"],
        format!("{base}/api/appliance/update/pending/{NEXT}"),
        "{u}"
    );
    assert_eq!(u["release_notes"], json!([KB]), "{u}");
    assert!(u["release_date"].as_str().unwrap().ends_with('Z'), "{u}");
}

/// `curl -k -u USER:PASSWORD` as the seed writes it: (status, body). Run without blocking:
/// the server answering it is in this process, on this runtime.
async fn curl(method: &str, url: &str, body: Option<&str>) -> (u16, String) {
    let mut c = tokio::process::Command::new("curl");
    c.args(["-sk", "-X", method, "-w", "\n%{http_code}", url])
        .args(["-u", &format!("{ADMIN}:{PASSWORD}")]);
    if let Some(b) = body {
        c.args(["-H", "Content-Type: application/json", "-d", b]);
    }
    let out = c.output().await.unwrap();
    assert!(out.status.success(), "curl {method} {url}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_string())
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

fn message(v: &Value) -> String {
    v["messages"][0]["default_message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn wait_done(ts: &TestServer, token: &str, id: &str) -> Value {
    let t = wait_task(ts, token, id, Duration::from_secs(60)).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    t
}

/// The guide's "Monitor the Pre-Check Task" line, `GET :5480/rest/cis/tasks/<task>`, once the
/// task is done: its info, which must say it succeeded.
async fn monitor(ts: &TestServer, token: &str, task: &str) -> Value {
    wait_done(ts, token, task).await;
    let (code, body) = curl(
        "GET",
        &ts.appliance(&format!("/rest/cis/tasks/{task}")),
        None,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let info = json_of(&body);
    assert_eq!(info["value"]["status"], "SUCCEEDED", "{info}");
    info["value"].clone()
}

#[tokio::test]
async fn the_seeds_curl_lines_plan_updates() {
    let fleet = sim_fleet(2, 0, 23, 41).await;
    let work = tempfile::tempdir().unwrap();
    let (key, repo) = next_release(work.path());
    let ts = server_with_updates(&key, &repo).await;
    add_fleet_to_dc0(&ts, &fleet).await;
    let api = |p: &str| ts.api(&format!("/api/vcenter/lcm{p}"));

    // Example: List Product Catalog.
    let (code, body) = curl("GET", &api("/discovery/product-catalog"), None).await;
    assert_eq!(code, 200, "{body}");
    let catalog = json_of(&body);
    let names: Vec<&str> = catalog
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for n in [
        "ferrocenter agent",
        "PostgreSQL",
        "libvirt",
        "QEMU",
        "vSphere Automation SDK for Python",
        "pyVmomi",
        "vim_rs",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    assert!(!names.contains(&"ferrocenter server"));

    // Example: List Products Registered with vCenter Server: discovered from the hosts.
    let (code, body) = curl("GET", &api("/discovery/associated-products"), None).await;
    assert_eq!(code, 200, "{body}");
    let listed = json_of(&body);
    let find = |id: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["installed_product"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} in {listed}"))
    };
    let mut host_names: Vec<String> = fleet
        .manifest
        .hosts
        .iter()
        .map(|h| h.address.clone())
        .collect();
    host_names.sort();
    let libvirt = find("org.libvirt-9.0.0");
    assert_eq!(libvirt["auto"], true);
    assert_eq!(libvirt["name"], "libvirt");
    assert_eq!(libvirt["deployments"], json!(host_names));
    assert_eq!(find("org.qemu-7.2.0")["version"], "7.2.0");
    assert_eq!(
        find(&format!("io.ferrocenter.agent-{VERSION}"))["deployments"],
        json!(host_names)
    );

    // Example: Add a New Product — the seed's product is not in ferrocenter's catalog; the
    // field is named by its SDK name.
    let (code, body) = curl(
        "POST",
        &api("/discovery/associated-products"),
        Some(r#"{"name" :"vRealize Automation", "version": "6.8.9"}"#),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    let e = json_of(&body);
    assert_eq!(e["error_type"], "INVALID_ARGUMENT");
    assert!(message(&e).contains("spec.product_name"), "{e}");
    // The same shape with a product of the catalog.
    let (code, body) = curl(
        "POST",
        &api("/discovery/associated-products"),
        Some(r#"{"name" :"PostgreSQL", "version": "16.4"}"#),
    )
    .await;
    assert_eq!(code / 100, 2, "{body}");
    assert_eq!(json_of(&body), "org.postgresql-16.4");

    // Example: Get Product Details, at the guide's path.
    let (code, body) = curl(
        "GET",
        &api("/discovery/products/com.vmware.vRA-6.8.9"),
        None,
    )
    .await;
    assert_eq!(code, 404, "{body}");
    assert_eq!(json_of(&body)["error_type"], "NOT_FOUND");
    let (code, body) = curl("GET", &api("/discovery/products/org.postgresql-16.4"), None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(json_of(&body)["auto"], false);

    // Example: Modify a Product, with the guide's {"spec": …} wrapper.
    let (code, body) = curl(
        "PATCH",
        &api("/discovery/associated-products/com.vmware.vRealOrche_7.3.1"),
        Some(r#"{"spec":{"deployments": ["192.0.2.10"]}}"#),
    )
    .await;
    assert_eq!(code, 404, "{body}");
    let (code, body) = curl(
        "PATCH",
        &api("/discovery/associated-products/org.postgresql-16.4"),
        Some(r#"{"spec":{"deployments": ["192.0.2.10"]}}"#),
    )
    .await;
    assert_eq!(code / 100, 2, "{body}");
    let (_, body) = curl(
        "GET",
        &api("/discovery/associated-products/org.postgresql-16.4"),
        None,
    )
    .await;
    assert_eq!(json_of(&body)["deployments"], json!(["192.0.2.10"]));
    // A discovered product cannot be changed.
    let (code, body) = curl(
        "PATCH",
        &api("/discovery/associated-products/org.libvirt-9.0.0"),
        Some(r#"{"spec":{"deployments": []}}"#),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    assert!(message(&json_of(&body)).contains("'product'"), "{body}");

    // Example: Create an Interoperability Report, against the seed's version (no matrix) and
    // this one.
    let (code, body) = curl(
        "POST",
        &api("/discovery/interop-report?vmw-task=true"),
        Some(r#"{"spec":{"target_version":"6.7.0.2000"}}"#),
    )
    .await;
    assert_eq!(code, 202, "{body}");
    let task = json_of(&body).as_str().unwrap().to_string();
    assert!(
        task.ends_with(":com.vmware.vcenter.lcm.discovery.interop_report"),
        "{task}"
    );
    let token = ts.login(ADMIN).await;
    let t = wait_done(&ts, &token, &task).await;
    let report = &t["result"]["report"];
    assert_eq!(report["target_product"]["target_version"], "6.7.0.2000");
    assert_eq!(report["summary"]["compatible_count"], 0);
    assert!(!report["issues"]["errors"].as_array().unwrap().is_empty());

    let (code, body) = curl(
        "POST",
        &api("/discovery/interop-report?vmw-task=true"),
        Some(&format!(r#"{{"spec":{{"target_version":"{VERSION}"}}}}"#)),
    )
    .await;
    assert_eq!(code, 202, "{body}");
    let task = json_of(&body).as_str().unwrap().to_string();

    // Example: Monitor the Pre-Check Task — the guide's task on 5480 over /rest is not known
    // here; the report's task is.
    let (code, body) = curl(
        "GET",
        &ts.appliance("/rest/cis/tasks/3f77223f-1edb-4992-9c48-2d75d7b3b91d:com.vmware.vcenter.lcm.update.precheck_report"),
        None,
    ).await;
    assert_eq!(code, 404, "{body}");
    let info = monitor(&ts, &token, &task).await;
    let result = &info["result"];
    assert_eq!(
        result["report"]["summary"]["incompatible_count"], 0,
        "{result}"
    );
    // libvirt, QEMU and the agent from the hosts, and PostgreSQL 16.4 by hand: all work with
    // this version.
    assert_eq!(
        result["report"]["summary"]["compatible_count"], 4,
        "{result}"
    );
    let csv_id = result["csv_report"].as_str().unwrap().to_string();

    // Example: Get Report — the seed's report does not exist; this one does.
    let (code, body) = curl("GET", &api("/reports/abcd123_report.csv"), None).await;
    assert_eq!(code, 404, "{body}");
    let (code, body) = curl("GET", &api(&format!("/reports/{csv_id}")), None).await;
    assert_eq!(code, 200, "{body}");
    let location = json_of(&body);
    let uri = location["uri"].as_str().unwrap();
    assert!(uri.contains("/lcm/reports/download/"), "{uri}");
    let (code, csv) = curl("GET", uri, None).await;
    assert_eq!(code, 200);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "product,version,installed_product,auto,deployments,target_product,target_version,compatible,compatible_releases"
    );
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(
        lines.contains(
            &format!(
                "libvirt,9.0.0,org.libvirt-9.0.0,true,{},ferrocenter server,{VERSION},true,9;10;11",
                host_names.join(";")
            )
            .as_str()
        ),
        "{csv}"
    );
    assert!(lines.contains(&format!(
        "PostgreSQL,16.4,org.postgresql-16.4,false,192.0.2.10,ferrocenter server,{VERSION},true,14;15;16;17"
    ).as_str()), "{csv}");

    // Example: Delete a Product, at the guide's path.
    let (code, _) = curl(
        "DELETE",
        &api("/discovery/products/com.vmware.vRA-6.8.9"),
        None,
    )
    .await;
    assert_eq!(code, 404);
    let (code, body) = curl(
        "DELETE",
        &api("/discovery/products/org.postgresql-16.4"),
        None,
    )
    .await;
    assert_eq!(code / 100, 2, "{body}");
    let (code, _) = curl(
        "GET",
        &api("/discovery/associated-products/org.postgresql-16.4"),
        None,
    )
    .await;
    assert_eq!(code, 404);
    let (code, body) = curl(
        "DELETE",
        &api("/discovery/associated-products/org.qemu-7.2.0"),
        None,
    )
    .await;
    assert_eq!(code, 400, "{body}");

    // Example: List Available Updates — nobody checked for updates yet: the list checks the
    // configured source (the repository offering NEXT) and shows what it found.
    let (code, body) = curl("GET", &api("/update/pending"), None).await;
    assert_eq!(code, 200, "{body}");
    let list = json_of(&body);
    assert_eq!(list["update_count"], 1, "{list}");
    assert_eq!(list["upgrade_count"], 0, "{list}");
    assert_eq!(list["updates"].as_array().unwrap().len(), 1, "{list}");
    assert_next(&list["updates"][0], &ts.api(""));
    assert!(list.get("issues").is_none(), "{list}");
    // The appliance update service made that check: it is its last one.
    let (_, update) = ts
        .call_json(Method::GET, "/api/appliance/update", &token, None)
        .await;
    assert_eq!(update["state"], "UPDATES_PENDING", "{update}");
    assert_eq!(
        list["last_check_time"], update["latest_query_time"],
        "{update}"
    );

    // Example: Get Update Details — the seed's version is not pending here; NEXT is.
    let (code, body) = curl("GET", &api("/update/pending/7.0.0.20000"), None).await;
    assert_eq!(code, 404, "{body}");
    let e = json_of(&body);
    assert_eq!(e["error_type"], "NOT_FOUND", "{e}");
    assert!(message(&e).contains("7.0.0.20000"), "{e}");
    let (code, body) = curl("GET", &api(&format!("/update/pending/{NEXT}")), None).await;
    assert_eq!(code, 200, "{body}");
    let info = json_of(&body);
    assert_next(&info, &ts.api(""));
    assert_eq!(info["description"], "Fixes, and the hosts reconnect faster");

    // Example: Run Update Pre-Checks, as written, then for NEXT.
    let (code, body) = curl(
        "POST",
        &api("/update/pending/7.0.0.50000/precheck-report?vmw-task=true"),
        None,
    )
    .await;
    assert_eq!(code, 404, "{body}");
    assert!(message(&json_of(&body)).contains("7.0.0.50000"), "{body}");
    let (code, body) = curl(
        "POST",
        &api(&format!(
            "/update/pending/{NEXT}/precheck-report?vmw-task=true"
        )),
        None,
    )
    .await;
    assert_eq!(code, 202, "{body}");
    let task = json_of(&body).as_str().unwrap().to_string();
    assert!(
        task.ends_with(":com.vmware.vcenter.lcm.update.precheck_report"),
        "{task}"
    );

    // Example: Monitor the Pre-Check Task, on 5480 over /rest.
    let info = monitor(&ts, &token, &task).await;
    let result = &info["result"];
    let report = &result["report"];
    // Nothing stops the update; the backup advice and the catalog's want of a matrix for NEXT
    // are warnings; the restart and the download are said.
    assert_eq!(report["summary"]["error_count"], 0, "{report}");
    assert_eq!(report["summary"]["warning_count"], 2, "{report}");
    assert_eq!(report["estimated_time_to_update"], 2, "{report}");
    let ids = |list: &str| -> Vec<String> {
        report["issues"][list]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|n| n["id"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(
        ids("warnings").contains(&"com.ferrocenter.lcm.interop.no_matrix".to_string()),
        "{report}"
    );
    assert!(
        ids("warnings").contains(&"com.ferrocenter.appliance.update.backup".to_string()),
        "{report}"
    );
    assert!(
        ids("info").contains(&"com.ferrocenter.lcm.precheck.restart".to_string()),
        "{report}"
    );
    assert!(
        ids("info").contains(&"com.ferrocenter.lcm.precheck.not_staged".to_string()),
        "{report}"
    );
    let csv_id = result["csv_report"].as_str().unwrap().to_string();
    assert!(csv_id.ends_with("_precheck_report.csv"), "{csv_id}");

    // Example: Get Report, of the pre-update report: its issues, then the products.
    let (code, body) = curl("GET", &api(&format!("/reports/{csv_id}")), None).await;
    assert_eq!(code, 200, "{body}");
    let uri = json_of(&body)["uri"].as_str().unwrap().to_string();
    let (code, csv) = curl("GET", &uri, None).await;
    assert_eq!(code, 200);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "section,severity,id,message,product,version,installed_product,deployments,target_version,compatibility,compatible_releases"
    );
    // 2 warnings, 2 info, 3 products (libvirt, QEMU and the agent of the hosts).
    assert_eq!(lines.len(), 8, "{csv}");
    assert!(
        lines[1].starts_with("issue,warning,com.ferrocenter.appliance.update.backup,"),
        "{csv}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with(
            "issue,warning,com.ferrocenter.lcm.interop.no_matrix,The product catalog has no interoperability matrix for ferrocenter 0.2.0"
        )),
        "{csv}"
    );
    assert!(
        lines.contains(
            &format!(
                "product,,,,libvirt,9.0.0,org.libvirt-9.0.0,{},{NEXT},unknown,",
                host_names.join(";")
            )
            .as_str()
        ),
        "{csv}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "product,,,,ferrocenter agent,{VERSION},io.ferrocenter.agent-{VERSION},"
        ))),
        "{csv}"
    );
    ts.stop().await;
}

#[tokio::test]
async fn report_urls_expire_and_only_ten_reports_are_kept() {
    let ts = TestServer::start_with(|a| a.lcm_report_url_lifetime_secs = Some("1".into())).await;
    let token = ts.login(ADMIN).await;
    let mut ids = Vec::new();
    for _ in 0..11 {
        let (code, task) = ts
            .call_json(
                Method::POST,
                "/api/vcenter/lcm/discovery/interop-report?vmw-task=true",
                &token,
                None,
            )
            .await;
        assert_eq!(code, 202, "{task}");
        let t = wait_done(&ts, &token, task.as_str().unwrap()).await;
        let r = &t["result"];
        // No host and nothing added: an empty report that says so.
        assert_eq!(r["report"]["products"], json!([]));
        assert_eq!(r["report"]["target_product"]["target_version"], VERSION);
        assert!(!r["report"]["issues"]["info"].as_array().unwrap().is_empty());
        ids.push(r["csv_report"].as_str().unwrap().to_string());
    }
    // The oldest was pushed out by the eleventh.
    let (code, e) = ts
        .call_json(
            Method::GET,
            &format!("/api/vcenter/lcm/reports/{}", ids[0]),
            &token,
            None,
        )
        .await;
    assert_eq!(code, 404, "{e}");
    let (code, loc) = ts
        .call_json(
            Method::GET,
            &format!("/api/vcenter/lcm/reports/{}", ids[10]),
            &token,
            None,
        )
        .await;
    assert_eq!(code, 200, "{loc}");
    let uri = loc["uri"].as_str().unwrap().to_string();
    let tok = loc["download_file_token"]["token"].as_str().unwrap();
    assert!(uri.ends_with(tok));
    // The store keeps only the token's hash.
    let (core, _) = ts.core_admin().await;
    let kept = core
        .store
        .get_setting("lcm.reports")
        .await
        .unwrap()
        .unwrap();
    assert!(!kept.contains(tok));
    let r = ts.client.get(&uri).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(r.text().await.unwrap().starts_with("product,version,"));
    // Usable until it expires, then gone; so is any token never handed out.
    let again = ts.client.get(&uri).send().await.unwrap();
    assert_eq!(again.status(), 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(ts.client.get(&uri).send().await.unwrap().status(), 404);
    let forged = ts.api(&format!("/lcm/reports/download/{}", "0".repeat(64)));
    assert_eq!(ts.client.get(&forged).send().await.unwrap().status(), 404);
    let junk = ts.api("/lcm/reports/download/not-a-token");
    assert_eq!(ts.client.get(&junk).send().await.unwrap().status(), 404);
    // A new location works again.
    let (_, loc) = ts
        .call_json(
            Method::GET,
            &format!("/api/vcenter/lcm/reports/{}", ids[10]),
            &token,
            None,
        )
        .await;
    let uri = loc["uri"].as_str().unwrap();
    assert_eq!(ts.client.get(uri).send().await.unwrap().status(), 200);
    ts.stop().await;
}

#[tokio::test]
async fn bad_input_names_its_field_and_operators_only_read() {
    let ts = TestServer::start().await;
    let admin = ts.login(ADMIN).await;
    let operator = ts.user("planner", Role::Operator).await;
    let operator = ts.login(&operator).await;
    const PRODUCTS: &str = "/api/vcenter/lcm/discovery/associated-products";
    let create = |spec: Value| json!({ "product_name": spec["p"], "version": spec["v"], "deployments": spec["d"] });
    for (spec, field) in [
        (json!({"p": "Oracle", "v": "19"}), "spec.product_name"),
        (
            json!({"p": "ferrocenter server", "v": VERSION}),
            "spec.product_name",
        ),
        (json!({"p": "PostgreSQL", "v": "12.1"}), "spec.version"),
        (json!({"p": "PostgreSQL", "v": "16 beta"}), "spec.version"),
        (
            json!({"p": "PostgreSQL", "v": "16", "d": ["ok.lab", "bad host!"]}),
            "spec.deployments[1]",
        ),
        (
            json!({"p": "PostgreSQL", "v": "16", "d": ["a.lab", "A.lab"]}),
            "spec.deployments[1]",
        ),
    ] {
        let mut body = create(spec.clone());
        if spec.get("d").is_none() {
            body.as_object_mut().unwrap().remove("deployments");
        }
        let (code, e) = ts
            .call_json(Method::POST, PRODUCTS, &admin, Some(body))
            .await;
        assert_eq!(code, 400, "{spec}: {e}");
        assert_eq!(e["error_type"], "INVALID_ARGUMENT", "{e}");
        assert!(message(&e).contains(field), "{spec}: {e}");
    }
    // Nothing was kept.
    let (_, listed) = ts.call_json(Method::GET, PRODUCTS, &admin, None).await;
    assert_eq!(listed, json!([]));

    let good = json!({"product_name": "vim_rs", "version": "0.7.2"});
    // A read-only role reads, but is refused every change.
    let (code, _) = ts
        .call_json(Method::POST, PRODUCTS, &operator, Some(good.clone()))
        .await;
    assert_eq!(code, 403);
    let (code, id) = ts
        .call_json(Method::POST, PRODUCTS, &admin, Some(good.clone()))
        .await;
    assert_eq!(code, 200, "{id}");
    let (code, e) = ts
        .call_json(Method::POST, PRODUCTS, &admin, Some(good))
        .await;
    assert_eq!(
        (code, e["error_type"].as_str()),
        (400, Some("ALREADY_EXISTS"))
    );
    let path = format!("{PRODUCTS}/{}", id.as_str().unwrap());
    let (code, got) = ts.call_json(Method::GET, &path, &operator, None).await;
    assert_eq!(code, 200);
    assert_eq!(got["version"], "0.7.2");
    let (code, _) = ts
        .call_json(
            Method::PATCH,
            &path,
            &operator,
            Some(json!({"deployments": []})),
        )
        .await;
    assert_eq!(code, 403);
    let (code, _) = ts.call_json(Method::DELETE, &path, &operator, None).await;
    assert_eq!(code, 403);
    let (code, e) = ts
        .call_json(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"deployments": ["not a host"]})),
        )
        .await;
    assert_eq!(code, 400);
    assert!(message(&e).contains("spec.deployments[0]"), "{e}");
    let (code, e) = ts
        .call_json(
            Method::POST,
            "/api/vcenter/lcm/discovery/interop-report?vmw-task=true",
            &admin,
            Some(json!({"target_version": ""})),
        )
        .await;
    assert_eq!(code, 400, "{e}");
    assert!(message(&e).contains("spec.target_version"), "{e}");
    // A `vmw-task` that is neither true nor false is named.
    let (code, e) = ts
        .call_json(
            Method::POST,
            "/api/vcenter/lcm/discovery/interop-report?vmw-task=yes",
            &admin,
            None,
        )
        .await;
    assert_eq!(code, 400, "{e}");
    assert_eq!(e["error_type"], "INVALID_ARGUMENT");
    assert!(message(&e).contains("vmw-task"), "{e}");
    // Operators may make reports and fetch them.
    let (code, task) = ts
        .call_json(
            Method::POST,
            "/api/vcenter/lcm/discovery/interop-report?vmw-task=true",
            &operator,
            None,
        )
        .await;
    assert_eq!(code, 202);
    let t = wait_done(&ts, &operator, task.as_str().unwrap()).await;
    let csv = t["result"]["csv_report"].as_str().unwrap();
    let (code, _) = ts
        .call_json(
            Method::GET,
            &format!("/api/vcenter/lcm/reports/{csv}"),
            &operator,
            None,
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = ts.call_json(Method::DELETE, &path, &admin, None).await;
    assert_eq!(code, 204);
    ts.stop().await;
}

#[tokio::test]
async fn the_official_python_sdk_plans_an_update() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let fleet = sim_fleet(2, 0, 24, 43).await;
    let ts = server_with_hosts(&fleet).await;
    let server = ts.api("").trim_start_matches("https://").to_string();
    let v = run_sdk_script(&python, "lcm.py", &[&server, ADMIN, PASSWORD, VERSION]).await;
    assert_eq!(
        v["catalog"]["PostgreSQL"],
        json!(["13", "14", "15", "16", "17"])
    );
    assert_eq!(v["catalog"]["pyVmomi"], json!(["8.0.3.0", "9.1.1.0"]));
    let before: Vec<&str> = v["before"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(before.contains(&"org.libvirt-9.0.0"), "{before:?}");
    assert!(before.contains(&"org.qemu-7.2.0"), "{before:?}");
    assert_eq!(v["added"], "org.postgresql-16.4");
    assert_eq!(v["again"][0], "AlreadyExists");
    assert_eq!(v["unknown_product"][0], "InvalidArgument");
    assert!(v["unknown_product"][1]
        .as_str()
        .unwrap()
        .contains("spec.product_name"));
    assert_eq!(v["got"]["deployments"], json!(["db1.lab"]));
    assert_eq!(v["updated"]["deployments"], json!(["db1.lab", "db2.lab"]));
    assert_eq!(v["delete_auto"][0], "InvalidArgument");
    assert_eq!(v["task_status"], "SUCCEEDED");
    assert!(v["task_id"]
        .as_str()
        .unwrap()
        .ends_with(":com.vmware.vcenter.lcm.discovery.interop_report"));
    let rows = &v["report"]["rows"];
    assert_eq!(rows["org.libvirt-8.0.0"], json!([false, ["9", "10", "11"]]));
    assert_eq!(rows["org.libvirt-9.0.0"][0], true);
    assert_eq!(rows["org.postgresql-16.4"][0], true);
    assert_eq!(v["report"]["incompatible"], 1);
    assert_eq!(v["report"]["compatible"], 4);
    assert_eq!(v["report"]["warnings"], 1);
    assert_eq!(v["token_in_uri"], true);
    assert_eq!(v["download"][0], 200);
    let csv = v["download"][1].as_str().unwrap();
    assert!(
        csv.contains("libvirt,8.0.0,org.libvirt-8.0.0,false,,ferrocenter server"),
        "{csv}"
    );
    assert_eq!(v["missing_report"][0], "NotFound");
    assert!(!v["after_delete"]
        .as_array()
        .unwrap()
        .contains(&json!("org.postgresql-16.4")));
    assert_eq!(v["deleted_get"][0], "NotFound");
    ts.stop().await;
}

#[tokio::test]
async fn pending_updates_are_the_appliance_checks_and_a_failed_check_is_an_issue() {
    let work = tempfile::tempdir().unwrap();
    let (key, repo) = next_release(work.path());
    let ts = server_with_updates(&key, &repo).await;
    let admin = ts.login(ADMIN).await;
    let operator = ts.user("planner", Role::Operator).await;
    let operator = ts.login(&operator).await;

    // The appliance update service checks its LOCAL source; the plan shows what it found, on
    // the appliance listener too, with URLs on that listener.
    let (code, found) = ts
        .call_json(
            Method::GET,
            "/api/appliance/update/pending?source_type=LOCAL",
            &admin,
            None,
        )
        .await;
    assert_eq!(code, 200, "{found}");
    assert_eq!(found[0]["version"], NEXT);
    let (code, list) = ts
        .call_json(
            Method::GET,
            "/api/vcenter/lcm/update/pending",
            &operator,
            None,
        )
        .await;
    assert_eq!(code, 200, "{list}");
    assert_next(&list["updates"][0], &ts.api(""));
    let r = ts
        .client
        .get(ts.appliance(&format!("/rest/vcenter/lcm/update/pending/{NEXT}")))
        .basic_auth(ADMIN, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got: Value = r.json().await.unwrap();
    assert_next(&got["value"], &ts.appliance(""));

    // An unknown version is not found, named, for get and for a report.
    for (method, path) in [
        (
            Method::GET,
            "/api/vcenter/lcm/update/pending/9.9.9".to_string(),
        ),
        (
            Method::POST,
            "/api/vcenter/lcm/update/pending/9.9.9/precheck-report?vmw-task=true".to_string(),
        ),
    ] {
        let (code, e) = ts.call_json(method, &path, &admin, None).await;
        assert_eq!(code, 404, "{path}: {e}");
        assert_eq!(e["error_type"], "NOT_FOUND");
        assert!(message(&e).contains("9.9.9"), "{e}");
    }

    // An operator makes a report; without vmw-task the call waits for it.
    let (code, result) = ts
        .call_json(
            Method::POST,
            &format!("/api/vcenter/lcm/update/pending/{NEXT}/precheck-report"),
            &operator,
            None,
        )
        .await;
    assert_eq!(code, 200, "{result}");
    assert_eq!(result["report"]["summary"]["error_count"], 0, "{result}");
    // No host and nothing added: the report says no product is associated.
    let info: Vec<&str> = result["report"]["issues"]["info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert!(
        info.contains(&"com.ferrocenter.lcm.interop.no_products"),
        "{result}"
    );
    let csv_id = result["csv_report"].as_str().unwrap();
    let (code, loc) = ts
        .call_json(
            Method::GET,
            &format!("/api/vcenter/lcm/reports/{csv_id}"),
            &operator,
            None,
        )
        .await;
    assert_eq!(code, 200, "{loc}");
    let csv = ts
        .client
        .get(loc["uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("issue,info,com.ferrocenter.lcm.interop.no_products,"),
        "{csv}"
    );
    assert!(!csv.contains("\r\nproduct,"), "{csv}");
    ts.stop().await;

    // No source at all: an empty list that says why.
    let public = key.public.clone();
    let ts = TestServer::start_with(move |a| a.update_trusted_keys = Some(vec![public])).await;
    let admin = ts.login(ADMIN).await;
    let (code, list) = ts
        .call_json(Method::GET, "/api/vcenter/lcm/update/pending", &admin, None)
        .await;
    assert_eq!(code, 200, "{list}");
    assert_eq!(list["updates"], json!([]));
    assert_eq!(
        list["issues"]["info"][0]["id"], "com.ferrocenter.lcm.update.no_source",
        "{list}"
    );
    // A repository that does not answer: the check the list makes fails, and says so.
    let (code, body) = ts
        .call_json(
            Method::PUT,
            "/api/appliance/update/policy",
            &admin,
            Some(
                json!({"policy": {"custom_URL": "https://127.0.0.1:9/updates",
                                    "check_schedule": [], "auto_stage": false}}),
            ),
        )
        .await;
    assert_eq!(code, 204, "{body}");
    let (code, list) = ts
        .call_json(Method::GET, "/api/vcenter/lcm/update/pending", &admin, None)
        .await;
    assert_eq!(code, 200, "{list}");
    assert_eq!(list["updates"], json!([]));
    let error = &list["issues"]["errors"][0];
    assert_eq!(
        error["id"], "com.ferrocenter.lcm.update.check_failed",
        "{list}"
    );
    assert!(
        error["message"]["default_message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1:9"),
        "{list}"
    );
    ts.stop().await;
}

#[tokio::test]
async fn the_official_python_sdk_lists_pending_updates_and_makes_a_precheck_report() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let (key, repo) = next_release(work.path());
    let ts = server_with_updates(&key, &repo).await;
    let server = ts.api("").trim_start_matches("https://").to_string();
    let v = run_sdk_script(&python, "lcm_update.py", &[&server, ADMIN, PASSWORD]).await;
    assert_eq!(v["list"]["update_count"], 1, "{v}");
    assert_eq!(v["list"]["upgrade_count"], 0, "{v}");
    let first = &v["list"]["updates"][0];
    assert_eq!(first["version"], NEXT, "{v}");
    assert_eq!(first["update_type"], "UPDATE");
    assert_eq!(first["category"], "FIX");
    assert_eq!(first["severity"], "IMPORTANT");
    assert_eq!(first["release_notes"], json!([KB]));
    assert_eq!(
        first["execute_url"],
        ts.api(&format!("/api/appliance/update/pending/{NEXT}"))
    );
    assert_eq!(v["get"]["build"], "b4217");
    assert_eq!(
        v["get"]["description"],
        "Fixes, and the hosts reconnect faster"
    );
    assert_eq!(v["get_unknown"][0], "NotFound");
    assert!(v["get_unknown"][1]
        .as_str()
        .unwrap()
        .contains("7.0.0.20000"));
    assert_eq!(v["report_unknown"][0], "NotFound");
    assert!(v["task_id"]
        .as_str()
        .unwrap()
        .ends_with(":com.vmware.vcenter.lcm.update.precheck_report"));
    assert_eq!(v["task_status"], "SUCCEEDED");
    assert_eq!(v["report"]["errors"], 0, "{v}");
    assert_eq!(v["report"]["warnings"], 2, "{v}");
    assert_eq!(v["report"]["estimated"], 2, "{v}");
    assert_eq!(v["download"][0], 200);
    let csv = v["download"][1].as_str().unwrap();
    assert!(
        csv.contains(&format!(
            "product,,,,PostgreSQL,16.4,org.postgresql-16.4,db1.lab,{NEXT},unknown,"
        )),
        "{csv}"
    );
    assert!(
        csv.contains("issue,warning,com.ferrocenter.appliance.update.backup,"),
        "{csv}"
    );
    ts.stop().await;
}
