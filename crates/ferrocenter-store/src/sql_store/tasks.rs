//! `TaskStore`: tasks and their outcome.
use async_trait::async_trait;
use ferrocenter_core::model::EntityRef;
use ferrocenter_core::ports::{StoreError, TaskFilter, TaskStore};
use ferrocenter_core::tasks::{Task, TaskKind};
use ferrocenter_core::{from_millis, to_millis, CoreError};
use time::OffsetDateTime;

use super::table::{Column, Table, Value};
use crate::rows::{
    enum_from, error_from, error_to, map_err, opt_model_from, opt_model_to, state_from,
};

/// What a task is and who asked are fixed when it is queued; its progress and outcome change.
pub(super) const TASKS: Table<Task> = Table {
    name: "tasks",
    columns: &[
        Column::key("id", |t| Ok(Value::Text(&t.id))),
        Column::fixed("moid", |t| Ok(Value::Text(&t.moid))),
        Column::fixed("kind", |t| Ok(Value::Text(t.kind.as_str()))),
        Column::fixed("target_kind", |t| {
            Ok(Value::OptText(t.target.as_ref().map(|e| e.kind.as_str())))
        }),
        Column::fixed("target_id", |t| {
            Ok(Value::OptText(t.target.as_ref().map(|e| e.id.as_str())))
        }),
        Column::fixed("initiator", |t| Ok(Value::Text(&t.initiator))),
        Column::fixed("description", |t| Ok(Value::Text(&t.description))),
        Column::mutable("state", |t| Ok(Value::Text(t.state.as_str()))),
        Column::mutable("progress", |t| Ok(Value::Int(i64::from(t.progress)))),
        Column::mutable("progress_message", |t| {
            Ok(Value::OptText(t.progress_message.as_deref()))
        }),
        Column::mutable("result", |t| {
            Ok(Value::OptOwned(opt_model_to(t.result.as_ref())?))
        }),
        Column::mutable("error", |t| {
            Ok(Value::OptOwned(error_to(t.error.as_ref())?))
        }),
        Column::fixed("cancelable", |t| Ok(Value::Bool(t.cancelable))),
        Column::mutable("cancelled", |t| Ok(Value::Bool(t.cancelled))),
        Column::fixed("queued_at", |t| Ok(Value::Int(to_millis(t.queued_at)))),
        Column::mutable("started_at", |t| {
            Ok(Value::OptInt(t.started_at.map(to_millis)))
        }),
        Column::mutable("completed_at", |t| {
            Ok(Value::OptInt(t.completed_at.map(to_millis)))
        }),
    ],
};

super::for_each_engine! {
    impl Engine {
        pub(super) fn task(row: &Row) -> Result<Task, StoreError> {
            let target_kind: Option<String> = get(row, "target_kind")?;
            let target_id: Option<String> = get(row, "target_id")?;
            let progress: i64 = get(row, "progress")?;
            Ok(Task {
                id: get(row, "id")?,
                moid: get(row, "moid")?,
                // An unknown name is corrupt, as for every enum column: only this server
                // writes the table, and the names are pinned (TaskKind's round-trip test).
                kind: enum_from(&get::<String>(row, "kind")?, TaskKind::parse, "task kind")?,
                target: match (target_kind, target_id) {
                    (Some(k), Some(i)) => Some(EntityRef::new(k, i)),
                    _ => None,
                },
                initiator: get(row, "initiator")?,
                description: get(row, "description")?,
                state: state_from(&get::<String>(row, "state")?)?,
                progress: progress.clamp(0, 100) as u8,
                progress_message: get(row, "progress_message")?,
                result: opt_model_from(get(row, "result")?)?,
                error: error_from(get(row, "error")?)?,
                cancelable: get(row, "cancelable")?,
                cancelled: get(row, "cancelled")?,
                queued_at: from_millis(get(row, "queued_at")?),
                started_at: get::<Option<i64>>(row, "started_at")?.map(from_millis),
                completed_at: get::<Option<i64>>(row, "completed_at")?.map(from_millis),
            })
        }
    }

    #[async_trait]
    impl TaskStore for Engine {
        async fn insert_task(&self, t: &Task) -> Result<(), StoreError> {
            let sql = TASKS.insert();
            Self::bind_values(sqlx::query(&sql), TASKS.insert_values(t)?)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(())
        }

        async fn update_task(&self, t: &Task) -> Result<bool, StoreError> {
            let sql = TASKS.update();
            let r = Self::bind_values(sqlx::query(&sql), TASKS.update_values(t)?)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(r.rows_affected() == 1)
        }

        async fn get_task(&self, id: &str) -> Result<Option<Task>, StoreError> {
            let row = sqlx::query(&format!(
                "SELECT {} FROM tasks WHERE id = $1",
                TASKS.select_list()
            ))
            .bind(id)
            .fetch_optional(self.reads())
            .await
            .map_err(map_err)?;
            row.as_ref().map(Self::task).transpose()
        }

        async fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<Task>, StoreError> {
            let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                "SELECT {} FROM tasks WHERE 1 = 1",
                TASKS.select_list()
            ));
            let any_of = |q: &mut sqlx::QueryBuilder<'_, Db>, column: &str, values: Vec<String>| {
                if values.is_empty() {
                    return;
                }
                q.push(format!(" AND {column} IN ("));
                let mut sep = q.separated(", ");
                for v in values {
                    sep.push_bind(v);
                }
                sep.push_unseparated(")");
            };
            any_of(&mut q, "id", filter.ids.clone());
            any_of(&mut q, "kind", filter.kinds.iter().map(|k| k.as_str().to_string()).collect());
            any_of(&mut q, "state", filter.states.iter().map(|s| s.as_str().to_string()).collect());
            any_of(&mut q, "target_id", filter.target_ids.clone());
            any_of(&mut q, "initiator", filter.initiators.clone());
            q.push(" ORDER BY queued_at DESC, moid DESC");
            if let Some(limit) = filter.limit {
                q.push(" LIMIT ");
                q.push_bind(limit as i64);
            }
            let rows = q.build().fetch_all(self.reads()).await.map_err(map_err)?;
            rows.iter().map(Self::task).collect()
        }

        async fn count_tasks_by_state(&self) -> Result<Vec<(String, u64)>, StoreError> {
            let rows: Vec<(String, i64)> =
                sqlx::query_as("SELECT state, COUNT(*) FROM tasks GROUP BY state ORDER BY state")
                    .fetch_all(self.reads())
                    .await
                    .map_err(map_err)?;
            Ok(rows
                .into_iter()
                .map(|(s, n)| (s, u64::try_from(n).unwrap_or(0)))
                .collect())
        }

        async fn fail_unfinished_tasks(
            &self,
            error: &CoreError,
            at: OffsetDateTime,
        ) -> Result<u64, StoreError> {
            let r = sqlx::query(
                "UPDATE tasks SET state = 'error', error = $1, completed_at = $2 \
                 WHERE state IN ('queued', 'running')",
            )
            .bind(error_to(Some(error))?)
            .bind(to_millis(at))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
            Ok(r.rows_affected())
        }
    }
}
