//! A daemon run in the foreground, stopped on drop.
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct Daemon {
    child: Child,
    name: &'static str,
}

impl Daemon {
    /// Spawns `command` and waits until `port` on loopback accepts a connection; panics with the
    /// daemon's log tail if it exits or never listens.
    pub(crate) fn spawn(
        name: &'static str,
        mut command: Command,
        port: u16,
        log: &std::path::Path,
    ) -> Daemon {
        let out = std::fs::File::create(log).expect("creating the daemon's log");
        let err = out.try_clone().expect("cloning the log handle");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        let mut daemon = Daemon { child, name };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return daemon;
            }
            if let Ok(Some(status)) = daemon.child.try_wait() {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                panic!("{name} exited ({status}) before listening on {port}: {text}");
            }
            if Instant::now() > deadline {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                panic!("{name} did not listen on {port} within 15 s: {text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Daemon {
    /// Asks the daemon to stop (SIGTERM) without waiting: dropping it waits.
    pub fn terminate(&self) {
        // SAFETY: kill on our own child's pid, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill on our own child's pid, which has not been reaped yet.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
