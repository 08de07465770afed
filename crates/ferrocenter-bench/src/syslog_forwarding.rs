//! Syslog forwarding's cost (issue 23): records logged at a steady rate through the forwarder's
//! tracing layer to a TCP receiver — a plain listener on its own thread counting octet-counted
//! frames — after a baseline with no receiver, then with the receiver down, then back. Prints the
//! forwarding's CPU (the process's less the receiver thread's), messages lost while the receiver
//! is up, and with it down the queue's bound and the drops.
use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocenter_core::appliance::log_forwarding::{ForwardTarget, Protocol};
use ferrocenter_core::ports::LogForwarder;
use ferrocenter_system::syslog::{SyslogForwarder, QUEUE_CAPACITY};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

pub struct Params {
    pub rate: u64,
    pub up_seconds: u64,
    pub down_seconds: u64,
}

/// A receiver thread: counts frames until stopped.
struct Receiver {
    stop: Arc<AtomicBool>,
    tid: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

fn thread_ticks(tid: u64) -> u64 {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1.to_string();
            let f: Vec<&str> = after.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0)
}

fn process_cpu() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_SELF is always valid.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t).unwrap_or(100).max(1)
}

/// Counts `LEN SP MSG` frames in `buf`, keeping an incomplete one.
fn count_frames(buf: &mut Vec<u8>) -> u64 {
    let mut n = 0;
    let mut at = 0;
    while let Some(sp) = buf[at..].iter().position(|b| *b == b' ') {
        let Some(len) = std::str::from_utf8(&buf[at..at + sp])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            break;
        };
        if buf.len() < at + sp + 1 + len {
            break;
        }
        at += sp + 1 + len;
        n += 1;
    }
    buf.drain(..at);
    n
}

fn start_receiver(port: u16, frames: Arc<AtomicU64>) -> anyhow::Result<Receiver> {
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    listener.set_nonblocking(true)?;
    let stop = Arc::new(AtomicBool::new(false));
    let tid = Arc::new(AtomicU64::new(0));
    let (s, t, f) = (stop.clone(), tid.clone(), frames.clone());
    let thread = std::thread::spawn(move || {
        // SAFETY: gettid has no preconditions.
        t.store(unsafe { libc::gettid() } as u64, Ordering::Relaxed);
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let mut conn: Option<std::net::TcpStream> = None;
        while !s.load(Ordering::Relaxed) {
            if conn.is_none() {
                match listener.accept() {
                    Ok((c, _)) => {
                        let _ = c.set_nonblocking(false);
                        let _ = c.set_read_timeout(Some(Duration::from_millis(50)));
                        buf.clear();
                        conn = Some(c);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
                continue;
            }
            if let Some(c) = conn.as_mut() {
                match c.read(&mut chunk) {
                    Ok(0) => conn = None,
                    Ok(n) => {
                        buf.extend_from_slice(&chunk[..n]);
                        f.fetch_add(count_frames(&mut buf), Ordering::Relaxed);
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => conn = None,
                }
            }
        }
    });
    Ok(Receiver { stop, tid, thread })
}

impl Receiver {
    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// Logs `rate` records a second for `seconds`, in bursts every 10 ms.
async fn log_for(rate: u64, seconds: u64, next: &mut u64) -> u64 {
    let per_tick = (rate / 100).max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sent = 0;
    for _ in 0..seconds * 100 {
        tick.tick().await;
        for _ in 0..per_tick {
            tracing::info!(
                seq = *next,
                host = "host-0042",
                vm = "vm-1234",
                "a benchmark record of the log forwarding"
            );
            *next += 1;
            sent += 1;
        }
    }
    sent
}

pub async fn run(p: Params) -> anyhow::Result<()> {
    let forwarder = SyslogForwarder::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(forwarder.layer()),
    )?;
    let mut seq = 0;

    // Baseline: the same records with no receiver configured (the layer returns at once), so
    // the figure below can be read as the harness and tracing's share plus the forwarding's.
    let cpu0 = process_cpu();
    let t0 = Instant::now();
    log_for(p.rate, p.up_seconds, &mut seq).await;
    let baseline_percent =
        100.0 * process_cpu().saturating_sub(cpu0).as_secs_f64() / t0.elapsed().as_secs_f64();

    let port = ferrocenter_testkit::free_port();
    let frames = Arc::new(AtomicU64::new(0));
    let rx = start_receiver(port, frames.clone())?;
    let target = ForwardTarget {
        hostname: "127.0.0.1".into(),
        port,
        protocol: Protocol::Tcp,
    };
    forwarder.apply(std::slice::from_ref(&target));

    // Up: the forwarding's CPU and the messages lost.
    let cpu0 = process_cpu();
    let rx0 = thread_ticks(rx.tid.load(Ordering::Relaxed));
    let t0 = Instant::now();
    let logged = log_for(p.rate, p.up_seconds, &mut seq).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while frames.load(Ordering::Relaxed) < logged && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wall = t0.elapsed();
    let cpu = process_cpu().saturating_sub(cpu0);
    let rx_cpu = Duration::from_secs_f64(
        (thread_ticks(rx.tid.load(Ordering::Relaxed)) - rx0) as f64 / ticks_per_second() as f64,
    );
    let forwarding_cpu = cpu.saturating_sub(rx_cpu);
    let received_up = frames.load(Ordering::Relaxed);
    let c = forwarder.counters();
    let dropped_up = c.first().map_or(0, |c| c.dropped);

    // Down: the queue bounds memory; drops are counted.
    rx.stop();
    let mut max_queued = 0;
    let mut max_bytes = 0;
    let per_second = p.rate;
    let mut logged_down = 0;
    for _ in 0..p.down_seconds {
        logged_down += log_for(per_second, 1, &mut seq).await;
        if let Some(c) = forwarder.counters().first() {
            max_queued = max_queued.max(c.queued);
            max_bytes = max_bytes.max(c.queued_bytes);
        }
    }
    let down = forwarder.counters().first().cloned();
    let dropped_down = down.as_ref().map_or(0, |c| c.dropped) - dropped_up;

    // Back: what was queued arrives.
    let before_back = frames.load(Ordering::Relaxed);
    let rx = start_receiver(port, frames.clone())?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let q = forwarder.counters().first().map_or(0, |c| c.queued);
        if q == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered_after = frames.load(Ordering::Relaxed) - before_back;
    rx.stop();

    let report = json!({
        "scenario": "syslog-forwarding",
        "rate_per_second": p.rate,
        "baseline_no_receiver_cpu_percent_of_a_core": baseline_percent,
        "up": {
            "seconds": wall.as_secs_f64(),
            "logged": logged,
            "received": received_up,
            "lost": logged.saturating_sub(received_up),
            "dropped": dropped_up,
            "forwarding_cpu_percent_of_a_core": 100.0 * forwarding_cpu.as_secs_f64() / wall.as_secs_f64(),
            "receiver_cpu_seconds": rx_cpu.as_secs_f64(),
        },
        "down": {
            "seconds": p.down_seconds,
            "logged": logged_down,
            "queue_capacity": QUEUE_CAPACITY,
            "max_queued_messages": max_queued,
            "max_queued_bytes": max_bytes,
            "dropped": dropped_down,
        },
        "back": {"delivered_from_queue": delivered_after},
    });
    println!("{report:#}");
    println!(
        "syslog forwarding: {} records/s over TCP for {:.0} s: {:.2} % of a core ({:.2} % with no receiver), {} lost, {} dropped",
        p.rate,
        wall.as_secs_f64(),
        100.0 * forwarding_cpu.as_secs_f64() / wall.as_secs_f64(),
        baseline_percent,
        logged.saturating_sub(received_up),
        dropped_up
    );
    println!(
        "receiver down {} s: {} logged, queue at most {} messages ({} KiB; capacity {}), {} dropped; {} delivered when back",
        p.down_seconds,
        logged_down,
        max_queued,
        max_bytes / 1024,
        QUEUE_CAPACITY,
        dropped_down,
        delivered_after
    );
    Ok(())
}
