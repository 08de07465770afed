//! What can go wrong over SSH, before it becomes a core fault naming the host.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// The SSH port could not be reached.
    #[error("{0}")]
    Unreachable(String),
    #[error("the host key changed: {expected} was recorded, the host presented {presented}")]
    HostKeyChanged { expected: String, presented: String },
    #[error("the user name or password was refused")]
    LoginRefused,
    #[error("SSH: {0}")]
    Protocol(String),
    /// The host cannot run the agent; the text says why.
    #[error("{0}")]
    Unsuitable(String),
    /// A step on the host failed; the text names it and what the host printed.
    #[error("{0}")]
    Step(String),
    #[error("{0}")]
    Local(String),
}
