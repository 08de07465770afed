//! The server process's part of an update install, run once the server has stopped
//! (`ProcessAction::Install`; a rollback is one whose binary is `<exe>.previous`): the staged
//! binary checked against the install plan, the store
//! snapshotted when the update brings schema changes (SQLite), the running binary kept as
//! `<exe>.previous`, the new one renamed over it (atomic), and started once as a check (store
//! opened and migrated, listeners bound, then stopped). On success the process executes it;
//! otherwise the previous binary and store are put back and executed. The plan records which,
//! and the server that starts ends the install task with it.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use ferrocenter_core::update::{sha256_file, InstallOutcome, InstallPlan};

/// Set on the check run of a new binary: start, stop, exit 0 if both went well.
pub const START_CHECK_ENV: &str = "FERROCENTER_UPDATE_START_CHECK";

/// How long the new binary's start check may take.
const START_CHECK_LIMIT: Duration = Duration::from_secs(180);

/// What the install works on.
pub struct Install {
    /// The running binary's path, recorded when the process started (after the rename,
    /// `/proc/self/exe` names a deleted file).
    pub exe: PathBuf,
    pub plan_path: PathBuf,
    /// The SQLite database file, when the store is SQLite.
    pub sqlite_file: Option<PathBuf>,
    /// Where the rollback copies go.
    pub rollback_dir: PathBuf,
}

impl Install {
    /// Installs and executes the new binary, or puts the previous one back and executes it.
    /// Returns only when neither could be executed.
    pub fn run(&self) -> anyhow::Error {
        let mut plan = match InstallPlan::read(&self.plan_path) {
            Ok(Some(p)) => p,
            Ok(None) => return anyhow::anyhow!("no install plan at {}", self.plan_path.display()),
            Err(e) => return anyhow::Error::new(e).context("reading the install plan"),
        };
        let mut undo = Undo::default();
        plan.outcome = Some(InstallOutcome::Swapping);
        if let Err(e) = plan.write(&self.plan_path) {
            return anyhow::Error::new(e).context("recording the install's start");
        }
        let outcome = match self.swap(&plan, &mut undo) {
            Ok(()) => self.start_check(),
            Err(e) => Err(format!("{e:#}")),
        };
        let next = match outcome {
            Ok(()) => {
                plan.outcome = Some(InstallOutcome::Swapped);
                if let Err(e) = plan.write(&self.plan_path) {
                    // The new server would not know the install's end: go back.
                    self.roll_back(&mut plan, &undo, format!("the install plan: {e}"))
                } else {
                    eprintln!(
                        "ferrocenter serve: update {} installed; starting it",
                        plan.version
                    );
                    None
                }
            }
            Err(reason) => self.roll_back(&mut plan, &undo, reason),
        };
        if let Some(e) = next {
            return e;
        }
        let e = ferrocenter_system::exec_binary(&self.exe);
        let reason = format!("the new binary could not be executed: {e}");
        if let Some(e) = self.roll_back(&mut plan, &undo, reason) {
            return e;
        }
        anyhow::Error::new(ferrocenter_system::exec_binary(&self.exe))
            .context("executing the previous binary after a failed install")
    }

    /// Puts the previous binary and store back and records why; an error only when that failed.
    fn roll_back(
        &self,
        plan: &mut InstallPlan,
        undo: &Undo,
        reason: String,
    ) -> Option<anyhow::Error> {
        eprintln!(
            "ferrocenter serve: update {} not installed ({reason}); rolling back to {}",
            plan.version, plan.from_version
        );
        if let Err(e) = undo.apply(&self.exe) {
            return Some(e.context("rolling back a failed install"));
        }
        plan.outcome = Some(InstallOutcome::RolledBack { reason });
        if let Err(e) = plan.write(&self.plan_path) {
            eprintln!("ferrocenter serve: the install plan could not be written: {e}");
        }
        None
    }

    fn swap(&self, plan: &InstallPlan, undo: &mut Undo) -> anyhow::Result<()> {
        let previous = sibling(&self.exe, ".previous");
        // A rollback puts back the binary the last install kept.
        let source = if plan.rollback {
            &previous
        } else {
            &plan.binary
        };
        let incoming = sibling(&self.exe, ".incoming");
        std::fs::copy(source, &incoming)
            .with_context(|| format!("copying {} to {}", source.display(), incoming.display()))?;
        if !plan.rollback {
            let (_, sha) = sha256_file(&incoming)
                .with_context(|| format!("the staged binary {}", plan.binary.display()))?;
            if sha != plan.binary_sha256 {
                let _ = std::fs::remove_file(&incoming);
                anyhow::bail!(
                    "the staged binary {} changed since the install began",
                    plan.binary.display()
                );
            }
        }
        std::fs::create_dir_all(&self.rollback_dir)
            .with_context(|| format!("creating {}", self.rollback_dir.display()))?;
        clear_dir(&self.rollback_dir)?;
        if let (Some(_), Some(db)) = (plan.schema_version, &self.sqlite_file) {
            undo.store = snapshot_sqlite(db, &self.rollback_dir)?;
        }
        let kept = sibling(&self.exe, ".kept");
        std::fs::copy(&self.exe, &kept)
            .with_context(|| format!("keeping the running binary as {}", kept.display()))?;
        std::fs::rename(&kept, &previous)
            .with_context(|| format!("keeping the running binary as {}", previous.display()))?;
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&incoming, std::fs::Permissions::from_mode(0o755))?;
            std::fs::File::open(&incoming)?.sync_all()?;
        }
        std::fs::rename(&incoming, &self.exe)
            .with_context(|| format!("putting the new binary at {}", self.exe.display()))?;
        undo.binary = Some(previous);
        Ok(())
    }

    /// At start, before the server: an install the previous process stopped in the middle of
    /// (killed while swapping) is undone — the previous binary and the store copy put back —
    /// and recorded as rolled back. True when the binary was put back: the caller executes it.
    pub fn recover_interrupted(&self) -> anyhow::Result<bool> {
        let Some(mut plan) = InstallPlan::read(&self.plan_path)? else {
            return Ok(false);
        };
        let reason = match plan.outcome {
            Some(InstallOutcome::Swapping) => format!(
                "the server stopped while {} was being put in place",
                plan.version
            ),
            None => format!(
                "the server stopped before {} was put in place",
                plan.version
            ),
            // Ended: the core reads the outcome.
            Some(_) => return Ok(false),
        };
        let mut undo = Undo::default();
        let previous = sibling(&self.exe, ".previous");
        let swapped = matches!(plan.outcome, Some(InstallOutcome::Swapping))
            && !plan.rollback
            && previous.exists()
            && sha256_file(&self.exe).is_ok_and(|(_, sha)| sha == plan.binary_sha256);
        if swapped {
            undo.binary = Some(previous);
        }
        if matches!(plan.outcome, Some(InstallOutcome::Swapping)) {
            if let Some(db) = &self.sqlite_file {
                undo.store = copies_in(&self.rollback_dir, db)?;
            }
        }
        eprintln!("ferrocenter serve: {reason}; putting the previous version back");
        undo.apply(&self.exe)?;
        plan.outcome = Some(InstallOutcome::RolledBack { reason });
        plan.write(&self.plan_path)?;
        Ok(swapped)
    }

    /// Runs the new binary with this process's arguments in check mode.
    fn start_check(&self) -> Result<(), String> {
        let mut child = Command::new(&self.exe)
            .args(std::env::args_os().skip(1))
            .env(START_CHECK_ENV, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("the new binary could not be run: {e}"))?;
        // Read aside so a chatty start cannot fill the pipe and stall.
        let stderr = child.stderr.take();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut e) = stderr {
                let _ = e.read_to_end(&mut out);
            }
            out
        });
        let deadline = Instant::now() + START_CHECK_LIMIT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Ok(s),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(format!(
                        "the new binary did not finish its start check within {} s",
                        START_CHECK_LIMIT.as_secs()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(100)),
                Err(e) => break Err(format!("the new binary's start check: {e}")),
            }
        };
        let err = reader.join().unwrap_or_default();
        let status = status?;
        if status.success() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&err);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        Err(format!(
            "the new binary did not start ({status}): {}",
            last.trim()
        ))
    }
}

/// What the swap changed, to put back.
#[derive(Default)]
struct Undo {
    /// `<exe>.previous`, once the new binary is in place.
    binary: Option<PathBuf>,
    /// The SQLite files copied aside: (copy, original).
    store: Vec<(PathBuf, PathBuf)>,
}

impl Undo {
    fn apply(&self, exe: &Path) -> anyhow::Result<()> {
        if let Some(previous) = &self.binary {
            let back = sibling(exe, ".incoming");
            std::fs::copy(previous, &back)
                .with_context(|| format!("copying {} back", previous.display()))?;
            std::fs::rename(&back, exe)
                .with_context(|| format!("putting the previous binary at {}", exe.display()))?;
        }
        if !self.store.is_empty() {
            let original = &self.store[0].1;
            // The snapshot is whole: journal files the check left beside the database go.
            for suffix in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(with_suffix(original, suffix));
            }
            for (copy, original) in &self.store {
                std::fs::copy(copy, original)
                    .with_context(|| format!("restoring {}", original.display()))?;
            }
        }
        Ok(())
    }
}

/// Empties `dir` (made if missing): a snapshot never mixes with an older one's files.
fn clear_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(anyhow::Error::new(e).context(format!("emptying {}", dir.display()))),
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// The store copies a snapshot left in `dir`, paired with the files they replace.
fn copies_in(dir: &Path, db: &Path) -> anyhow::Result<Vec<(PathBuf, PathBuf)>> {
    let mut out = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let original = with_suffix(db, suffix);
        let Some(name) = original.file_name() else {
            continue;
        };
        let copy = dir.join(name);
        if copy.exists() {
            out.push((copy, original));
        }
    }
    Ok(out)
}

/// Copies the database and its journal files (the stopped server checkpointed it) aside.
fn snapshot_sqlite(db: &Path, dir: &Path) -> anyhow::Result<Vec<(PathBuf, PathBuf)>> {
    let mut copies = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let original = with_suffix(db, suffix);
        if !original.exists() {
            continue;
        }
        let name = original
            .file_name()
            .map(std::ffi::OsStr::to_os_string)
            .unwrap_or_default();
        let copy = dir.join(name);
        std::fs::copy(&original, &copy)
            .with_context(|| format!("snapshotting {}", original.display()))?;
        copies.push((copy, original));
    }
    Ok(copies)
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// `<exe><suffix>` beside the binary: on its file system, so a rename is atomic.
fn sibling(exe: &Path, suffix: &str) -> PathBuf {
    with_suffix(exe, suffix)
}
