//! The machine and processes a benchmark measures: /proc figures, child processes that are
//! killed with the benchmark, concurrency helpers.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Semaphore;

pub fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// The machine's CPU ticks so far: (all, stolen). Steal is time this virtual machine was ready
/// to run and its hypervisor ran something else; a run with much of it measured a slower
/// machine, so the report shows it beside the figures.
fn machine_cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is in user)
    let f: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    Some((f.iter().take(8).sum(), *f.get(7)?))
}

/// Percent of the machine's CPU time stolen between laps.
pub struct StealMeter(Option<(u64, u64)>);

impl StealMeter {
    pub fn start() -> Self {
        StealMeter(machine_cpu_ticks())
    }

    /// Steal since the previous lap (or the start), in percent of all CPU time.
    pub fn lap(&mut self) -> Option<f64> {
        let now = machine_cpu_ticks()?;
        let (total, stolen) = self.0.replace(now)?;
        let dt = now.0.checked_sub(total).filter(|d| *d > 0)?;
        Some(100.0 * now.1.saturating_sub(stolen) as f64 / dt as f64)
    }
}

pub fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_default();
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    json!({
        "cpus": std::thread::available_parallelism().map(std::num::NonZero::get).unwrap_or(0),
        "cpu_model": cpu,
        "memory_gib": (mem_kib as f64 / 1048576.0 * 10.0).round() / 10.0,
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
    })
}

/// Runs `op` on every host index with `concurrency` in flight; returns (seconds, errors).
pub async fn over_fleet<F, Fut>(n: usize, concurrency: usize, op: F) -> (f64, usize)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let sem = Arc::new(Semaphore::new(concurrency));
    let op = Arc::new(op);
    let start = Instant::now();
    let mut joins = Vec::with_capacity(n);
    for i in 0..n {
        // The semaphore is never closed, so acquiring ends only with a permit.
        let Ok(permit) = sem.clone().acquire_owned().await else {
            break;
        };
        let op = op.clone();
        joins.push(tokio::spawn(async move {
            let ok = op(i).await;
            drop(permit);
            ok
        }));
    }
    let mut errors = 0;
    for j in joins {
        if !j.await.unwrap_or(false) {
            errors += 1;
        }
    }
    (start.elapsed().as_secs_f64(), errors)
}

/// Polls `probe` every `every` until it answers `true`; the seconds since `t0`, or `None`
/// after `limit`.
pub async fn until<F, Fut>(
    t0: Instant,
    limit: Duration,
    every: Duration,
    mut probe: F,
) -> Option<f64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let give_up = Instant::now() + limit;
    loop {
        if probe().await {
            return Some(t0.elapsed().as_secs_f64());
        }
        if Instant::now() > give_up {
            return None;
        }
        tokio::time::sleep(every).await;
    }
}

/// Clock ticks per second of /proc CPU figures.
pub fn tick_hz() -> f64 {
    // SAFETY: sysconf only reads a constant.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).max(1) as f64
}

/// A child process whose output goes to a file; killed when dropped.
pub struct Proc {
    child: Child,
    pub pid: u32,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Proc {
    pub fn spawn(binary: &Path, args: &[String], dir: &Path, name: &str) -> anyhow::Result<Proc> {
        let stdout = dir.join(format!("{name}.out"));
        let stderr = dir.join(format!("{name}.err"));
        let child = Command::new(binary)
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout)?)
            .stderr(std::fs::File::create(&stderr)?)
            .spawn()?;
        Ok(Proc {
            pid: child.id(),
            child,
            stdout,
            stderr,
        })
    }

    /// Waits until `file` (its stdout or stderr) has a line `accept` takes; that line.
    pub async fn wait_line(
        &mut self,
        file: &Path,
        limit: Duration,
        accept: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            if let Some(l) = text.lines().find(|l| accept(l)) {
                return Ok(l.to_string());
            }
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "{} exited ({status}); see {}",
                    file.display(),
                    self.stderr.display()
                );
            }
            if start.elapsed() > limit {
                anyhow::bail!("no such line in {} within {limit:?}", file.display());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    pub fn rss_kib(&self) -> u64 {
        proc_status_kib(self.pid, "VmRSS:").unwrap_or(0)
    }

    pub fn peak_rss_kib(&self) -> u64 {
        proc_status_kib(self.pid, "VmHWM:").unwrap_or(0)
    }

    pub fn cpu_ticks(&self) -> u64 {
        cpu_ticks(self.pid).unwrap_or(0)
    }

    /// SIGTERM, then waits for the exit.
    pub fn stop(mut self) -> anyhow::Result<()> {
        // SAFETY: signals our own child.
        unsafe {
            libc::kill(self.pid as i32, libc::SIGTERM);
        }
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `ferrocenter` binary next to this one, unless given.
pub fn ferrocenter_binary(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.join("ferrocenter")))
            .unwrap_or_else(|| PathBuf::from("ferrocenter"))
    })
}

/// Percentile (0–100) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentiles_pick_the_ranked_value() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(super::percentile(&v, 50.0), 51.0);
        assert_eq!(super::percentile(&v, 99.0), 99.0);
        assert_eq!(super::percentile(&v, 100.0), 100.0);
        assert_eq!(super::percentile(&[], 99.0), 0.0);
    }
}
