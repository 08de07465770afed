//! `ferrocenter agent --init-only`: a new agent's state (its administrator account) and TLS
//! identity written before the agent first runs, so the service that runs it never needs the
//! administrator's password. The SSH bootstrap pipes the password in on standard input.
use std::path::Path;

use ferrocenter_agent_client::wire::LockdownMode;

use crate::accounts::{hash_root_password, AccountsState};
use crate::agent::Persisted;
use crate::serve::{hostname, AgentStartError};
use crate::tls;

/// What `init_state` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Initialised {
    /// State written; the agent's certificate has this thumbprint.
    New { thumbprint: String },
    /// The agent had state already: its accounts are kept, the password is not used.
    Kept { thumbprint: String },
}

/// Writes the state of an agent that has none: `root_user` with `root_password` as its
/// administrator, no claim, no flags. An agent with state keeps it.
pub fn init_state(
    data_dir: &Path,
    root_user: &str,
    root_password: &str,
) -> Result<Initialised, AgentStartError> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| AgentStartError::DataDir(format!("{}: {e}", data_dir.display())))?;
    let host = hostname();
    let id = tls::load_or_create(data_dir, vec![host.clone(), "localhost".into()])
        .map_err(AgentStartError::Tls)?;
    let state_file = data_dir.join("state.json");
    if state_file.exists() {
        return Ok(Initialised::Kept {
            thumbprint: id.thumbprint,
        });
    }
    let hash =
        hash_root_password(root_password).map_err(|_| AgentStartError::RootPasswordInvalid)?;
    let state = Persisted {
        accounts: AccountsState::new(root_user, hash.into()),
        claim: None,
        maintenance: false,
        lockdown: LockdownMode::Disabled,
        quarantined: false,
        hostname: host,
        vms: Vec::new(),
    };
    let tmp = state_file.with_extension("tmp");
    serde_json::to_vec_pretty(&state)
        .map_err(std::io::Error::other)
        .and_then(|b| std::fs::write(&tmp, b))
        .and_then(|_| std::fs::rename(&tmp, &state_file))
        .map_err(|e| AgentStartError::DataDir(format!("{}: {e}", state_file.display())))?;
    Ok(Initialised::New {
        thumbprint: id.thumbprint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_agent_gets_its_administrator_and_an_initialised_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let first = init_state(dir.path(), "admin", "first-password").unwrap();
        let Initialised::New { thumbprint } = first else {
            panic!("{first:?}")
        };
        let state: Persisted =
            serde_json::from_slice(&std::fs::read(dir.path().join("state.json")).unwrap()).unwrap();
        let saved = serde_json::to_string(&state.accounts).unwrap();
        assert!(saved.contains("admin"), "{saved}");
        assert!(
            !saved.contains("first-password"),
            "the password is stored hashed"
        );
        let again = init_state(dir.path(), "other", "second-password").unwrap();
        assert_eq!(again, Initialised::Kept { thumbprint });
        let kept: Persisted =
            serde_json::from_slice(&std::fs::read(dir.path().join("state.json")).unwrap()).unwrap();
        assert_eq!(serde_json::to_string(&kept.accounts).unwrap(), saved);
        assert!(matches!(
            init_state(tempfile::tempdir().unwrap().path(), "admin", "short"),
            Err(AgentStartError::RootPasswordInvalid)
        ));
    }
}
