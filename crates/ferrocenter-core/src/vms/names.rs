//! VM names being created, per datacenter: two creates of one name at once would each find it
//! free in the store; the second is refused here instead.
use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::CoreError;

#[derive(Default)]
pub(crate) struct NameBook {
    taken: Arc<Mutex<HashSet<(String, String)>>>,
}

/// Held while a create runs; frees the name when dropped.
pub(crate) struct NameReservation {
    taken: Arc<Mutex<HashSet<(String, String)>>>,
    key: (String, String),
}

impl Drop for NameReservation {
    fn drop(&mut self) {
        self.taken.lock().remove(&self.key);
    }
}

impl NameBook {
    pub(crate) fn reserve(
        &self,
        datacenter_id: &str,
        name: &str,
    ) -> Result<NameReservation, CoreError> {
        let key = (datacenter_id.to_string(), name.to_string());
        if !self.taken.lock().insert(key.clone()) {
            return Err(CoreError::AlreadyExists {
                what: "VM".into(),
                name: name.into(),
            });
        }
        Ok(NameReservation {
            taken: self.taken.clone(),
            key,
        })
    }
}
