//! The real `ports::Lifecycle`: a restart or stop of the server process is handed to the
//! server's main loop ([`ProcessRequests`]), which stops the way a SIGTERM does (listeners
//! drained, tasks ended, the store checkpointed) and then exits or, for a restart, executes its
//! own binary again ([`reexec`]). The machine is rebooted or powered off with `systemctl`, and
//! only when the server is configured to allow it.
use async_trait::async_trait;
use ferrocenter_core::ports::{Lifecycle, MachineAction, MachineError, ProcessAction};
use tokio::sync::watch;

/// Exit code when the binary cannot be executed again for a restart: EX_TEMPFAIL, so that a
/// service manager (systemd `Restart=on-failure`) starts it again.
pub const EXIT_RESTART: u8 = 75;

pub struct SystemLifecycle {
    allow_machine_actions: bool,
    requests: watch::Sender<Option<ProcessAction>>,
}

/// Where the server's main loop learns that the process is to restart or stop.
pub struct ProcessRequests(watch::Receiver<Option<ProcessAction>>);

impl ProcessRequests {
    /// Resolves with the first action asked for; never, if none is.
    pub async fn next(&mut self) -> ProcessAction {
        loop {
            if let Some(a) = *self.0.borrow_and_update() {
                return a;
            }
            if self.0.changed().await.is_err() {
                // The lifecycle is gone: nothing can ask any more.
                std::future::pending::<()>().await;
            }
        }
    }
}

impl SystemLifecycle {
    pub fn new(allow_machine_actions: bool) -> (SystemLifecycle, ProcessRequests) {
        let (tx, rx) = watch::channel(None);
        (
            SystemLifecycle {
                allow_machine_actions,
                requests: tx,
            },
            ProcessRequests(rx),
        )
    }
}

#[async_trait]
impl Lifecycle for SystemLifecycle {
    fn acts_on_machine(&self) -> bool {
        self.allow_machine_actions
    }

    async fn process(&self, action: ProcessAction) -> Result<(), MachineError> {
        self.requests.send_replace(Some(action));
        Ok(())
    }

    async fn machine(&self, action: MachineAction) -> Result<(), MachineError> {
        if !self.allow_machine_actions {
            return Err(MachineError::Unavailable(
                "acting on the machine is not allowed (appliance_machine_actions is false)".into(),
            ));
        }
        let verb = match action {
            MachineAction::Reboot => "reboot",
            MachineAction::PowerOff => "poweroff",
        };
        let out = tokio::process::Command::new("systemctl")
            .arg(verb)
            .output()
            .await
            .map_err(|e| MachineError::Failed(format!("systemctl {verb}: {e}")))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(MachineError::Failed(format!(
                "systemctl {verb} ended with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }
}

/// Replaces this process with a new run of its own binary with the same arguments and
/// environment; returns only if that fails.
pub fn reexec() -> std::io::Error {
    match std::env::current_exe() {
        Ok(p) => exec_binary(&p),
        Err(e) => e,
    }
}

/// Replaces this process with a run of `exe` with this process's arguments and environment
/// (an update's binary, put where this one was: the same pid, so a service manager sees one
/// process throughout); returns only if that fails.
pub fn exec_binary(exe: &std::path::Path) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let mut args = std::env::args_os();
    let mut cmd = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        cmd.arg0(arg0);
    }
    cmd.args(args).exec()
}
