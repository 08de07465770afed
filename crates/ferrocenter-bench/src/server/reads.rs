//! Read scenarios: every host through ZStack QueryHost in pages, and one host by id through
//! each surface under many concurrent clients.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{json, Value};

use super::api::Api;
use crate::sys::percentile;

/// QueryHost with `limit`/`start` until a short page; every host's ZStack uuid.
pub async fn query_all_hosts(api: &Api, page: usize) -> anyhow::Result<Vec<String>> {
    let mut uuids = Vec::new();
    loop {
        let v = api
            .zstack_get(&format!("/hosts?limit={page}&start={}", uuids.len()))
            .await?;
        let rows = v["inventories"].as_array().cloned().unwrap_or_default();
        let n = rows.len();
        uuids.extend(
            rows.iter()
                .filter_map(|r| r["uuid"].as_str().map(String::from)),
        );
        if n < page {
            return Ok(uuids);
        }
    }
}

/// Scenario 2: lists every host `runs` times; seconds of each run and the mean.
pub async fn list_hosts(api: &Api, runs: usize, page: usize) -> anyhow::Result<Value> {
    let mut times = Vec::new();
    let mut count = 0;
    for _ in 0..runs {
        let start = Instant::now();
        count = query_all_hosts(api, page).await?.len();
        times.push(start.elapsed().as_secs_f64());
    }
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    Ok(json!({"hosts_listed": count, "page_size": page, "runs_s": times, "mean_s": mean}))
}

/// Which surface a get goes through.
#[derive(Clone, Copy, Debug)]
pub enum Surface {
    /// `GET /zstack/v1/hosts/{uuid}`.
    ZStack,
    /// `GET /sdk/vim25/…/HostSystem/{moid}/summary`.
    ViJson,
    /// `GET /api/vcenter/host?hosts={moid}` (vAPI has no host get; the filtered list is it).
    Vapi,
}

impl Surface {
    pub fn name(self) -> &'static str {
        match self {
            Surface::ZStack => "zstack",
            Surface::ViJson => "vi_json",
            Surface::Vapi => "vapi",
        }
    }
}

/// Scenario 3 on one surface: `clients` loops for `seconds`, each getting a random host.
pub async fn get_one(
    api: &Api,
    surface: Surface,
    uuids: Arc<Vec<String>>,
    moids: Arc<Vec<String>>,
    clients: usize,
    seconds: f64,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let errors = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..clients {
        let (api, uuids, moids, errors) =
            (api.clone(), uuids.clone(), moids.clone(), errors.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let i = rand::thread_rng().gen_range(0..uuids.len().min(moids.len()).max(1));
                let t = Instant::now();
                let r = match surface {
                    Surface::ZStack => api.zstack_get(&format!("/hosts/{}", uuids[i])).await,
                    Surface::ViJson => api.vim_get("HostSystem", &moids[i], "summary").await,
                    Surface::Vapi => {
                        api.vapi_get(&format!("/vcenter/host?hosts={}", moids[i]))
                            .await
                    }
                };
                match r {
                    Ok(v) if !v.is_null() => lat.push(t.elapsed().as_secs_f64() * 1000.0),
                    Ok(_) | Err(_) => {
                        if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!("{} get: {:?}", surface.name(), r.err());
                        }
                    }
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap_or_default());
    }
    all.sort_by(f64::total_cmp);
    json!({
        "requests": all.len(),
        "requests_per_s": all.len() as f64 / seconds,
        "p50_ms": percentile(&all, 50.0),
        "p99_ms": percentile(&all, 99.0),
        "errors": errors.load(Ordering::Relaxed),
        "clients": clients,
        "seconds": seconds,
    })
}
