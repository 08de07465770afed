//! Injecting and healing faults: the server SIGKILLed and restarted, agents stopped or slowed
//! through the fleet's fault endpoint, the data directory's file system filled.
use std::io::Write;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::actions::{Fault, Op, Surface};
use super::{invariants, ops, World};

async fn fleet_fault(w: &World, agent: usize, body: Value) -> Result<(), String> {
    let url = format!("http://{}/agents/{agent}/faults", w.fleet.manifest.control);
    let r = w
        .api
        .http
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status() == 204 {
        Ok(())
    } else {
        Err(format!("fault endpoint answered {}", r.status()))
    }
}

pub async fn inject(w: &mut World, f: &Fault) {
    match *f {
        Fault::KillServer { after_ms } => {
            tokio::time::sleep(Duration::from_millis(after_ms)).await;
            w.log(format!(
                "FAULT SIGKILL of the server ({after_ms} ms after the last action)"
            ));
            tokio::task::block_in_place(|| w.server.kill_and_restart());
            w.api.forget_sessions();
            w.restarted_at = Some(std::time::Instant::now());
            w.collect(true).await;
            w.log("server restarted");
            invariants::after_restart(w).await;
        }
        Fault::AgentStop { agent, steps } => {
            let r = fleet_fault(
                w,
                agent,
                json!({"fault": "stop_answering", "enabled": true}),
            )
            .await;
            w.log(format!(
                "FAULT agent {agent} stops answering for {steps} steps: {r:?}"
            ));
            w.agent_faults.insert(agent, (f.clone(), w.step + steps));
        }
        Fault::AgentSlow { agent, ms, steps } => {
            let r = fleet_fault(w, agent, json!({"fault": "slow", "ms": ms})).await;
            w.log(format!(
                "FAULT agent {agent} answers {ms} ms late for {steps} steps: {r:?}"
            ));
            w.agent_faults.insert(agent, (f.clone(), w.step + steps));
        }
        Fault::DiskFull { ms } => disk_full(w, ms).await,
    }
}

impl World {
    /// Clears the agent faults whose time is up.
    pub async fn heal_due_faults(&mut self) {
        let due: Vec<usize> = self
            .agent_faults
            .iter()
            .filter(|(_, (_, until))| *until < self.step)
            .map(|(i, _)| *i)
            .collect();
        for i in due {
            let r = fleet_fault(self, i, json!({"fault": "clear"})).await;
            self.agent_faults.remove(&i);
            self.log(format!("heal agent {i}: {r:?}"));
        }
    }
}

pub async fn heal_all(w: &mut World) {
    let all: Vec<usize> = w.agent_faults.keys().copied().collect();
    for i in all {
        let r = fleet_fault(w, i, json!({"fault": "clear"})).await;
        w.log(format!("heal agent {i}: {r:?}"));
    }
    w.agent_faults.clear();
}

/// Fills the data directory's file system, sends two operations and a read while it is full,
/// then frees it. The operations are fixed by the step (not drawn), so the seed's sequence is
/// the same with or without this fault.
async fn disk_full(w: &mut World, ms: u64) {
    let filler = w.server.data.join("chaos-filler");
    let written = tokio::task::block_in_place(|| fill(&filler));
    w.log(format!(
        "FAULT data file system full ({written} MiB filler) for {ms} ms"
    ));
    let agent = w.step % w.settings.hosts;
    ops::perform(
        w,
        &Op::AddHost {
            agent,
            via: Surface::Zstack,
        },
    )
    .await;
    let vm = w.step % w.vm_names.len();
    ops::perform(
        w,
        &Op::PowerVm {
            vm,
            on: w.step.is_multiple_of(2),
            via: Surface::Vim,
        },
    )
    .await;
    let read = w
        .api
        .session_call(Method::GET, "/api/vcenter/host", None)
        .await;
    w.log(format!(
        "read while full → {}",
        match &read {
            Ok((s, _)) => s.to_string(),
            Err(e) => e.clone(),
        }
    ));
    tokio::time::sleep(Duration::from_millis(ms)).await;
    let _ = std::fs::remove_file(&filler);
    w.log("data file system freed");
}

/// Writes 1 MiB blocks until the file system refuses; how many were written.
fn fill(path: &std::path::Path) -> usize {
    let Ok(mut f) = std::fs::File::create(path) else {
        return 0;
    };
    let block = vec![0u8; 1 << 20];
    let mut n = 0;
    while f.write_all(&block).is_ok() && n < 4096 {
        n += 1;
    }
    let _ = f.sync_all();
    n
}
