//! `EventStore`: the event log.
use async_trait::async_trait;
use ferrocenter_core::inventory::{Event, EventFilter, EventScope};
use ferrocenter_core::ports::{EventStore, StoreError};
use ferrocenter_core::{from_millis, to_millis};

use super::table::{Column, Table, Value};
use crate::rows::{map_err, value_from};

/// Events are never changed; `seq` is the database's, in the order they were written.
const EVENTS: Table<Event> = Table {
    name: "events",
    columns: &[
        Column::generated("seq"),
        Column::fixed("time", |e| Ok(Value::Int(to_millis(e.time)))),
        Column::fixed("kind", |e| Ok(Value::Text(&e.kind))),
        Column::fixed("entity_kind", |e| Ok(Value::Text(&e.entity_kind))),
        Column::fixed("entity_id", |e| Ok(Value::Text(&e.entity_id))),
        Column::fixed("entity_name", |e| Ok(Value::Text(&e.entity_name))),
        Column::fixed("user_name", |e| Ok(Value::Text(&e.user))),
        Column::fixed("message", |e| Ok(Value::Text(&e.message))),
        Column::fixed("data", |e| Ok(Value::Owned(e.data.to_string()))),
    ],
};

super::for_each_engine! {
    impl Engine {
        fn event(row: &Row) -> Result<Event, StoreError> {
            Ok(Event {
                seq: get(row, "seq")?,
                time: from_millis(get(row, "time")?),
                kind: get(row, "kind")?,
                entity_kind: get(row, "entity_kind")?,
                entity_id: get(row, "entity_id")?,
                entity_name: get(row, "entity_name")?,
                user: get(row, "user_name")?,
                message: get(row, "message")?,
                data: value_from(&get::<String>(row, "data")?)?,
            })
        }
    }

    #[async_trait]
    impl EventStore for Engine {
        async fn append_event(&self, e: &Event) -> Result<Event, StoreError> {
            let sql = format!("{} RETURNING seq", EVENTS.insert());
            let seq: i64 = Self::bind_values(sqlx::query(&sql), EVENTS.insert_values(e)?)
                .fetch_one(&self.pool)
                .await
                .and_then(|row| sqlx::Row::try_get(&row, 0))
                .map_err(map_err)?;
            Ok(Event { seq, ..e.clone() })
        }

        async fn list_events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
            let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                "SELECT {} FROM events WHERE 1 = 1",
                EVENTS.select_list()
            ));
            match (&filter.entity_id, filter.scope) {
                (None, _) => {}
                (Some(entity), EventScope::Entity) => {
                    q.push(" AND entity_id = ");
                    q.push_bind(entity.clone());
                }
                (Some(entity), EventScope::WithContents) => {
                    // What an entity contains, by the columns that place it: clusters and
                    // hosts in a datacenter, hosts in a cluster, VMs on those hosts.
                    q.push(" AND (entity_id = ");
                    q.push_bind(entity.clone());
                    q.push(" OR entity_id IN (SELECT id FROM clusters WHERE datacenter_id = ");
                    q.push_bind(entity.clone());
                    q.push(") OR entity_id IN (SELECT id FROM hosts WHERE cluster_id = ");
                    q.push_bind(entity.clone());
                    q.push(" OR datacenter_id = ");
                    q.push_bind(entity.clone());
                    q.push(") OR entity_id IN (SELECT vms.id FROM vms JOIN hosts ON hosts.id = vms.host_id WHERE hosts.id = ");
                    q.push_bind(entity.clone());
                    q.push(" OR hosts.cluster_id = ");
                    q.push_bind(entity.clone());
                    q.push(" OR hosts.datacenter_id = ");
                    q.push_bind(entity.clone());
                    q.push("))");
                }
            }
            if let Some(kind) = &filter.kind {
                q.push(" AND kind = ");
                q.push_bind(kind.clone());
            }
            if let Some(after) = filter.after_seq {
                q.push(" AND seq > ");
                q.push_bind(after);
            }
            q.push(" ORDER BY seq");
            if let Some(limit) = filter.limit {
                q.push(" LIMIT ");
                q.push_bind(i64::from(limit));
            }
            let rows = q.build().fetch_all(self.reads()).await.map_err(map_err)?;
            rows.iter().map(Self::event).collect()
        }
    }
}
