//! The commands the installer runs on a host, as POSIX shell. Every value put into them is
//! quoted by `quote`; none carries a password (that goes on standard input).
use std::collections::BTreeMap;

use ferrocenter_core::ports::Supervision;

/// Where the agent lives on a host and how it runs.
#[derive(Debug, Clone)]
pub struct Layout {
    pub install_dir: String,
    pub data_dir: String,
    pub driver: String,
}

impl Layout {
    pub fn binary(&self) -> String {
        format!("{}/ferrocenter", self.install_dir)
    }
}

/// Single-quotes `s` for a POSIX shell.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs `script` as root: directly for root, through `sudo -n` (no password prompt) otherwise.
pub fn as_root(user: &str, script: &str) -> String {
    if user == "root" {
        format!("sh -c {}", quote(script))
    } else {
        format!("sudo -n sh -c {}", quote(script))
    }
}

/// Prints `key=value` lines: what the host is and what of the agent it has.
pub fn probe(layout: &Layout) -> String {
    format!(
        r#"echo "arch=$(uname -m)"
if [ -c /dev/kvm ]; then echo kvm=yes; else echo kvm=no; fi
if grep -qE 'vmx|svm' /proc/cpuinfo 2>/dev/null; then echo virt=yes; else echo virt=no; fi
if command -v virsh >/dev/null 2>&1; then
  if timeout 10 virsh -c qemu:///system uri >/dev/null 2>&1; then echo libvirt=yes; else echo libvirt=no; fi
elif [ -S /run/libvirt/libvirt-sock ] || [ -S /run/libvirt/virtqemud-sock ]; then echo libvirt=yes
else echo libvirt=no; fi
if [ -d /run/systemd/system ]; then echo systemd=yes; else echo systemd=no; fi
if [ -f {bin} ]; then echo "agent_sha256=$(sha256sum {bin} | cut -d' ' -f1)"; fi
if [ -f {state} ]; then echo state=yes; else echo state=no; fi
"#,
        bin = quote(&layout.binary()),
        state = quote(&format!("{}/state.json", layout.data_dir)),
    )
}

/// The probe's answers.
pub fn parse_probe(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Receives the agent binary on standard input, checks its digest and puts it in place
/// atomically (a running agent keeps its old file until it restarts).
pub fn receive_binary(layout: &Layout, sha256: &str) -> String {
    let bin = layout.binary();
    let new = format!("{bin}.new");
    format!(
        r#"set -e
umask 022
mkdir -p {dir}
cat > {new}
chmod 755 {new}
sum=$(sha256sum {new} | cut -d' ' -f1)
if [ "$sum" != {sum} ]; then rm -f {new}; echo "the copied agent's SHA-256 is $sum, not the server's" >&2; exit 3; fi
mv -f {new} {bin}
"#,
        dir = quote(&layout.install_dir),
        new = quote(&new),
        bin = quote(&bin),
        sum = quote(sha256),
    )
}

/// Adds the server's public key to the login account's authorized keys, once.
pub fn authorize_key(public_openssh: &str) -> String {
    let key = quote(public_openssh.trim());
    format!(
        r#"set -e
umask 077
mkdir -p "$HOME/.ssh"
touch "$HOME/.ssh/authorized_keys"
grep -qxF {key} "$HOME/.ssh/authorized_keys" || echo {key} >> "$HOME/.ssh/authorized_keys"
"#
    )
}

/// Writes a new agent's state; root's password arrives on standard input.
pub fn init_agent(layout: &Layout, admin_user: &str) -> String {
    format!(
        "{bin} agent --init-only --root-password-stdin --data-dir {data} --root-user {user}",
        bin = quote(&layout.binary()),
        data = quote(&layout.data_dir),
        user = quote(admin_user),
    )
}

fn agent_command(layout: &Layout, port: u16) -> String {
    format!(
        "{bin} agent --data-dir {data} --listen 0.0.0.0:{port} --driver {driver}",
        bin = quote(&layout.binary()),
        data = quote(&layout.data_dir),
        driver = quote(&layout.driver),
    )
}

/// Installs and (re)starts the agent as a systemd service or, without systemd, under a shell
/// loop that restarts it, started in a session of its own so it outlives the SSH login.
pub fn start_agent(layout: &Layout, port: u16, supervision: Supervision) -> String {
    let command = agent_command(layout, port);
    match supervision {
        Supervision::Systemd => format!(
            r#"set -e
cat > /etc/systemd/system/ferrocenter-agent.service <<'UNIT'
[Unit]
Description=ferrocenter host agent
After=network-online.target libvirtd.service
Wants=network-online.target

[Service]
ExecStart={command}
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable ferrocenter-agent.service >/dev/null 2>&1
systemctl restart ferrocenter-agent.service
"#
        ),
        Supervision::Supervised => {
            let dir = &layout.install_dir;
            let pid = quote(&format!("{dir}/supervisor.pid"));
            let script = quote(&format!("{dir}/supervise.sh"));
            let log = quote(&format!("{dir}/agent.out"));
            format!(
                r#"set -e
umask 022
cat > {script} <<'LOOP'
#!/bin/sh
# Keeps the ferrocenter agent running on a host without systemd; TERM stops both.
echo $$ > {pid}
child=
trap 'if [ -n "$child" ]; then kill "$child" 2>/dev/null; wait "$child"; fi; exit 0' TERM INT
while :; do
  {command} >> {log} 2>&1 &
  child=$!
  wait "$child" || true
  child=
  sleep 2
done
LOOP
chmod 755 {script}
if [ -f {pid} ]; then
  old=$(cat {pid})
  if kill "$old" 2>/dev/null; then
    i=0; while kill -0 "$old" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  fi
fi
setsid -f sh {script} </dev/null >/dev/null 2>&1
"#
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes_and_shell_syntax() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", quote("it's $(not) `run`; \"x\"")))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "it's $(not) `run`; \"x\""
        );
    }

    #[test]
    fn the_probe_runs_in_a_plain_shell_and_says_what_it_found() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout {
            install_dir: dir.path().join("opt").display().to_string(),
            data_dir: dir.path().join("data").display().to_string(),
            driver: "libvirt".into(),
        };
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/state.json"), "{}").unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(probe(&layout))
            .output()
            .unwrap();
        let found = parse_probe(&String::from_utf8(out.stdout).unwrap());
        assert_eq!(found["arch"], std::env::consts::ARCH);
        assert_eq!(found["state"], "yes");
        assert!(!found.contains_key("agent_sha256"), "{found:?}");
        for k in ["kvm", "virt", "libvirt", "systemd"] {
            assert!(matches!(found[k].as_str(), "yes" | "no"), "{k}: {found:?}");
        }
    }

    #[test]
    fn a_copied_binary_whose_digest_differs_is_not_put_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout {
            install_dir: dir.path().join("opt").display().to_string(),
            data_dir: dir.path().join("data").display().to_string(),
            driver: "sim".into(),
        };
        let run = |sum: &str| {
            let mut child = std::process::Command::new("sh")
                .arg("-c")
                .arg(receive_binary(&layout, sum))
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"agent").unwrap();
            child.wait_with_output().unwrap()
        };
        let bad = run("00");
        assert_eq!(bad.status.code(), Some(3));
        assert!(!std::path::Path::new(&layout.binary()).exists());
        // sha256("agent")
        use sha2::Digest;
        let good = hex(&sha2::Sha256::digest(b"agent"));
        assert!(run(&good).status.success());
        assert_eq!(std::fs::read(layout.binary()).unwrap(), b"agent");
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
