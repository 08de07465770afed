//! The traits the core calls out through. Each has real implementations outside the core.
mod clock;
mod store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use store::{MoidEntity, MoidKind, Store, StoreError, TaskFilter};
