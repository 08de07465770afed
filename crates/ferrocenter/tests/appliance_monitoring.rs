//! Appliance statistics against the real server (the real system probe, a real SQLite store,
//! the collector started with the server): the official Python SDK on the appliance listener
//! as `root` and on the main listener as administrator@vsphere.local and as an operator, and
//! curl-style `/api` and `/rest` calls with bad input named by field. The collector's first
//! round is at the server's start, so the interval holding it has values and later ones are
//! empty.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::sdk::{run_sdk_script, sdk_python};
use common::*;
use ferrocenter_core::auth::Role;
use serde_json::Value;

/// What must hold of any statistics the SDK read from a server started a moment ago.
fn check(v: &Value, who: &str) {
    let ids: Vec<&str> = v["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    for id in [
        "cpu.util",
        "mem.usage",
        "mem.total",
        "mem.util",
        "swap.util",
        "load.1min",
    ] {
        assert!(ids.contains(&id), "{who}: {id} in {ids:?}");
    }
    // The first round (at start) took the filesystems: the root filesystem's items are listed.
    assert!(
        ids.contains(&"storage.util.filesystem.root"),
        "{who}: {ids:?}"
    );
    assert_eq!(
        v["get"],
        serde_json::json!({"id": "cpu.util", "units": "percent", "category": "cpu"})
    );
    assert_eq!(
        v["get_unknown"], "NotFound: monitored item 'disk.util' was not found",
        "{who}"
    );
    let q = v["query"].as_array().unwrap();
    assert_eq!(q.len(), 3, "{who}");
    for d in q {
        assert_eq!(d["interval"], "MINUTES5", "{d}");
        assert_eq!(d["function"], "MAX", "{d}");
        // 13 or 14 minutes from an aligned start: 3 or 4 intervals, the end not adjusted.
        let data = d["data"].as_array().unwrap();
        assert!((3..=4).contains(&data.len()), "{who}: {d}");
        let start = d["start_time"].as_str().unwrap();
        assert!(
            start.ends_with(":00") && (start[14..16].parse::<u32>().unwrap() % 5 == 0),
            "aligned to five minutes: {start}"
        );
        // Only the intervals since the start have values; the rest are ''.
        let values: Vec<&str> = data.iter().map(|x| x.as_str().unwrap()).collect();
        assert!(values.iter().any(|x| !x.is_empty()), "{who}: {d}");
        assert!(values[0].is_empty(), "12 minutes before the start: {d}");
    }
    let usage = q[1]["data"].as_array().unwrap();
    let kb = usage
        .iter()
        .find_map(|x| x.as_str().filter(|s| !s.is_empty()))
        .unwrap();
    assert!(
        kb.parse::<u64>().unwrap() > 1024,
        "mem.usage in whole KB: {kb}"
    );
    let db = q[2]["data"].as_array().unwrap();
    assert!(
        db.iter()
            .any(|x| x.as_str().is_some_and(|s| s.parse::<u64>().is_ok())),
        "the database's size was sampled at start: {db:?}"
    );
    // COUNT per day: one day (or two across midnight), at least one sample each item.
    for day in v["count_day"].as_array().unwrap() {
        let n: u64 = day
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x.as_str().and_then(|s| s.parse::<u64>().ok()))
            .sum();
        assert!(n >= 1, "{who}: {day}");
    }
    let unknown = v["unknown_name"].as_str().unwrap();
    assert!(
        unknown.starts_with("InvalidArgument")
            && unknown.contains("item.names[1]")
            && unknown.contains("disk.util"),
        "{who}: {unknown}"
    );
    let order = v["start_after_end"].as_str().unwrap();
    assert!(
        order.starts_with("InvalidArgument") && order.contains("item.start_time"),
        "{who}: {order}"
    );
}

#[tokio::test]
async fn the_official_sdk_reads_statistics_on_both_listeners() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let ts = TestServer::start().await;
    let operator = ts.user("monop", Role::Operator).await;
    let appliance = ts.appliance("").trim_start_matches("https://").to_string();
    let main = ts.api("").trim_start_matches("https://").to_string();
    for (server, user) in [
        (&appliance, "root"),
        (&main, ADMIN),
        (&main, operator.as_str()),
    ] {
        let v = run_sdk_script(&python, "monitoring.py", &[server, user, PASSWORD]).await;
        eprintln!("{user} on {server}: {v}");
        check(&v, user);
    }
    ts.stop().await;
}

async fn get(ts: &TestServer, url: String, token: &str) -> (u16, Value) {
    let r = ts
        .client
        .get(url)
        .header("vmware-api-session-id", token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn curl_queries_statistics_and_bad_input_is_named() {
    let ts = TestServer::start().await;
    let op = ts.login(&ts.user("curlmon", Role::Operator).await).await;
    let (status, list) = get(&ts, ts.api("/api/appliance/monitoring"), &op).await;
    assert_eq!(status, 200, "{list}");
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == "mem.util" && i["units"] == "percent"));
    let (status, item) = get(&ts, ts.api("/api/appliance/monitoring/mem.total"), &op).await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(item["units"], "KB");
    let (status, err) = get(&ts, ts.api("/api/appliance/monitoring/disk.util"), &op).await;
    assert_eq!(status, 404, "{err}");

    let q = "/api/appliance/monitoring/query?names=mem.util&names=cpu.util&interval=HOURS2\
             &function=AVG&start_time=2026-01-01T10:31:00Z&end_time=2026-01-01T14:00:00Z";
    let (status, data) = get(&ts, ts.api(q), &op).await;
    assert_eq!(status, 200, "{data}");
    assert_eq!(data[0]["name"], "mem.util");
    assert_eq!(
        data[0]["start_time"], "2026-01-01T10:00:00.000Z",
        "aligned down"
    );
    assert_eq!(
        data[0]["end_time"], "2026-01-01T14:00:00.000Z",
        "not adjusted"
    );
    assert_eq!(
        data[1]["data"],
        serde_json::json!(["", "", ""]),
        "10:00, 12:00 and the 14:00 interval holding the end; no samples then"
    );
    // No names (a query string cannot carry an empty list): no answers.
    let (status, none) = get(
        &ts,
        ts.api(
            "/api/appliance/monitoring/query?interval=DAY1&function=MAX\
                &start_time=2026-01-01T00:00:00Z&end_time=2026-01-01T00:00:00Z",
        ),
        &op,
    )
    .await;
    assert_eq!((status, none), (200, serde_json::json!([])));
    // The `/rest` spelling of the same parameters.
    let rest = "/rest/appliance/monitoring/query?item.names.1=mem.util&item.interval=DAY1\
                &item.function=COUNT&item.start_time=2026-01-01T00:00:00Z\
                &item.end_time=2026-01-02T00:00:00Z";
    let (status, wrapped) = get(&ts, ts.api(rest), &op).await;
    assert_eq!(status, 200, "{wrapped}");
    assert_eq!(wrapped["value"][0]["data"], serde_json::json!(["", ""]));

    // Bad input names its field: the registry's checks by the parameter as spelled (here
    // `item.…`, as `/rest` spells it; `/api` also takes the bare field names), the core's rules
    // by their place in the request.
    let q = |names: &str, interval: &str, function: &str, start: &str, end: Option<&str>| {
        let mut s = names
            .split(',')
            .map(|n| format!("item.names={n}"))
            .collect::<Vec<_>>()
            .join("&");
        s += &format!("&item.interval={interval}&item.function={function}&item.start_time={start}");
        if let Some(end) = end {
            s += &format!("&item.end_time={end}");
        }
        s
    };
    let (t0, t1) = ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z");
    for (query, field) in [
        (
            q("cpu.util,nosuch.item", "MINUTES5", "MAX", t0, Some(t1)),
            "item.names[1]",
        ),
        (
            q("cpu.util", "MINUTES1", "MAX", t0, Some(t1)),
            "item.interval",
        ),
        (
            q("cpu.util", "MINUTES5", "SUM", t0, Some(t1)),
            "item.function",
        ),
        (
            q(
                "cpu.util",
                "MINUTES5",
                "MAX",
                "2026-01-02T00:00:00Z",
                Some(t1),
            ),
            "item.start_time",
        ),
        (
            q("cpu.util", "MINUTES5", "MAX", "yesterday", Some(t1)),
            "item.start_time",
        ),
        (q("cpu.util", "MINUTES5", "MAX", t0, None), "item.end_time"),
        (
            q(
                "cpu.util",
                "MINUTES5",
                "MAX",
                "1900-01-01T00:00:00Z",
                Some(t1),
            ),
            "item.end_time",
        ),
    ] {
        let (status, err) = get(
            &ts,
            ts.api(&format!("/api/appliance/monitoring/query?{query}")),
            &op,
        )
        .await;
        assert_eq!(status, 400, "{query}: {err}");
        assert_eq!(err["error_type"], "INVALID_ARGUMENT", "{err}");
        let msg = err["messages"][0]["default_message"].as_str().unwrap();
        assert!(msg.contains(field), "{field}: {msg}");
    }

    // The appliance listener serves the same service to root.
    let r = ts
        .post_basic(ts.appliance("/api/session"), "root", PASSWORD)
        .await;
    let root: String = r.json().await.unwrap();
    let (status, item) = get(
        &ts,
        ts.appliance("/api/appliance/monitoring/cpu.util"),
        &root,
    )
    .await;
    assert_eq!(status, 200, "{item}");
    ts.stop().await;
}
