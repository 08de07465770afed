//! The read model through the server: a write acknowledged on one surface is what the next
//! read on another surface answers, every time, while heartbeats of every host write beside it.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::zstack::ZsClient;
use common::*;
use ferrocenter_core::inventory::HostFilter;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_write_on_one_surface_is_read_at_once_on_the_others() {
    let fleet = sim_fleet(6, 2, 9, 27).await;
    // Heartbeats every second: each host's observation is written while the renames run.
    let ts = TestServer::start_with(|a| {
        a.heartbeat_interval_secs = Some("1".into());
        a.enable_metrics = Some("true".into());
    })
    .await;
    add_fleet_to_dc0(&ts, &fleet).await;
    let (core, admin) = ts.core_admin().await;
    let hosts: Vec<(String, String)> = core
        .list_hosts(&admin, &HostFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.id, h.moid))
        .collect();
    assert_eq!(hosts.len(), 6);
    let zc = ZsClient::new(ts.client.clone(), &ts.api(""), "admin", PASSWORD).await;
    let token = ts.login(ADMIN).await;
    // The first host's uptime as each heartbeat records it.
    let mut uptimes = std::collections::BTreeSet::new();
    for i in 0..1500 {
        let (id, moid) = &hosts[i % hosts.len()];
        let name = format!("renamed-{i}");
        let (s, v) = zc
            .sdk(
                Method::PUT,
                &format!("/zstack/v1/hosts/{id}/actions"),
                Some(json!({"updateHost": {"name": name}})),
            )
            .await;
        assert_eq!((s, &v["inventory"]["name"]), (200, &json!(name)), "{v}");
        // vAPI's filtered host list, then vim's property of the same host.
        let (s, v) = ts
            .call_json(
                Method::GET,
                &format!("/api/vcenter/host?hosts={moid}"),
                &token,
                None,
            )
            .await;
        assert_eq!((s, &v[0]["name"]), (200, &json!(name)), "rename {i}: {v}");
        let (s, v) = vim::call(
            &ts,
            Some(&token),
            Method::GET,
            &format!("HostSystem/{moid}/name"),
            None,
        )
        .await;
        assert_eq!((s, &v), (200, &json!(name)), "rename {i}");
        // And ZStack's own listing by the new name.
        let rows = zc
            .inventories(&format!("/zstack/v1/hosts?q=name={name}"))
            .await;
        assert_eq!(rows.len(), 1, "rename {i}");
        assert_eq!(rows[0]["uuid"], json!(id));
        let h = core.get_host(&admin, &hosts[0].0).await.unwrap();
        uptimes.insert(h.runtime.map(|r| r.uptime_secs));
    }
    // The renames ran beside heartbeats, not between them: the uptime they record changed
    // many times meanwhile.
    assert!(uptimes.len() >= 5, "heartbeats recorded {uptimes:?}");
    // What the view holds is reported: the six hosts, and the datacenter they are listed by.
    let metrics = ts
        .client
        .get(ts.api("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for want in [
        "ferrocenter_read_model_records{kind=\"hosts\"} 6",
        "ferrocenter_read_model_records{kind=\"containers\"} 1",
    ] {
        assert!(metrics.lines().any(|l| l == want), "{want} in {metrics}");
    }
    ts.stop().await;
    drop(fleet);
}
