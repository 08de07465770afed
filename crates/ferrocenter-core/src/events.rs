//! The persisted event log: what happened to which entity, by whom (vim Event types).
use crate::auth::{Caller, Privilege};
use crate::inventory::{Event, EventFilter};
use crate::{Core, CoreError};

impl Core {
    /// Appends to the persisted event log.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_event(
        &self,
        kind: &str,
        entity_kind: &str,
        entity_id: &str,
        entity_name: &str,
        user: &str,
        message: String,
        data: serde_json::Value,
    ) {
        let e = Event {
            seq: 0,
            time: self.clock.now(),
            kind: kind.into(),
            entity_kind: entity_kind.into(),
            entity_id: entity_id.into(),
            entity_name: entity_name.into(),
            user: user.into(),
            message,
            data,
        };
        if let Err(err) = self.store.append_event(&e).await {
            tracing::error!(kind, error = %err, "could not record an event");
        }
    }

    pub async fn list_events(
        &self,
        caller: &Caller,
        filter: &EventFilter,
    ) -> Result<Vec<Event>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(self.store.list_events(filter).await?)
    }
}
