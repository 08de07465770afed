//! Adding simulated hosts through VI/JSON `AddHost_Task`, as an SDK script would: one task per
//! host, followed to its end, `concurrency` scripts at once.
use std::sync::Arc;
use std::time::Instant;

use ferrocenter_agent::simulate::ManifestHost;
use serde_json::json;
use tokio::sync::Mutex;

use super::api::Api;
use crate::sys::percentile;

/// What a batch of adds measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AddResult {
    pub hosts: usize,
    pub seconds: f64,
    pub hosts_per_s: f64,
    pub errors: usize,
    pub task_p50_ms: f64,
    pub task_p99_ms: f64,
}

/// Adds one host into `cluster`; its moId.
pub async fn add_one(
    api: &Api,
    cluster: &str,
    h: &ManifestHost,
    password: &str,
) -> anyhow::Result<String> {
    let body = json!({
        "spec": {
            "_typeName": "HostConnectSpec",
            "hostName": h.address,
            "port": h.port,
            "sslThumbprint": h.thumbprint,
            "userName": h.root_user,
            "password": password,
            "force": false,
        },
        "asConnected": true,
    });
    let (info, _) = api
        .run_task("ClusterComputeResource", cluster, "AddHost_Task", body)
        .await?;
    Ok(info["result"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Adds `hosts` (index, cluster, host) with `concurrency` at once; the moIds in input order
/// (empty where the add failed).
pub async fn add_many(
    api: &Api,
    hosts: Vec<(String, ManifestHost)>,
    concurrency: usize,
    password: &str,
) -> (AddResult, Vec<String>) {
    let n = hosts.len();
    let queue = Arc::new(Mutex::new(hosts.into_iter().enumerate()));
    let ids = Arc::new(Mutex::new(vec![String::new(); n]));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (api, queue, ids, latencies, errors) = (
            api.clone(),
            queue.clone(),
            ids.clone(),
            latencies.clone(),
            errors.clone(),
        );
        let password = password.to_string();
        workers.push(tokio::spawn(async move {
            loop {
                let Some((i, (cluster, h))) = queue.lock().await.next() else {
                    return;
                };
                let t = Instant::now();
                match add_one(&api, &cluster, &h, &password).await {
                    Ok(id) => {
                        latencies
                            .lock()
                            .await
                            .push(t.elapsed().as_secs_f64() * 1000.0);
                        ids.lock().await[i] = id;
                    }
                    Err(e) => {
                        if errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 5 {
                            eprintln!("add {}: {e:#}", h.address);
                        }
                    }
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let seconds = start.elapsed().as_secs_f64();
    let mut lat = latencies.lock().await.clone();
    lat.sort_by(f64::total_cmp);
    let errors = errors.load(std::sync::atomic::Ordering::Relaxed);
    let ids = ids.lock().await.clone();
    (
        AddResult {
            hosts: n,
            seconds,
            hosts_per_s: (n - errors) as f64 / seconds.max(1e-9),
            errors,
            task_p50_ms: percentile(&lat, 50.0),
            task_p99_ms: percentile(&lat, 99.0),
        },
        ids,
    )
}
