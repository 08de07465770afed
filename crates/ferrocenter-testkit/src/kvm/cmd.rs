//! Running the system tools the harness drives (`ip`, `virsh`, `nsenter`, …) and turning a
//! failure into a [`KvmError`] that names the command and carries its stderr.
use std::process::{Command, Output};

use super::KvmError;

/// Runs `cmd` to completion; non-zero exit is an error carrying the command line and stderr.
pub(crate) fn run(cmd: &mut Command) -> Result<Output, KvmError> {
    let line = describe(cmd);
    let out = cmd
        .output()
        .map_err(|e| KvmError::setup(&line, e.to_string()))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(KvmError::setup(
            &line,
            format!(
                "{}: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout).trim()
            ),
        ))
    }
}

/// Runs `cmd` and returns its stdout as text.
pub(crate) fn stdout(cmd: &mut Command) -> Result<String, KvmError> {
    run(cmd).map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// Runs `cmd`, ignoring failure: teardown and stale cleanup remove what may already be gone.
pub(crate) fn quiet(cmd: &mut Command) {
    let _ = cmd.output();
}

pub(crate) fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// `ip` with the given arguments.
pub(crate) fn ip(args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(args);
    c
}
