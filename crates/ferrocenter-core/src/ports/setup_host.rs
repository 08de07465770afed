//! What a setup (`deployment`) needs of the machine beyond the store: the server certificate
//! and the data dir's record of which store is its own. The server binary implements it.

/// A failure of the machine side of a setup, in words for the operator.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SetupHostError(pub String);

pub trait SetupHost: Send + Sync {
    /// This machine's host name: what the server certificate should name.
    fn host_name(&self) -> Option<String>;
    /// The DNS names and addresses the server certificate names.
    fn certificate_names(&self) -> Result<Vec<String>, SetupHostError>;
    /// Makes a new self-signed certificate naming this machine and serves it on every
    /// listener from now on; returns its SHA-256 thumbprint.
    fn regenerate_certificate(&self) -> Result<String, SetupHostError>;
    /// The data dir records the store, with this server uuid, as its own: later starts check
    /// the store against it. The last step of a setup.
    fn record_store_identity(&self, server_uuid: &str) -> Result<(), SetupHostError>;
    /// Drops that record (a rollback): the store is no longer a set-up server's.
    fn forget_store_identity(&self) -> Result<(), SetupHostError>;
}

/// A host that cannot do any of it (a core without a server around it).
pub struct NoSetupHost;

impl SetupHost for NoSetupHost {
    fn host_name(&self) -> Option<String> {
        None
    }
    fn certificate_names(&self) -> Result<Vec<String>, SetupHostError> {
        Ok(vec![])
    }
    fn regenerate_certificate(&self) -> Result<String, SetupHostError> {
        Err(SetupHostError("no server certificate here".into()))
    }
    fn record_store_identity(&self, _: &str) -> Result<(), SetupHostError> {
        Ok(())
    }
    fn forget_store_identity(&self) -> Result<(), SetupHostError> {
        Ok(())
    }
}
