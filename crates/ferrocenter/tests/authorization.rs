//! Every route × {anonymous, operator, admin, superAdmin}. The test fails if a route is served
//! that has no expectation here, so new routes must be added to the matrix.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::time::Duration;

use common::*;
use ferrocenter_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

const WHO: [&str; 4] = ["anonymous", "operator", "admin", "superAdmin"];

/// One row: a route, how to call it, and the status each caller gets (anonymous, operator,
/// admin, superAdmin).
struct Row {
    method: Method,
    path: &'static str,
    expect: [u16; 4],
}

fn rows() -> Vec<Row> {
    let row = |method: Method, path: &'static str, expect: [u16; 4]| Row {
        method,
        path,
        expect,
    };
    let mut rows = vec![
        // JSON-RPC answers every call with HTTP 200; its errors travel in the body.
        row(Method::POST, "/api", [200, 200, 200, 200]),
        // The OpenAPI document is public, as vCenter's API explorer metadata is.
        row(Method::GET, "/api/openapi.json", [200, 200, 200, 200]),
        row(Method::POST, "/api/session", [401, 201, 201, 201]),
        row(Method::GET, "/api/session", [401, 200, 200, 200]),
        row(Method::DELETE, "/api/session", [401, 204, 204, 204]),
        row(Method::POST, "/api/cis/tasks", [401, 200, 200, 200]),
        row(Method::GET, "/api/cis/tasks", [401, 200, 200, 200]),
        row(Method::POST, "/rest/cis/tasks", [401, 200, 200, 200]),
        row(Method::GET, "/rest/cis/tasks", [401, 200, 200, 200]),
        row(Method::GET, "/api/cis/tasks/{task}", [401, 200, 200, 200]),
        // Cancelling someone else's task needs Global.CancelTask (admin and above).
        row(Method::POST, "/api/cis/tasks/{task}", [401, 403, 204, 204]),
        row(
            Method::POST,
            "/rest/com/vmware/cis/session",
            [401, 200, 200, 200],
        ),
        row(
            Method::DELETE,
            "/rest/com/vmware/cis/session",
            [401, 200, 200, 200],
        ),
        row(Method::GET, "/rest/cis/tasks/{task}", [401, 200, 200, 200]),
        row(
            Method::GET,
            "/rest/appliance/task/{task}",
            [401, 200, 200, 200],
        ),
        row(Method::POST, "/rest/cis/tasks/{task}", [401, 403, 200, 200]),
        row(
            Method::POST,
            "/api/ferrocenter/diagnostics/sleep",
            [401, 403, 403, 202],
        ),
    ];
    // The vcenter inventory services, under both prefixes. Reads need System.Read (every role);
    // changes need admin. Unknown ids are 404 for everyone who may read.
    for prefix in ["/api", "/rest"] {
        let done = if prefix == "/api" { 204 } else { 200 };
        let p =
            |path: &str| -> &'static str { Box::leak(format!("{prefix}{path}").into_boxed_str()) };
        // Update planning: every role reads and makes reports (a report is a reading of the
        // fleet and of the pending update); associating, changing and dissociating products needs Appliance.Administer.
        // The product and report named do not exist; the product created is not in the catalog.
        rows.extend([
            row(
                Method::GET,
                p("/vcenter/lcm/discovery/product-catalog"),
                [401, 200, 200, 200],
            ),
            row(
                Method::GET,
                p("/vcenter/lcm/discovery/associated-products"),
                [401, 200, 200, 200],
            ),
            row(
                Method::POST,
                p("/vcenter/lcm/discovery/associated-products"),
                [401, 403, 400, 400],
            ),
            row(
                Method::GET,
                p("/vcenter/lcm/discovery/associated-products/{product}"),
                [401, 404, 404, 404],
            ),
            row(
                Method::PATCH,
                p("/vcenter/lcm/discovery/associated-products/{product}"),
                [401, 403, 404, 404],
            ),
            row(
                Method::DELETE,
                p("/vcenter/lcm/discovery/associated-products/{product}"),
                [401, 403, 404, 404],
            ),
            row(
                Method::GET,
                p("/vcenter/lcm/discovery/products/{product}"),
                [401, 404, 404, 404],
            ),
            row(
                Method::DELETE,
                p("/vcenter/lcm/discovery/products/{product}"),
                [401, 403, 404, 404],
            ),
            row(
                Method::POST,
                p("/vcenter/lcm/discovery/interop-report"),
                [401, 200, 200, 200],
            ),
            row(
                Method::GET,
                p("/vcenter/lcm/reports/{report}"),
                [401, 404, 404, 404],
            ),
            // No update source is configured: the list is empty and says so; the version
            // named is not pending, so a pre-update report of it is refused before its task.
            row(
                Method::GET,
                p("/vcenter/lcm/update/pending"),
                [401, 200, 200, 200],
            ),
            row(
                Method::GET,
                p("/vcenter/lcm/update/pending/{version}"),
                [401, 404, 404, 404],
            ),
            row(
                Method::POST,
                p("/vcenter/lcm/update/pending/{version}/precheck-report"),
                [401, 404, 404, 404],
            ),
        ]);
        rows.extend([
            row(Method::GET, p("/vcenter/host"), [401, 200, 200, 200]),
            // The deferred history import: superAdmin alone, reading included. Nothing is
            // staged, so a pause is refused in its state.
            row(
                Method::GET,
                p("/vcenter/deployment/history"),
                [401, 403, 403, 200],
            ),
            row(
                Method::POST,
                p("/vcenter/deployment/history"),
                [401, 403, 403, 400],
            ),
            // Identity providers: reading needs VcIdentityProviders.Read (admin), changing
            // VcIdentityProviders.Manage (superAdmin). A provider and a trusted root that do
            // not exist; a create without its oidc part and a root that is not PEM.
            row(
                Method::GET,
                p("/vcenter/identity/providers"),
                [401, 403, 200, 200],
            ),
            row(
                Method::POST,
                p("/vcenter/identity/providers"),
                [401, 403, 403, 400],
            ),
            row(
                Method::GET,
                p("/vcenter/identity/providers/{provider}"),
                [401, 403, 404, 404],
            ),
            row(
                Method::PATCH,
                p("/vcenter/identity/providers/{provider}"),
                [401, 403, 403, 404],
            ),
            row(
                Method::DELETE,
                p("/vcenter/identity/providers/{provider}"),
                [401, 403, 403, 404],
            ),
            row(
                Method::POST,
                p("/vcenter/identity/providers/{provider}/directory"),
                [401, 403, 404, 404],
            ),
            row(
                Method::GET,
                p("/vcenter/identity/trusted-roots"),
                [401, 403, 200, 200],
            ),
            row(
                Method::POST,
                p("/vcenter/identity/trusted-roots"),
                [401, 403, 403, 400],
            ),
            row(
                Method::DELETE,
                p("/vcenter/identity/trusted-roots/{root}"),
                [401, 403, 403, 404],
            ),
            // The token exchange takes no session: its subject token is the credential. A
            // request with another grant type is refused alike for every caller.
            row(
                Method::POST,
                p("/vcenter/tokenservice/token-exchange"),
                [400, 400, 400, 400],
            ),
            row(Method::POST, p("/vcenter/host"), [401, 403, 400, 400]),
            row(
                Method::DELETE,
                p("/vcenter/host/{host}"),
                [401, 404, 404, 404],
            ),
            row(
                Method::POST,
                p("/vcenter/host/{host}/connect"),
                [401, 404, 404, 404],
            ),
            row(
                Method::POST,
                p("/vcenter/host/{host}/disconnect"),
                [401, 404, 404, 404],
            ),
            row(Method::GET, p("/vcenter/datacenter"), [401, 200, 200, 200]),
            row(Method::POST, p("/vcenter/datacenter"), [401, 403, 200, 200]),
            row(
                Method::GET,
                p("/vcenter/datacenter/{datacenter}"),
                [401, 200, 200, 200],
            ),
            row(
                Method::DELETE,
                p("/vcenter/datacenter/{datacenter}"),
                [401, 403, done, done],
            ),
            row(Method::GET, p("/vcenter/cluster"), [401, 200, 200, 200]),
            row(
                Method::GET,
                p("/vcenter/cluster/{cluster}"),
                [401, 200, 200, 200],
            ),
            row(Method::GET, p("/vcenter/folder"), [401, 200, 200, 200]),
            row(Method::GET, p("/vcenter/vm"), [401, 200, 200, 200]),
            row(Method::GET, p("/vcenter/vm/{vm}"), [401, 404, 404, 404]),
            row(Method::POST, p("/vcenter/vm/{vm}"), [401, 404, 404, 404]),
            // Creating needs VirtualMachine.Inventory.Create (admin); the spec names no place.
            row(Method::POST, p("/vcenter/vm"), [401, 403, 400, 400]),
            row(Method::DELETE, p("/vcenter/vm/{vm}"), [401, 404, 404, 404]),
            row(
                Method::PATCH,
                p("/vcenter/vm/{vm}/hardware/cpu"),
                [401, 404, 404, 404],
            ),
            row(
                Method::PATCH,
                p("/vcenter/vm/{vm}/hardware/memory"),
                [401, 404, 404, 404],
            ),
            row(
                Method::GET,
                p("/vcenter/vm/{vm}/power"),
                [401, 404, 404, 404],
            ),
            row(
                Method::POST,
                p("/vcenter/vm/{vm}/power/start"),
                [401, 404, 404, 404],
            ),
            row(
                Method::POST,
                p("/vcenter/vm/{vm}/power/stop"),
                [401, 404, 404, 404],
            ),
            row(Method::POST, p("/vcenter/system"), [401, 200, 200, 200]),
        ]);
        // Local accounts: every role reads; only superAdmin changes (a weak password, an
        // unknown account: the permission check comes first).
        rows.extend([
            row(
                Method::GET,
                p("/appliance/local-accounts"),
                [401, 200, 200, 200],
            ),
            row(
                Method::GET,
                p("/appliance/local-accounts/{username}"),
                [401, 200, 200, 200],
            ),
            row(
                Method::POST,
                p("/appliance/local-accounts/{username}"),
                [401, 403, 403, 400],
            ),
            row(
                Method::PUT,
                p("/appliance/local-accounts/{username}"),
                [401, 403, 403, 404],
            ),
            row(
                Method::PATCH,
                p("/appliance/local-accounts/{username}"),
                [401, 403, 403, 404],
            ),
            row(
                Method::DELETE,
                p("/appliance/local-accounts/{username}"),
                [401, 403, 403, 404],
            ),
            row(
                Method::GET,
                p("/appliance/local-accounts/global-policy"),
                [401, 200, 200, 200],
            ),
            row(
                Method::PUT,
                p("/appliance/local-accounts/global-policy"),
                [401, 403, 403, done],
            ),
        ]);
        // SSO users, groups and policies: every role reads; changes need
        // Appliance.ManageAccounts (superAdmin), called on names that do not exist or with
        // input the core refuses. Anyone may change their own password (a weak new one here).
        rows.extend([
            row(
                Method::GET,
                p("/ferrocenter/sso/users"),
                [401, 200, 200, 200],
            ),
            row(
                Method::POST,
                p("/ferrocenter/sso/users"),
                [401, 403, 403, 400],
            ),
            row(
                Method::GET,
                p("/ferrocenter/sso/users/{name}"),
                [401, 200, 200, 200],
            ),
            row(
                Method::PATCH,
                p("/ferrocenter/sso/users/{name}"),
                [401, 403, 403, 404],
            ),
            row(
                Method::DELETE,
                p("/ferrocenter/sso/users/{name}"),
                [401, 403, 403, 404],
            ),
            row(
                Method::POST,
                p("/ferrocenter/sso/users/{name}"),
                [401, 403, 403, 404],
            ),
            row(
                Method::POST,
                p("/ferrocenter/sso/self"),
                [401, 400, 400, 400],
            ),
            row(
                Method::GET,
                p("/ferrocenter/sso/groups"),
                [401, 200, 200, 200],
            ),
            row(
                Method::POST,
                p("/ferrocenter/sso/groups"),
                [401, 403, 403, 400],
            ),
            row(
                Method::GET,
                p("/ferrocenter/sso/groups/{name}"),
                [401, 200, 200, 200],
            ),
            row(
                Method::DELETE,
                p("/ferrocenter/sso/groups/{name}"),
                [401, 403, 403, 404],
            ),
            row(
                Method::POST,
                p("/ferrocenter/sso/groups/{name}"),
                [401, 403, 403, 404],
            ),
            row(
                Method::GET,
                p("/ferrocenter/sso/password-policy"),
                [401, 200, 200, 200],
            ),
            row(
                Method::PUT,
                p("/ferrocenter/sso/password-policy"),
                [401, 403, 403, done],
            ),
            row(
                Method::GET,
                p("/ferrocenter/sso/lockout-policy"),
                [401, 200, 200, 200],
            ),
            row(
                Method::PUT,
                p("/ferrocenter/sso/lockout-policy"),
                [401, 403, 403, done],
            ),
            // The token signing certificates are public to every session; replacing the key
            // is the SSO administrator's act.
            row(
                Method::GET,
                p("/ferrocenter/sso/signing-certificates"),
                [401, 200, 200, 200],
            ),
            row(
                Method::POST,
                p("/ferrocenter/sso/signing-certificates"),
                [401, 403, 403, 200],
            ),
        ]);
        // Appliance health: every role reads; the settings change needs Appliance.Administer.
        for path in [
            "/appliance/health/applmgmt",
            "/appliance/health/database",
            "/appliance/health/database-storage",
            "/appliance/health/load",
            "/appliance/health/mem",
            "/appliance/health/software-packages",
            "/appliance/health/storage",
            "/appliance/health/swap",
            "/appliance/health/system",
            "/appliance/health/system/lastcheck",
            "/appliance/health/{item}/messages",
            "/appliance/health/settings",
        ] {
            rows.push(row(Method::GET, p(path), [401, 200, 200, 200]));
        }
        rows.push(row(
            Method::PATCH,
            p("/appliance/health/settings"),
            [401, 403, done, done],
        ));
        // Statistics: every role reads.
        for path in [
            "/appliance/monitoring",
            "/appliance/monitoring/{stat_id}",
            "/appliance/monitoring/query",
        ] {
            rows.push(row(Method::GET, p(path), [401, 200, 200, 200]));
        }
        // The inbound firewall: every role reads; a change needs Appliance.Administer.
        rows.extend([
            row(
                Method::GET,
                p("/appliance/networking/firewall/inbound"),
                [401, 200, 200, 200],
            ),
            row(
                Method::PUT,
                p("/appliance/networking/firewall/inbound"),
                [401, 403, done, done],
            ),
        ]);
        // Infrastructure profiles: every role lists them; an export (of a server without
        // secrets: no key needed) needs Appliance.Administer.
        rows.extend([
            row(
                Method::GET,
                p("/appliance/infraprofile/configs"),
                [401, 200, 200, 200],
            ),
            row(
                Method::POST,
                p("/appliance/infraprofile/configs"),
                [401, 403, 200, 200],
            ),
        ]);
        // Global FIPS: every role reads; a change needs Appliance.Administer. The value set is
        // the one in force, so nothing restarts.
        rows.extend([
            row(
                Method::GET,
                p("/appliance/system/global-fips"),
                [401, 200, 200, 200],
            ),
            row(
                Method::PUT,
                p("/appliance/system/global-fips"),
                [401, 403, done, done],
            ),
        ]);
        // Syslog forwarding: every role reads; a change or a test needs
        // Appliance.Administer (set to no receiver, tested with none).
        rows.extend([
            row(
                Method::GET,
                p("/appliance/logging/forwarding"),
                [401, 200, 200, 200],
            ),
            row(
                Method::PUT,
                p("/appliance/logging/forwarding"),
                [401, 403, done, done],
            ),
            row(
                Method::POST,
                p("/appliance/logging/forwarding"),
                [401, 403, 200, 200],
            ),
        ]);
        // The update policy: every role reads; a change needs Appliance.Administer (set to
        // the default, no repository and no schedule).
        rows.extend([
            row(
                Method::GET,
                p("/appliance/update/policy"),
                [401, 200, 200, 200],
            ),
            row(
                Method::PUT,
                p("/appliance/update/policy"),
                [401, 403, done, done],
            ),
        ]);
        // The update service: every role reads (the last check, which is empty; no version
        // is pending and nothing is staged); a stage, a cancel or a delete needs
        // Appliance.Administer (nothing runs, so a cancel is refused and a delete does
        // nothing).
        rows.extend([
            row(Method::GET, p("/appliance/update"), [401, 200, 200, 200]),
            row(Method::POST, p("/appliance/update"), [401, 403, 400, 400]),
            row(
                Method::GET,
                p("/appliance/update/pending"),
                [401, 200, 200, 200],
            ),
            // A rollback: nothing was installed, so there is nothing to put back.
            row(
                Method::POST,
                p("/appliance/update/pending"),
                [401, 403, 404, 404],
            ),
            row(
                Method::GET,
                p("/appliance/update/pending/{version}"),
                [401, 404, 404, 404],
            ),
            row(
                Method::POST,
                p("/appliance/update/pending/{version}"),
                [401, 403, 404, 404],
            ),
            row(
                Method::GET,
                p("/appliance/update/staged"),
                [401, 400, 400, 400],
            ),
            row(
                Method::DELETE,
                p("/appliance/update/staged"),
                [401, 403, done, done],
            ),
        ]);
        // Appliance services and shutdown: every role reads; control needs
        // Appliance.Administer. The heartbeat loop is the service controlled (harmless to
        // stop); a shutdown is scheduled an hour out, replaced, then cancelled.
        for path in [
            "/appliance/services",
            "/appliance/services/{service}",
            "/appliance/shutdown",
        ] {
            rows.push(row(Method::GET, p(path), [401, 200, 200, 200]));
        }
        for path in [
            "/appliance/services/{service}/start",
            "/appliance/services/{service}/stop",
            "/appliance/services/{service}/restart",
            "/appliance/shutdown/reboot",
            "/appliance/shutdown/poweroff",
            "/appliance/shutdown/cancel",
        ] {
            rows.push(row(Method::POST, p(path), [401, 403, done, done]));
        }
        // The deployment (set up silently on first start): superAdmin only. No setup runs and
        // none failed, so every action is in the wrong state (400).
        rows.push(row(
            Method::GET,
            p("/vcenter/deployment"),
            [401, 403, 403, 200],
        ));
        for (method, path) in [
            (Method::POST, "/vcenter/deployment"),
            (Method::GET, "/vcenter/deployment/install"),
            (Method::POST, "/vcenter/deployment/install"),
            (Method::GET, "/vcenter/deployment/question"),
            (Method::POST, "/vcenter/deployment/question"),
            (Method::GET, "/vcenter/deployment/upgrade"),
            (Method::POST, "/vcenter/deployment/upgrade"),
        ] {
            rows.push(row(method, p(path), [401, 403, 403, 400]));
        }
        // A server as an upgrade's source: superAdmin only. It describes itself; an export
        // with a password too short is refused (400), a missing one is not found (get and
        // delete).
        rows.extend([
            row(
                Method::GET,
                p("/ferrocenter/deployment/export/source"),
                [401, 403, 403, 200],
            ),
            row(
                Method::POST,
                p("/ferrocenter/deployment/export"),
                [401, 403, 403, 400],
            ),
            row(
                Method::GET,
                p("/ferrocenter/deployment/export/{export}"),
                [401, 403, 403, 404],
            ),
            row(
                Method::DELETE,
                p("/ferrocenter/deployment/export/{export}"),
                [401, 403, 403, 404],
            ),
        ]);
        // Backup and restore: reads for every role; backups need Appliance.Administer, a
        // restore Appliance.ManageAccounts. The location (/proc/ferrocenter-authz) holds
        // nothing and takes no writes, so nothing starts: validate answers FAIL, a job is
        // refused, a listing is not found.
        for path in [
            "/appliance/recovery",
            "/appliance/recovery/backup/job",
            "/appliance/recovery/backup/job/details",
            "/appliance/recovery/backup/parts",
            "/appliance/recovery/backup/parts/{id}",
            "/appliance/recovery/restore/job",
            "/appliance/recovery/reconciliation/job",
        ] {
            rows.push(row(Method::GET, p(path), [401, 200, 200, 200]));
        }
        rows.extend([
            row(
                Method::GET,
                p("/appliance/recovery/backup/job/{id}"),
                [401, 404, 404, 404],
            ),
            row(
                Method::POST,
                p("/appliance/recovery/backup/job/{id}/cancel"),
                [401, 403, 404, 404],
            ),
            row(
                Method::POST,
                p("/appliance/recovery/backup/validate"),
                [401, 403, 200, 200],
            ),
            row(
                Method::POST,
                p("/appliance/recovery/backup/job"),
                [401, 403, 400, 400],
            ),
            row(
                Method::GET,
                p("/appliance/recovery/backup/system-name"),
                [401, 403, 404, 404],
            ),
            row(
                Method::GET,
                p("/appliance/recovery/backup/system-name/{system_name}/archives"),
                [401, 403, 404, 404],
            ),
            row(
                Method::GET,
                p("/appliance/recovery/backup/system-name/{system_name}/archives/{archive}"),
                [401, 403, 404, 404],
            ),
            row(
                Method::POST,
                p("/appliance/recovery/restore/validate"),
                [401, 403, 403, 404],
            ),
            row(
                Method::POST,
                p("/appliance/recovery/restore/job"),
                [401, 403, 403, 404],
            ),
            row(
                Method::POST,
                p("/appliance/recovery/restore/job/cancel"),
                [401, 403, 403, 200],
            ),
            row(
                Method::POST,
                p("/appliance/recovery/reconciliation/job"),
                [401, 403, 200, 200],
            ),
            // Schedules: a schedule that does not exist, and a new one at the location that
            // takes no writes (refused when its location is checked).
            row(
                Method::GET,
                p("/appliance/recovery/backup/schedules"),
                [401, 200, 200, 200],
            ),
            row(
                Method::GET,
                p("/appliance/recovery/backup/schedules/{schedule}"),
                [401, 404, 404, 404],
            ),
            row(
                Method::POST,
                p("/appliance/recovery/backup/schedules/{schedule}"),
                [401, 403, 400, 400],
            ),
            row(
                Method::PUT,
                p("/appliance/recovery/backup/schedules/update/{schedule}"),
                [401, 403, 404, 404],
            ),
            row(
                Method::DELETE,
                p("/appliance/recovery/backup/schedules/{schedule}"),
                [401, 403, 404, 404],
            ),
            // Support bundles: every role reads; making (at a partition that does not exist,
            // so nothing is made) and deleting need Appliance.Administer.
            row(
                Method::GET,
                p("/appliance/support-bundle"),
                [401, 200, 200, 200],
            ),
            row(
                Method::GET,
                p("/appliance/support-bundle/components"),
                [401, 200, 200, 200],
            ),
            row(
                Method::POST,
                p("/appliance/support-bundle"),
                [401, 403, 400, 400],
            ),
            row(
                Method::DELETE,
                p("/appliance/support-bundle/{id}"),
                [401, 403, 404, 404],
            ),
        ]);
    }
    rows
}

/// The query or body a recovery route is called with in the matrix: a location that holds
/// nothing and takes no writes.
fn recovery_request(method: &Method, path: &str) -> (String, Option<Value>) {
    const NOWHERE: &str = "/proc/ferrocenter-authz";
    let rest = path.starts_with("/rest");
    let path = path
        .replace(
            "{id}",
            if path.contains("/parts/") {
                "common"
            } else {
                "no-such-job"
            },
        )
        .replace("{system_name}", "vc1")
        .replace("{archive}", "S_0.1.0_20260101-000000")
        .replace("{schedule}", "no-such-schedule");
    let piece = json!({"piece": {"parts": [], "location_type": "PATH", "location": NOWHERE}});
    match method.as_str() {
        "GET" if path.contains("/system-name") => {
            let key = match (rest, path.contains("/archives/")) {
                (false, _) => "location",
                (true, true) => "spec.location",
                (true, false) => "loc_spec.location",
            };
            (format!("{path}?{key}={NOWHERE}"), None)
        }
        "POST"
            if path.ends_with("/validate")
                || path.ends_with("/restore/job")
                || path.ends_with("/backup/job") =>
        {
            (path, Some(piece))
        }
        "POST" | "PUT" if path.contains("/schedules/") => {
            (path, Some(json!({"spec": {"location": NOWHERE}})))
        }
        "POST" if path.ends_with("/reconciliation/job") => {
            (path, Some(json!({"spec": {"ignore_warnings": true}})))
        }
        _ => (path, None),
    }
}

/// The account and body a local-accounts route is called with in the matrix: reads name
/// `root`, changes an account that does not exist or a password too short.
fn accounts_request(method: &Method, path: &str) -> (&'static str, Option<Value>) {
    let config = |password: &str| json!({"config": {"password": password, "roles": ["operator"]}});
    match method.as_str() {
        "GET" => ("root", None),
        "POST" => ("newcomer", Some(config("short"))),
        "PUT" if path.ends_with("global-policy") => (
            "",
            Some(json!({"policy": {"max_days": 90, "min_days": 0, "warn_days": 7}})),
        ),
        "PUT" => ("nobody", Some(config("Good-Pass-12"))),
        "PATCH" => ("nobody", Some(json!({"config": {}}))),
        _ => ("nobody", None),
    }
}

/// The path and body an SSO route is called with in the matrix: reads name what exists,
/// changes name what does not or carry input the core refuses, policies are set to their
/// defaults.
fn sso_request(method: &Method, path: &str) -> (String, Option<Value>) {
    let groups = path.contains("/sso/groups");
    let name = match (method.as_str(), groups) {
        ("GET", false) => "administrator",
        ("GET", true) => "SystemConfiguration.Administrators",
        _ => "nobody",
    };
    let path = path.replace("{name}", name);
    match method.as_str() {
        "POST" if path.ends_with("/sso/users") => (
            path,
            Some(json!({"spec": {"name": "newcomer", "password": "short"}})),
        ),
        "POST" if path.ends_with("/sso/groups") => {
            (path, Some(json!({"spec": {"name": "not a name!"}})))
        }
        "POST" if path.ends_with("/sso/self") => (
            format!("{path}?action=change-password"),
            Some(json!({"current_password": PASSWORD, "new_password": "short"})),
        ),
        "POST" if path.ends_with("/sso/signing-certificates") => {
            (format!("{path}?action=rotate"), None)
        }
        "POST" if groups => (
            format!("{path}?action=add-members"),
            Some(json!({"users": ["nobody"]})),
        ),
        "POST" => (format!("{path}?action=unlock"), None),
        "PATCH" => (path, Some(json!({"spec": {"full_name": "N. Body"}}))),
        "PUT" if path.ends_with("password-policy") => (
            path,
            Some(
                json!({"policy": {"min_length": 15, "max_length": 20, "min_uppercase": 1,
                "min_lowercase": 1, "min_numeric": 1, "min_special": 1, "history": 5,
                "max_lifetime_days": 90}}),
            ),
        ),
        "PUT" => (
            path,
            Some(json!({"policy": {"max_failed_attempts": 5,
                "failed_attempt_interval_secs": 180, "auto_unlock_secs": 900}})),
        ),
        _ => (path, None),
    }
}

/// The query string and body a vcenter route is called with in the matrix.
fn vcenter_request(
    method: &Method,
    path: &str,
    n: usize,
    host_folder: &str,
) -> (&'static str, Option<Value>) {
    let tail = path.trim_start_matches("/api").trim_start_matches("/rest");
    match (method.as_str(), tail) {
        ("POST", "/vcenter/identity/providers") => {
            ("", Some(json!({"spec": {"config_tag": "Oidc"}})))
        }
        ("PATCH", "/vcenter/identity/providers/{provider}") => {
            ("", Some(json!({"spec": {"config_tag": "Oidc"}})))
        }
        ("POST", "/vcenter/identity/providers/{provider}/directory") => {
            ("?action=search-users", Some(json!({"query": "a"})))
        }
        ("POST", "/vcenter/identity/trusted-roots") => ("", Some(json!({"cert_text": "junk"}))),
        // `{"spec": …}` is the `/rest` form and a documented alias of the `/api` one.
        ("POST", "/vcenter/lcm/discovery/associated-products") => (
            "",
            Some(json!({"spec": {"product_name": "Oracle", "version": "19"}})),
        ),
        ("PATCH", "/vcenter/lcm/discovery/associated-products/{product}") => {
            ("", Some(json!({"spec": {"deployments": []}})))
        }
        ("POST", "/vcenter/tokenservice/token-exchange") => (
            "",
            Some(
                json!({"spec": {"grant_type": "password", "subject_token": "x.y.z",
                                 "subject_token_type": "urn:ietf:params:oauth:token-type:id_token"}}),
            ),
        ),
        // Well-formed but unusable: admins pass the permission check and fail on the name.
        ("POST", "/vcenter/host") => (
            "",
            Some(
                json!({"spec": {"hostname": "not a host!", "user_name": "root",
                                 "password": "x", "thumbprint_verification": "NONE",
                                 "folder": host_folder}}),
            ),
        ),
        // `/api` takes the create spec as the body, `/rest` wraps it.
        ("POST", "/vcenter/vm") => {
            let spec = json!({"name": format!("vm-{n}"), "guest_OS": "OTHER_LINUX_64"});
            (
                "",
                Some(if path.starts_with("/api") {
                    spec
                } else {
                    json!({ "spec": spec })
                }),
            )
        }
        ("PATCH", "/vcenter/vm/{vm}/hardware/cpu" | "/vcenter/vm/{vm}/hardware/memory") => {
            let spec = if tail.ends_with("cpu") {
                json!({"count": 2})
            } else {
                json!({"size_MiB": 512})
            };
            (
                "",
                Some(if path.starts_with("/api") {
                    spec
                } else {
                    json!({ "spec": spec })
                }),
            )
        }
        ("POST", "/vcenter/datacenter") => ("", Some(json!({"spec": {"name": format!("dc-{n}")}}))),
        ("POST", "/vcenter/vm/{vm}") => (
            "?action=relocate",
            Some(json!({"spec": {"placement": {"host": "host-999"}}})),
        ),
        ("POST", "/vcenter/system") => {
            ("?action=hello", Some(json!({"api_releases": ["8.0.3.0"]})))
        }
        _ => ("", None),
    }
}

#[tokio::test]
async fn every_route_for_every_role() {
    let table = ferrocenter_api::vapi::route_table(true);
    let rows = rows();
    for (m, p) in &table {
        assert!(
            rows.iter().any(|r| r.method == *m && r.path == p.as_str()),
            "route {m} {p} has no row in the authorization matrix"
        );
    }
    assert_eq!(
        rows.len(),
        table.len(),
        "the matrix lists a route that is not served"
    );

    let ts = TestServer::start().await;
    let users = [
        None,
        Some(ts.user("op", Role::Operator).await),
        Some(ts.user("adm", Role::Admin).await),
        Some(ADMIN.to_string()),
    ];
    let owner = ts.login(ADMIN).await;
    let (core, admin) = ts.core_admin().await;
    let dc0 = core.create_datacenter(&admin, "DC0", "").await.unwrap();
    let c0 = core
        .create_cluster(
            &admin,
            &dc0.id,
            "C0",
            ferrocenter_core::inventory::AutomationLevel::Manual,
            "",
        )
        .await
        .unwrap();
    let host_folder = core
        .datacenter_folder(&dc0.id, ferrocenter_core::inventory::FolderKind::Host)
        .await
        .unwrap()
        .moid;
    let mut failures = Vec::new();
    let mut n = 0;
    for row in &rows {
        for (i, who) in WHO.iter().enumerate() {
            n += 1;
            // A fresh session per call, so that logging out cannot disturb the next row.
            let token = match &users[i] {
                Some(u) => Some(ts.login(u).await),
                None => None,
            };
            // A fresh long task per call, owned by administrator, for the task routes.
            let task = {
                let r = ts
                    .call(
                        Method::POST,
                        "/api/ferrocenter/diagnostics/sleep",
                        Some(&owner),
                        Some(json!({"duration_ms": 30000})),
                    )
                    .await;
                r.json::<String>().await.unwrap()
            };
            // A fresh datacenter per call for the delete row (admins delete it).
            let doomed = if row.path.ends_with("/vcenter/datacenter/{datacenter}")
                && row.method == Method::DELETE
            {
                core.create_datacenter(&admin, &format!("doomed-{n}"), "")
                    .await
                    .unwrap()
                    .moid
            } else {
                dc0.moid.clone()
            };
            let (account, account_body) = accounts_request(&row.method, row.path);
            let path = row
                .path
                .replace("{username}", account)
                .replace("{task}", &task)
                .replace("{datacenter}", &doomed)
                .replace("{cluster}", &c0.moid)
                .replace("{host}", "host-999")
                .replace("{vm}", "vm-999")
                .replace("{item}", "system")
                .replace("{service}", "heartbeat")
                .replace("{stat_id}", "cpu.util")
                .replace("{provider}", "no-such-provider")
                .replace("{root}", "no-such-root")
                .replace("{export}", "no-such-export")
                .replace("{product}", "no-such-product")
                .replace("{report}", "no-such-report")
                .replace("{version}", "99.0.0");
            let (url, body): (String, Option<Value>) = match (row.method.as_str(), row.path) {
                ("POST", "/api") => (
                    path,
                    Some(json!({"jsonrpc": "2.0", "method": "invoke", "id": "0",
                        "params": {"serviceId": "com.vmware.vcenter.system", "operationId": "hello",
                                   "input": {"STRUCTURE": {"operation-input": {}}}, "ctx": {}}})),
                ),
                ("POST", "/api/cis/tasks" | "/rest/cis/tasks") => {
                    (format!("{path}?action=list"), Some(json!({})))
                }
                ("POST", p) if p.ends_with("{task}") => (format!("{path}?action=cancel"), None),
                ("GET", p) if p.ends_with("/monitoring/query") => (
                    format!(
                        "{path}?names=cpu.util&interval=MINUTES5&function=AVG\
                         &start_time=2026-01-01T00:00:00Z&end_time=2026-01-01T01:00:00Z"
                    ),
                    None,
                ),
                ("POST", "/api/ferrocenter/diagnostics/sleep") => {
                    (path, Some(json!({"duration_ms": 1})))
                }
                (_, p) if p.contains("/appliance/local-accounts") => (path, account_body),
                (_, p) if p.contains("/ferrocenter/sso/") => sso_request(&row.method, &path),
                ("POST", p) if p.ends_with("/appliance/support-bundle") => {
                    let spec = json!({"description": "authz", "partition": "nowhere"});
                    (
                        path,
                        Some(if p.starts_with("/api") {
                            spec
                        } else {
                            json!({ "spec": spec })
                        }),
                    )
                }
                ("DELETE", p) if p.contains("/appliance/support-bundle/") => {
                    (path.replace("{id}", "no-such-bundle"), None)
                }
                (_, p) if p.contains("/appliance/recovery/") => {
                    recovery_request(&row.method, &path)
                }
                ("POST", p) if p.ends_with("/appliance/infraprofile/configs") => {
                    (format!("{path}?action=export"), None)
                }
                ("PUT", p) if p.ends_with("/appliance/networking/firewall/inbound") => (
                    path,
                    // A documentation network (RFC 5737): refuses no test client.
                    Some(
                        json!({"rules": [{"address": "192.0.2.0", "prefix": 24, "policy": "IGNORE"}]}),
                    ),
                ),
                ("POST", p) if p.ends_with("/appliance/update") => {
                    (format!("{path}?action=cancel"), None)
                }
                ("GET", p) if p.ends_with("/appliance/update/pending") => {
                    (format!("{path}?source_type=LAST_CHECK"), None)
                }
                ("POST", p) if p.ends_with("/appliance/update/pending") => {
                    (format!("{path}?action=rollback"), None)
                }
                ("POST", p) if p.ends_with("/appliance/update/pending/{version}") => (
                    format!("{path}?action=stage"),
                    Some(json!({"version": "99.0.0"})),
                ),
                ("PUT", p) if p.ends_with("/appliance/update/policy") => (
                    path,
                    Some(json!({"policy": {"check_schedule": [], "auto_stage": false}})),
                ),
                ("PUT", p) if p.ends_with("/appliance/logging/forwarding") => {
                    (path, Some(json!({"cfg_list": []})))
                }
                ("POST", p) if p.ends_with("/appliance/logging/forwarding") => (
                    format!("{path}?action=test"),
                    Some(json!({"send_test_message": false})),
                ),
                ("PUT", p) if p.ends_with("/appliance/system/global-fips") => (
                    path,
                    // `/api` takes the spec as the body, `/rest` wraps it.
                    Some(if p.starts_with("/rest") {
                        json!({"spec": {"enabled": false}})
                    } else {
                        json!({"enabled": false})
                    }),
                ),
                ("POST", p) if p.ends_with("/reboot") || p.ends_with("/poweroff") => (
                    path,
                    Some(json!({"delay": 60, "reason": "authorization matrix"})),
                ),
                ("PATCH", p) if p.ends_with("/appliance/health/settings") => (
                    path,
                    Some(json!({"health_settings": {"db_health_check_state_manual_backup": true}})),
                ),
                ("POST", p) if p.ends_with("/vcenter/deployment/history") => {
                    (format!("{path}?action=pause"), None)
                }
                ("POST", p) if p.ends_with("/vcenter/deployment") => {
                    (format!("{path}?action=rollback"), None)
                }
                ("POST", p) if p.ends_with("/vcenter/deployment/install") => {
                    (format!("{path}?action=cancel"), None)
                }
                ("POST", p) if p.ends_with("/vcenter/deployment/question") => (
                    format!("{path}?action=answer"),
                    Some(json!({"spec": {"question_id": "store.reuse", "answer_val": "YES"}})),
                ),
                ("POST", p) if p.ends_with("/vcenter/deployment/upgrade") => {
                    (format!("{path}?action=cancel"), None)
                }
                ("POST", p) if p.ends_with("/ferrocenter/deployment/export") => (
                    path,
                    Some(json!({"spec": {"password": "short", "history": false}})),
                ),
                (_, p) if p.contains("/vcenter/deployment") => (path, None),
                (m, p) if p.contains("/vcenter/") => {
                    let (query, body) = vcenter_request(&row.method, p, n, &host_folder);
                    let _ = m;
                    (format!("{path}{query}"), body)
                }
                _ => (path, None),
            };
            let mut rb = ts.client.request(row.method.clone(), ts.api(&url));
            let creates_session =
                row.method == Method::POST && row.path.ends_with("session") && !url.contains('?');
            match (&users[i], &token) {
                (Some(u), _) if creates_session => rb = rb.basic_auth(u, Some(PASSWORD)),
                (_, Some(t)) => rb = rb.header("vmware-api-session-id", t),
                _ => {}
            }
            if let Some(b) = body {
                rb = rb.json(&b);
            }
            let resp = rb.send().await.unwrap();
            let got = resp.status().as_u16();
            if got != row.expect[i] {
                let body = resp.text().await.unwrap_or_default();
                failures.push(format!(
                    "{} {} as {}: expected {}, got {got}: {body}",
                    row.method, row.path, who, row.expect[i]
                ));
            }
        }
    }
    // Stop the sleepers quickly.
    ts.server
        .as_ref()
        .unwrap()
        .core
        .tasks
        .shutdown(Duration::from_secs(1))
        .await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    ts.stop().await;
}

#[tokio::test]
async fn the_diagnostics_route_is_absent_unless_enabled() {
    let ts = TestServer::start_with(|a| a.enable_diagnostics = None).await;
    let t = ts.login(ADMIN).await;
    let r = ts
        .call(
            Method::POST,
            "/api/ferrocenter/diagnostics/sleep",
            Some(&t),
            Some(json!({"duration_ms": 1})),
        )
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error_type"],
        "OPERATION_NOT_FOUND"
    );
    ts.stop().await;
}

#[tokio::test]
async fn group_membership_raises_the_role_as_table_4_2_maps_it() {
    let ts = TestServer::start().await;
    let name = ts.user("shell", Role::Operator).await;
    let sleep = |token: String| {
        let rb = ts
            .client
            .post(ts.api("/api/ferrocenter/diagnostics/sleep"))
            .header("vmware-api-session-id", token)
            .json(&json!({"duration_ms": 1}));
        async move { rb.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(sleep(ts.login(&name).await).await, 403);
    let core = &ts.server.as_ref().unwrap().core;
    let realm = ferrocenter_core::auth::Realm::sso("vsphere.local");
    let p = core
        .store
        .find_principal(&realm, "shell")
        .await
        .unwrap()
        .unwrap();
    core.auth
        .add_to_group(
            &realm,
            ferrocenter_core::auth::BASH_SHELL_ADMINISTRATORS_GROUP,
            &p,
        )
        .await
        .unwrap();
    // The role is computed at login: a new session carries superAdmin.
    assert_eq!(sleep(ts.login(&name).await).await, 202);
    ts.stop().await;
}
