//! Scenario 4: maintenance mode on a host with many powered-on VMs in a fully automated cluster,
//! against the ideal: the sum of every VM's simulated transfer time divided by the migrations
//! the server runs at once.
use serde_json::{json, Value};

use super::api::Api;

pub async fn evacuate(
    api: &Api,
    host: &str,
    migration_bytes_per_s: f64,
    concurrency_limit: usize,
) -> anyhow::Result<Value> {
    let vms = api.vapi_get(&format!("/vcenter/vm?hosts={host}")).await?;
    let vms = vms.as_array().cloned().unwrap_or_default();
    let running: Vec<&Value> = vms
        .iter()
        .filter(|v| v["power_state"] == "POWERED_ON")
        .collect();
    let transfer_s: f64 = running
        .iter()
        .map(|v| v["memory_size_MiB"].as_f64().unwrap_or(0.0) * 1048576.0 / migration_bytes_per_s)
        .sum();
    let ideal = transfer_s / concurrency_limit.max(1) as f64;
    let (_, took) = api
        .run_task(
            "HostSystem",
            host,
            "EnterMaintenanceMode_Task",
            json!({"timeout": 0}),
        )
        .await?;
    let left = api.vapi_get(&format!("/vcenter/vm?hosts={host}")).await?;
    let still_running = left
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|v| v["power_state"] == "POWERED_ON")
                .count()
        })
        .unwrap_or(0);
    api.run_task(
        "HostSystem",
        host,
        "ExitMaintenanceMode_Task",
        json!({"timeout": 0}),
    )
    .await?;
    let seconds = took.as_secs_f64();
    Ok(json!({
        "powered_on_vms": running.len(),
        "still_running_after": still_running,
        "seconds": seconds,
        "ideal_s": ideal,
        "ratio_to_ideal": seconds / ideal.max(1e-9),
        "sum_of_transfers_s": transfer_s,
        "concurrency_limit": concurrency_limit,
    }))
}
