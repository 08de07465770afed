//! What a session makes and keeps in memory: property collectors, filters, paged results and
//! views. Only the data lives here; `filters.rs`, `collector.rs` and `views.rs` act on it.
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::Notify;

/// The shared default collector's moId; each session sees its own filters on it.
pub const DEFAULT_COLLECTOR: &str = "propertyCollector";
/// One object's reported values: property path → value (None = unset).
pub(crate) type Snapshot = BTreeMap<String, Option<Value>>;

pub(crate) struct Filter {
    pub(crate) owner: String,
    pub(crate) collector: String,
    pub(crate) spec: Map<String, Value>,
    pub(crate) partial_updates: bool,
    /// What the last WaitForUpdatesEx reported, by `type:moId`.
    pub(crate) reported: HashMap<String, (Value, Snapshot)>,
}

pub(crate) struct Collector {
    pub(crate) owner: String,
    pub(crate) version: u64,
    pub(crate) cancel: Arc<Notify>,
}

/// Paged RetrievePropertiesEx results waiting for ContinueRetrievePropertiesEx.
pub(crate) struct Continuation {
    pub(crate) owner: String,
    pub(crate) rest: Vec<Value>,
    pub(crate) page: usize,
}

#[derive(Default)]
pub(crate) struct Inner {
    /// Keyed by `session/collector moId` for the default collector, by moId for private ones.
    pub(crate) collectors: HashMap<String, Collector>,
    pub(crate) filters: HashMap<String, Filter>,
    pub(crate) continuations: HashMap<String, Continuation>,
}

#[derive(Default)]
pub struct CollectorState {
    pub(crate) inner: Mutex<Inner>,
    pub(crate) next: AtomicU64,
    pub views: ViewState,
}

impl CollectorState {
    pub fn next_id(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// Forgets everything a session made (on Logout).
    pub fn end_session(&self, owner: &str) {
        let mut g = self.inner.lock();
        g.collectors.retain(|_, c| {
            if c.owner == owner {
                c.cancel.notify_waiters();
                false
            } else {
                true
            }
        });
        g.filters.retain(|_, f| f.owner != owner);
        g.continuations.retain(|_, c| c.owner != owner);
        drop(g);
        self.views.end_session(owner);
    }
}

pub(crate) enum Kind {
    List(Vec<(String, String)>),
    Container {
        container: (String, String),
        types: Vec<String>,
        recursive: bool,
    },
}

pub(crate) struct View {
    pub(crate) owner: String,
    pub(crate) kind: Kind,
}

#[derive(Default)]
pub struct ViewState {
    pub(crate) views: Mutex<HashMap<String, View>>,
}

impl ViewState {
    pub fn end_session(&self, owner: &str) {
        self.views.lock().retain(|_, v| v.owner != owner);
    }
}
