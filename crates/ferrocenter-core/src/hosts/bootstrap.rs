//! Agent bootstrap: a host added with SSH credentials whose agent does not answer gets this
//! server's agent installed over SSH first (ZStack's AddKVMHost deploys its agent the same way).
//! The password is used for that one login: what is kept is the host key's fingerprint (to
//! recognise the host next time) and, on the host, this server's public key (so a later
//! reinstall needs no password).
use serde::{Deserialize, Serialize};

use crate::ports::{AgentInstall, Installed, ServerKey, SshLogin, SshTarget};
use crate::{Core, CoreError};

/// The setting holding the server's SSH key pair, sealed with the server's secret key.
const SERVER_KEY_SETTING: &str = "hosts.ssh_server_key";

/// The system tag that pins a host's SSH key (`sshHostKey::SHA256:…`) instead of trusting the
/// key presented on first use.
pub const SSH_HOST_KEY_TAG: &str = "sshHostKey::";

#[derive(Serialize, Deserialize)]
struct StoredKey {
    private_openssh: String,
    public_openssh: String,
}

/// A pinned host key from the system tags, if any.
pub fn pinned_host_key(system_tags: &[String]) -> Result<Option<String>, CoreError> {
    let Some(v) = system_tags
        .iter()
        .find_map(|t| t.strip_prefix(SSH_HOST_KEY_TAG))
    else {
        return Ok(None);
    };
    let ok = v
        .strip_prefix("SHA256:")
        .is_some_and(|b| (40..=44).contains(&b.len()) && b.bytes().all(is_base64));
    if !ok {
        return Err(CoreError::invalid(
            "systemTags",
            format!("{SSH_HOST_KEY_TAG} must be followed by an OpenSSH SHA256 fingerprint (SHA256:<base64>)"),
        ));
    }
    Ok(Some(v.to_string()))
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

impl Core {
    /// Whether adds and reconnects may install agents over SSH.
    pub fn can_bootstrap(&self) -> bool {
        self.installer.available()
    }

    /// The server's SSH key pair, made on first use. Two servers on one store making it at once
    /// keep the first one written.
    async fn server_ssh_key(&self) -> Result<ServerKey, CoreError> {
        if let Some(sealed) = self.store.get_setting(SERVER_KEY_SETTING).await? {
            return self.unseal_server_key(&sealed);
        }
        let key = self.installer.new_server_key()?;
        let stored = serde_json::to_string(&StoredKey {
            private_openssh: key.private_openssh.clone(),
            public_openssh: key.public_openssh.clone(),
        })
        .map_err(|e| CoreError::internal(format!("server key: {e}")))?;
        let sealed = self.secrets.seal(&stored)?;
        if self
            .store
            .put_setting_if_absent(SERVER_KEY_SETTING, &sealed)
            .await?
        {
            return Ok(key);
        }
        let sealed = self
            .store
            .get_setting(SERVER_KEY_SETTING)
            .await?
            .ok_or_else(|| CoreError::internal("the server's SSH key vanished"))?;
        self.unseal_server_key(&sealed)
    }

    fn unseal_server_key(&self, sealed: &str) -> Result<ServerKey, CoreError> {
        let plain = self.secrets.open(sealed)?;
        let k: StoredKey = serde_json::from_str(&plain)
            .map_err(|e| CoreError::internal(format!("server key: {e}")))?;
        Ok(ServerKey {
            private_openssh: k.private_openssh,
            public_openssh: k.public_openssh,
        })
    }

    /// Installs and starts this server's agent on a host over SSH.
    pub(crate) async fn install_agent(
        &self,
        target: &SshTarget,
        login: &SshLogin,
        install: &AgentInstall,
    ) -> Result<Installed, CoreError> {
        let key = self.server_ssh_key().await?;
        let installed = self.installer.install(target, login, &key, install).await?;
        tracing::info!(
            host = %target.name,
            host_key = %installed.host_key,
            supervision = installed.supervision.as_str(),
            copied_bytes = installed.copied_bytes,
            "agent installed over SSH"
        );
        Ok(installed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_key_must_be_a_sha256_fingerprint() {
        let good = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
        assert_eq!(
            pinned_host_key(&[format!("{SSH_HOST_KEY_TAG}{good}")]).unwrap(),
            Some(good.to_string())
        );
        assert_eq!(pinned_host_key(&["other::x".into()]).unwrap(), None);
        for bad in [
            "MD5:aa:bb",
            "SHA256:",
            "SHA256:short",
            "SHA256:not base64 at all!!!!!!!!!!!!!!!!!!!!!",
        ] {
            let e = pinned_host_key(&[format!("{SSH_HOST_KEY_TAG}{bad}")]).unwrap_err();
            assert!(
                matches!(&e, CoreError::InvalidArgument { field, .. } if field == "systemTags"),
                "{bad}: {e:?}"
            );
        }
    }
}
