//! Agent bootstrap over SSH (the core's `HostInstaller` port), with `russh`: log in with the
//! add's password or the server's own key, check the host can run KVM guests, copy this
//! server's agent (its own executable: `ferrocenter agent` is a subcommand of it), write the
//! agent's first state and start it as a systemd service or, without systemd, under a
//! restarting shell loop.
mod error;
pub mod remote;
mod session;

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_core::ports::{
    AgentInstall, HostInstaller, Installed, ServerKey, SshLogin, SshTarget, Supervision,
};
use ferrocenter_core::CoreError;
use russh::keys::{Algorithm, PrivateKey};
use sha2::Digest;
use tokio::io::AsyncRead;

pub use error::SshError;
pub use remote::Layout;
pub use session::fingerprint;
use session::{Credential, Session};

/// How the installer reaches hosts and what it installs.
#[derive(Debug, Clone)]
pub struct InstallerConfig {
    /// The agent binary copied to hosts: this server's own executable by default.
    pub agent_binary: PathBuf,
    pub layout: Layout,
    pub connect_timeout: Duration,
    /// The longest one remote step (the copy of the binary among them) may take.
    pub command_timeout: Duration,
}

impl InstallerConfig {
    /// This server's executable, installed under `/opt/ferrocenter-agent` with its state in
    /// `/var/lib/ferrocenter-agent`, driving libvirt.
    pub fn this_server() -> Result<InstallerConfig, SshError> {
        let agent_binary = std::env::current_exe()
            .map_err(|e| SshError::Local(format!("this server's executable: {e}")))?;
        Ok(InstallerConfig {
            agent_binary,
            layout: Layout {
                install_dir: "/opt/ferrocenter-agent".into(),
                data_dir: "/var/lib/ferrocenter-agent".into(),
                driver: "libvirt".into(),
            },
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(600),
        })
    }
}

pub struct SshInstaller {
    config: InstallerConfig,
}

impl SshInstaller {
    pub fn new(config: InstallerConfig) -> SshInstaller {
        SshInstaller { config }
    }

    async fn binary_digest(&self) -> Result<(String, u64), SshError> {
        let path = self.config.agent_binary.clone();
        tokio::task::spawn_blocking(move || {
            let mut f = std::fs::File::open(&path)
                .map_err(|e| SshError::Local(format!("{}: {e}", path.display())))?;
            let mut h = sha2::Sha256::new();
            let n = std::io::copy(&mut f, &mut h)
                .map_err(|e| SshError::Local(format!("{}: {e}", path.display())))?;
            Ok((hex(&h.finalize()), n))
        })
        .await
        .map_err(|e| SshError::Local(e.to_string()))?
    }

    async fn run_step(
        &self,
        s: &Session,
        what: &str,
        command: &str,
        stdin: Option<&mut (dyn AsyncRead + Unpin + Send)>,
    ) -> Result<String, SshError> {
        let out = s.run(command, stdin).await?;
        if !out.success() {
            let status = out
                .status
                .map_or_else(|| "no exit status".to_string(), |c| format!("exit {c}"));
            return Err(SshError::Step(format!(
                "{what} failed on the host ({status}): {}",
                out.stderr_tail()
            )));
        }
        Ok(out.stdout_text())
    }

    async fn install_over(
        &self,
        s: &Session,
        login: &SshLogin,
        server_key: &ServerKey,
        install: &AgentInstall,
    ) -> Result<Installed, SshError> {
        let user = login.user();
        let layout = &self.config.layout;
        let found = remote::parse_probe(
            &self
                .run_step(s, "checking the host", &remote::probe(layout), None)
                .await?,
        );
        let get = |k: &str| found.get(k).map(String::as_str).unwrap_or("");
        let architecture = get("arch").to_string();
        if architecture != std::env::consts::ARCH {
            return Err(SshError::Unsuitable(format!(
                "the host's architecture is {architecture}; this server's agent is built for {}",
                std::env::consts::ARCH
            )));
        }
        // /dev/kvm, not the CPU flags: a nested hypervisor may hide vmx/svm from /proc/cpuinfo
        // and still offer KVM.
        if get("kvm") != "yes" {
            let hint = if get("virt") == "yes" {
                "load kvm_intel or kvm_amd"
            } else {
                "the CPU shows no vmx/svm flag: enable virtualization in the firmware, then load kvm_intel or kvm_amd"
            };
            return Err(SshError::Unsuitable(format!(
                "KVM is not available: /dev/kvm is missing ({hint})"
            )));
        }
        // A KVM host is one libvirt runs, whichever driver the agent is given.
        if get("libvirt") != "yes" {
            return Err(SshError::Unsuitable(
                "libvirt is not running: qemu:///system does not answer (install libvirt-daemon-system and start libvirtd)".into(),
            ));
        }
        let supervision = if get("systemd") == "yes" {
            Supervision::Systemd
        } else {
            Supervision::Supervised
        };
        let (digest, size) = self.binary_digest().await?;
        let mut copied_bytes = 0;
        if get("agent_sha256") != digest {
            let mut file = tokio::fs::File::open(&self.config.agent_binary)
                .await
                .map_err(|e| {
                    SshError::Local(format!("{}: {e}", self.config.agent_binary.display()))
                })?;
            self.run_step(
                s,
                "copying the agent",
                &remote::as_root(user, &remote::receive_binary(layout, &digest)),
                Some(&mut file),
            )
            .await?;
            copied_bytes = size;
        }
        if matches!(login, SshLogin::Password { .. }) {
            self.run_step(
                s,
                "authorizing the server's key",
                &remote::authorize_key(&server_key.public_openssh),
                None,
            )
            .await?;
        }
        if get("state") != "yes" {
            let Some(password) = install.admin_password.as_deref() else {
                return Err(SshError::Step(
                    "the agent on the host has no state, and no password was given for its administrator".into(),
                ));
            };
            let mut input = std::io::Cursor::new(format!("{password}\n").into_bytes());
            self.run_step(
                s,
                "initialising the agent",
                &remote::as_root(user, &remote::init_agent(layout, &install.admin_user)),
                Some(&mut input),
            )
            .await?;
        }
        self.run_step(
            s,
            "starting the agent",
            &remote::as_root(
                user,
                &remote::start_agent(layout, install.agent_port, supervision),
            ),
            None,
        )
        .await?;
        Ok(Installed {
            host_key: s.host_key.clone(),
            architecture,
            supervision,
            copied_bytes,
        })
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The core's fault for an SSH error on `name`.
fn fault(name: &str, e: SshError) -> CoreError {
    match e {
        SshError::LoginRefused => CoreError::InvalidLogin,
        SshError::Unreachable(reason) => CoreError::NoHost {
            name: name.to_string(),
            reason,
        },
        SshError::Local(message) => CoreError::Internal { message },
        other => CoreError::HostConnect {
            name: name.to_string(),
            reason: other.to_string(),
        },
    }
}

#[async_trait]
impl HostInstaller for SshInstaller {
    fn available(&self) -> bool {
        true
    }

    fn new_server_key(&self) -> Result<ServerKey, CoreError> {
        let key = PrivateKey::random(&mut rand_core::OsRng, Algorithm::Ed25519)
            .map_err(|e| CoreError::internal(format!("SSH key: {e}")))?;
        let private_openssh = key
            .to_openssh(russh::keys::ssh_key::LineEnding::LF)
            .map_err(|e| CoreError::internal(format!("SSH key: {e}")))?
            .to_string();
        let mut public = key.public_key().clone();
        public.set_comment("ferrocenter");
        let public_openssh = public
            .to_openssh()
            .map_err(|e| CoreError::internal(format!("SSH key: {e}")))?;
        Ok(ServerKey {
            private_openssh,
            public_openssh,
        })
    }

    async fn install(
        &self,
        target: &SshTarget,
        login: &SshLogin,
        server_key: &ServerKey,
        install: &AgentInstall,
    ) -> Result<Installed, CoreError> {
        let key;
        let credential = match login {
            SshLogin::Password { password, .. } => Credential::Password(password),
            SshLogin::ServerKey { .. } => {
                key = PrivateKey::from_openssh(&server_key.private_openssh)
                    .map_err(|e| CoreError::internal(format!("the server's SSH key: {e}")))?;
                Credential::Key(&key)
            }
        };
        let session = Session::open(
            &target.address,
            target.port,
            target.host_key.as_deref(),
            login.user(),
            credential,
            self.config.connect_timeout,
            self.config.command_timeout,
        )
        .await
        .map_err(|e| fault(&target.name, e))?;
        let r = self
            .install_over(&session, login, server_key, install)
            .await;
        session.close().await;
        r.map_err(|e| fault(&target.name, e))
    }
}
