//! The traits the core calls out through. Each has real implementations outside the core.
mod clock;
mod store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use store::{
    ContainerStore, DatastoreNetworkStore, EventStore, HostStore, IdentityStore, MoidEntity,
    MoidKind, MoidStore, SettingsStore, Store, StoreError, TagStore, TaskFilter, TaskStore,
    VmStore,
};
