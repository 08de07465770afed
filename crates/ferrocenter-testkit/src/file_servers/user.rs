//! A system user that exists only while a test's server runs: a random name and password, its
//! home the directory where the server stores files. `userdel` removes it on drop.
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub struct ThrowawayUser {
    pub name: String,
    pub password: String,
    /// The user's home directory, owned by the user.
    pub home: PathBuf,
}

fn random_word(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyz23456789";
    let mut buf = vec![0u8; len];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .unwrap();
    buf.iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Runs a shadow-utils command, retrying while another test holds /etc/passwd's lock.
fn run_locked(program: &str, args: &[&str], stdin: Option<&str>) {
    for attempt in 0..50 {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
            input.write_all(text.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            return;
        }
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        // useradd/userdel exit 10 (or say "lock") while /etc/passwd is locked by a sibling test.
        if attempt < 49 && (out.status.code() == Some(10) || err.contains("lock")) {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        panic!("{program} {args:?} failed: {err}");
    }
}

impl ThrowawayUser {
    /// A user whose home is `<parent>/home`; `parent` is made traversable for it.
    pub fn create(parent: &Path) -> ThrowawayUser {
        let name = format!("fcbk{}", random_word(8));
        let password = random_word(20);
        let home = parent.join("home");
        std::fs::create_dir_all(&home).unwrap();
        // The temporary directory is 0700; the user must traverse it to reach its home.
        std::fs::set_permissions(parent, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let home_str = home.to_str().unwrap().to_string();
        run_locked(
            "useradd",
            &[
                "--no-create-home",
                "--home-dir",
                &home_str,
                "--shell",
                "/bin/sh",
                "--no-user-group",
                "--gid",
                "users",
                &name,
            ],
            None,
        );
        // The password on chpasswd's stdin, never in argv.
        run_locked("chpasswd", &[], Some(&format!("{name}:{password}\n")));
        let status = Command::new("chown")
            .args([&format!("{name}:users"), &home_str])
            .status()
            .unwrap();
        assert!(status.success(), "chown of the throwaway user's home");
        ThrowawayUser {
            name,
            password,
            home,
        }
    }
}

/// The processes running as `uid`: only the test servers' sessions for this user.
fn processes_of(uid: u32) -> Vec<libc::pid_t> {
    use std::os::unix::fs::MetadataExt;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<libc::pid_t>().ok()?;
            (e.metadata().ok()?.uid() == uid).then_some(pid)
        })
        .collect()
}

fn uid_of(name: &str) -> Option<u32> {
    let out = Command::new("id").args(["-u", name]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

impl Drop for ThrowawayUser {
    fn drop(&mut self) {
        let uid = uid_of(&self.name);
        // A session process of the user can outlive its server by a moment (sshd's sessions
        // end when their connection does); after a grace period the ones still there are ended
        // by pid, so that no process of a removed user is left behind.
        if let Some(uid) = uid {
            for attempt in 0..50 {
                let left = processes_of(uid);
                if left.is_empty() {
                    break;
                }
                if attempt == 30 {
                    for pid in left {
                        // SAFETY: kill has no memory-safety preconditions; the pid runs as
                        // this test's throwaway user, so it is one of the test servers' sessions.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        for _ in 0..50 {
            match Command::new("userdel").arg(&self.name).output() {
                // 6: already gone.
                Ok(o) if o.status.success() || o.status.code() == Some(6) => return,
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        eprintln!("could not remove the throwaway user {}", self.name);
    }
}
