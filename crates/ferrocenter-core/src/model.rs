//! Names every entity carries, whatever surface shows it.
use serde::{Deserialize, Serialize};

/// A reference to an inventory entity (or another object a task acts on): its kind in the core's
/// vocabulary and its internal id. Bindings translate it to vim MoRefs, vAPI DynamicIDs, or uuids.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EntityRef {
    pub kind: String,
    pub id: String,
}

impl EntityRef {
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Self {
        EntityRef {
            kind: kind.into(),
            id: id.into(),
        }
    }

    /// The key of the per-entity queue: operations with equal keys never run at once.
    pub fn queue_key(&self) -> String {
        format!("{}/{}", self.kind, self.id)
    }
}

/// A new 32-hex-digit uuid, the form ZStack and vAPI task ids use. Version 7: the first 48
/// bits are the time in milliseconds and 74 are random, so records made one after another sort
/// together and an insert lands at the end of each id index. With version 4's random ids each
/// insert dirtied a page chosen at random in every index keyed by id, and a database writes a
/// dirty page whole (SQLite's write-ahead log a frame per page per commit).
pub fn new_uuid() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}
