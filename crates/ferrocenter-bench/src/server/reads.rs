//! Read scenarios: every host through ZStack QueryHost in pages, and one host by id through
//! each surface under many concurrent clients.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{json, Value};

use super::api::Api;
use crate::sys::percentile;

#[derive(serde::Deserialize)]
struct HostPage {
    inventories: Vec<HostUuid>,
    total: Option<usize>,
}

#[derive(serde::Deserialize)]
struct HostUuid {
    uuid: String,
}

async fn host_page(api: &Api, page: usize, start: usize, count: bool) -> anyhow::Result<HostPage> {
    api.zstack_get_as(&format!(
        "/hosts?limit={page}&start={start}{}",
        if count { "&replyWithCount=true" } else { "" }
    ))
    .await
}

/// How many hosts the inventory holds (QueryHost's `replyWithCount`).
pub async fn count_hosts(api: &Api) -> anyhow::Result<usize> {
    let page = host_page(api, 1, 0, true).await?;
    page.total
        .ok_or_else(|| anyhow::anyhow!("QueryHost with replyWithCount gave no total"))
}

/// How many hosts QueryHost finds with the condition `q` (e.g. `status=Connected`).
pub async fn count_hosts_where(api: &Api, q: &str) -> anyhow::Result<usize> {
    let page: HostPage = api
        .zstack_get_as(&format!("/hosts?limit=1&start=0&replyWithCount=true&q={q}"))
        .await?;
    page.total
        .ok_or_else(|| anyhow::anyhow!("QueryHost with replyWithCount gave no total"))
}

/// Hosts connected as the server's QueryHost counts them (`None` when it does not answer).
pub async fn connected(api: &Api) -> Option<usize> {
    count_hosts_where(api, "status=Connected").await.ok()
}

/// QueryHost with `limit`/`start` until a short page; every host's ZStack uuid.
pub async fn query_all_hosts(api: &Api, page: usize) -> anyhow::Result<Vec<String>> {
    let mut uuids = Vec::new();
    loop {
        let rows = host_page(api, page, uuids.len(), false).await?.inventories;
        let n = rows.len();
        uuids.extend(rows.into_iter().map(|r| r.uuid));
        if n < page {
            return Ok(uuids);
        }
    }
}

/// The same listing with `in_flight` pages requested at once, as a client that knows the
/// total (the first page's `replyWithCount`) can; the number of hosts listed.
async fn query_all_hosts_parallel(
    api: &Api,
    page: usize,
    in_flight: usize,
) -> anyhow::Result<usize> {
    let first = host_page(api, page, 0, true).await?;
    let total = first.total.unwrap_or(first.inventories.len());
    let next = Arc::new(AtomicUsize::new(page));
    let mut workers = Vec::new();
    for _ in 0..in_flight {
        let (api, next) = (api.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut listed = 0;
            loop {
                let start = next.fetch_add(page, Ordering::Relaxed);
                if start >= total {
                    return Ok::<_, anyhow::Error>(listed);
                }
                listed += host_page(&api, page, start, false).await?.inventories.len();
            }
        }));
    }
    let mut listed = first.inventories.len();
    for w in workers {
        listed += w.await??;
    }
    Ok(listed)
}

/// Scenario 2: lists every host `runs` times page after page, then `runs` times with
/// `in_flight` pages at once; seconds of each run and the means.
pub async fn list_hosts(
    api: &Api,
    runs: usize,
    page: usize,
    in_flight: usize,
) -> anyhow::Result<Value> {
    let mean = |t: &[f64]| t.iter().sum::<f64>() / t.len().max(1) as f64;
    let (mut times, mut count) = (Vec::new(), 0);
    for _ in 0..runs {
        let start = Instant::now();
        count = query_all_hosts(api, page).await?.len();
        times.push(start.elapsed().as_secs_f64());
    }
    let (mut par_times, mut par_count) = (Vec::new(), 0);
    for _ in 0..runs {
        let start = Instant::now();
        par_count = query_all_hosts_parallel(api, page, in_flight).await?;
        par_times.push(start.elapsed().as_secs_f64());
    }
    Ok(json!({
        "hosts_listed": count,
        "page_size": page,
        "runs_s": times,
        "mean_s": mean(&times),
        "parallel": {"pages_in_flight": in_flight, "hosts_listed": par_count,
            "runs_s": par_times, "mean_s": mean(&par_times)},
    }))
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
    /// `POST /sdk` RetrievePropertiesEx of `summary` (vim25 over SOAP, as pyVmomi asks).
    Soap,
}

impl Surface {
    pub fn name(self) -> &'static str {
        match self {
            Surface::ZStack => "zstack",
            Surface::ViJson => "vi_json",
            Surface::Vapi => "vapi",
            Surface::Soap => "soap",
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
                    Surface::Soap => api
                        .soap_host_summary(&moids[i])
                        .await
                        .map(|n| Value::from(n as u64)),
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
