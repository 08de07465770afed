//! The traits the core calls out through. Each has real implementations outside the core.
mod agents;
mod clock;
mod store;

pub use agents::{
    AgentAbout, AgentEndpoint, AgentEvent, AgentEvents, AgentSession, Agents, Migrated,
    MigrationTicket, PowerAction,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use store::{
    ClaimStore, ContainerStore, DatastoreNetworkStore, EventStore, HostStore, IdentityStore,
    MoidEntity, MoidKind, MoidStore, SettingsStore, Store, StoreError, TagStore, TaskFilter,
    TaskStore, VmStore,
};
