//! One implementation of `Store`, instantiated for SQLite and for PostgreSQL.
use async_trait::async_trait;
use ferrocenter_core::auth::{Group, Principal, Realm};
use ferrocenter_core::model::EntityRef;
use ferrocenter_core::ports::{Store, StoreError, TaskFilter};
use ferrocenter_core::tasks::Task;
use ferrocenter_core::{from_millis, to_millis, CoreError};
use sqlx::Row;
use time::OffsetDateTime;

use crate::migrations::{self, Migration, CREATE_LEDGER};
use crate::open::OpenError;
use crate::rows::{error_from, error_to, json_from, map_err, role_from, state_from};

const TASK_COLUMNS: &str = "id, moid, kind, target_kind, target_id, initiator, description, \
    state, progress, progress_message, result, error, cancelable, cancelled, queued_at, \
    started_at, completed_at";
const PRINCIPAL_COLUMNS: &str =
    "id, domain, name, password_hash, role, full_name, disabled, created_at, password_changed_at";

macro_rules! sql_store {
    ($name:ident, $db:ty, $engine:literal, $migrations:expr) => {
        /// The `Store` on this engine. Cheap to clone (a connection pool).
        #[derive(Clone)]
        pub struct $name {
            pool: sqlx::Pool<$db>,
        }

        impl $name {
            pub fn new(pool: sqlx::Pool<$db>) -> Self {
                $name { pool }
            }

            pub fn pool(&self) -> &sqlx::Pool<$db> {
                &self.pool
            }

            /// Applies every migration newer than the database, each in its own transaction.
            pub async fn migrate(&self) -> Result<(), OpenError> {
                let fail = |m: &Migration, e: sqlx::Error| OpenError::Migration {
                    version: m.version,
                    name: m.name.to_string(),
                    reason: e.to_string(),
                };
                sqlx::query(CREATE_LEDGER)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| OpenError::Connect(e.to_string()))?;
                let applied: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| OpenError::Connect(e.to_string()))?;
                let applied = applied.unwrap_or(0);
                let list: &[Migration] = $migrations;
                if let Some(newest) = list.last() {
                    if applied > newest.version {
                        return Err(OpenError::Migration {
                            version: applied,
                            name: "unknown".into(),
                            reason: format!(
                                "the database is at schema version {applied}, newer than this \
                                 build knows ({}); upgrade ferrocenter",
                                newest.version
                            ),
                        });
                    }
                }
                for m in list.iter().filter(|m| m.version > applied) {
                    let mut tx = self.pool.begin().await.map_err(|e| fail(m, e))?;
                    sqlx::raw_sql(m.sql)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| fail(m, e))?;
                    sqlx::query(
                        "INSERT INTO schema_migrations (version, name, applied_at) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(m.version)
                    .bind(m.name)
                    .bind(to_millis(OffsetDateTime::now_utc()))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| fail(m, e))?;
                    tx.commit().await.map_err(|e| fail(m, e))?;
                    tracing::info!(engine = $engine, version = m.version, name = m.name, "applied migration");
                }
                Ok(())
            }

            fn principal(row: &<$db as sqlx::Database>::Row) -> Result<Principal, StoreError> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(Principal {
                    id: row.try_get("id").map_err(g)?,
                    realm: Realm::from_store_key(&row.try_get::<String, _>("domain").map_err(g)?),
                    name: row.try_get("name").map_err(g)?,
                    password_hash: row.try_get("password_hash").map_err(g)?,
                    role: role_from(&row.try_get::<String, _>("role").map_err(g)?)?,
                    full_name: row.try_get("full_name").map_err(g)?,
                    disabled: row.try_get("disabled").map_err(g)?,
                    created_at: from_millis(row.try_get("created_at").map_err(g)?),
                    password_changed_at: from_millis(
                        row.try_get("password_changed_at").map_err(g)?,
                    ),
                })
            }

            fn group(row: &<$db as sqlx::Database>::Row) -> Result<Group, StoreError> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                Ok(Group {
                    id: row.try_get("id").map_err(g)?,
                    realm: Realm::from_store_key(&row.try_get::<String, _>("domain").map_err(g)?),
                    name: row.try_get("name").map_err(g)?,
                    role: row
                        .try_get::<Option<String>, _>("role")
                        .map_err(g)?
                        .map(|r| role_from(&r))
                        .transpose()?,
                    description: row.try_get("description").map_err(g)?,
                })
            }

            fn task(row: &<$db as sqlx::Database>::Row) -> Result<Task, StoreError> {
                let g = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let target_kind: Option<String> = row.try_get("target_kind").map_err(g)?;
                let target_id: Option<String> = row.try_get("target_id").map_err(g)?;
                let progress: i64 = row.try_get("progress").map_err(g)?;
                Ok(Task {
                    id: row.try_get("id").map_err(g)?,
                    moid: row.try_get("moid").map_err(g)?,
                    kind: row.try_get("kind").map_err(g)?,
                    target: match (target_kind, target_id) {
                        (Some(k), Some(i)) => Some(EntityRef::new(k, i)),
                        _ => None,
                    },
                    initiator: row.try_get("initiator").map_err(g)?,
                    description: row.try_get("description").map_err(g)?,
                    state: state_from(&row.try_get::<String, _>("state").map_err(g)?)?,
                    progress: progress.clamp(0, 100) as u8,
                    progress_message: row.try_get("progress_message").map_err(g)?,
                    result: json_from(row.try_get("result").map_err(g)?)?,
                    error: error_from(row.try_get("error").map_err(g)?)?,
                    cancelable: row.try_get("cancelable").map_err(g)?,
                    cancelled: row.try_get("cancelled").map_err(g)?,
                    queued_at: from_millis(row.try_get("queued_at").map_err(g)?),
                    started_at: row
                        .try_get::<Option<i64>, _>("started_at")
                        .map_err(g)?
                        .map(from_millis),
                    completed_at: row
                        .try_get::<Option<i64>, _>("completed_at")
                        .map_err(g)?
                        .map(from_millis),
                })
            }
        }

        #[async_trait]
        impl Store for $name {
            fn engine(&self) -> &'static str {
                $engine
            }

            async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
                sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)
            }

            async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(key)
                .bind(value)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn put_setting_if_absent(&self, key: &str, value: &str) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                )
                .bind(key)
                .bind(value)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn next_sequence(&self, name: &str) -> Result<i64, StoreError> {
                sqlx::query_scalar(
                    "INSERT INTO sequences (name, value) VALUES ($1, 1) \
                     ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 \
                     RETURNING value",
                )
                .bind(name)
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)
            }

            async fn insert_principal(&self, p: &Principal) -> Result<(), StoreError> {
                sqlx::query(&format!(
                    "INSERT INTO principals ({PRINCIPAL_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ))
                .bind(&p.id)
                .bind(p.realm.store_key())
                .bind(&p.name)
                .bind(&p.password_hash)
                .bind(p.role.as_str())
                .bind(&p.full_name)
                .bind(p.disabled)
                .bind(to_millis(p.created_at))
                .bind(to_millis(p.password_changed_at))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn find_principal(
                &self,
                realm: &Realm,
                name: &str,
            ) -> Result<Option<Principal>, StoreError> {
                let row = sqlx::query(&format!(
                    "SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE domain = $1 AND name = $2"
                ))
                .bind(realm.store_key())
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
                row.as_ref().map(Self::principal).transpose()
            }

            async fn list_principals(&self, realm: &Realm) -> Result<Vec<Principal>, StoreError> {
                let rows = sqlx::query(&format!(
                    "SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE domain = $1 ORDER BY name"
                ))
                .bind(realm.store_key())
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                rows.iter().map(Self::principal).collect()
            }

            async fn update_principal(&self, p: &Principal) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE principals SET password_hash = $2, role = $3, full_name = $4, \
                     disabled = $5, password_changed_at = $6 WHERE id = $1",
                )
                .bind(&p.id)
                .bind(&p.password_hash)
                .bind(p.role.as_str())
                .bind(&p.full_name)
                .bind(p.disabled)
                .bind(to_millis(p.password_changed_at))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn delete_principal(&self, id: &str) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM principals WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn insert_group(&self, g: &Group) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO principal_groups (id, domain, name, role, description) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&g.id)
                .bind(g.realm.store_key())
                .bind(&g.name)
                .bind(g.role.map(|r| r.as_str()))
                .bind(&g.description)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn find_group(&self, realm: &Realm, name: &str) -> Result<Option<Group>, StoreError> {
                let row = sqlx::query(
                    "SELECT id, domain, name, role, description FROM principal_groups \
                     WHERE domain = $1 AND name = $2",
                )
                .bind(realm.store_key())
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
                row.as_ref().map(Self::group).transpose()
            }

            async fn add_group_member(&self, group_id: &str, principal_id: &str) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO group_members (group_id, principal_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(group_id)
                .bind(principal_id)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn remove_group_member(&self, group_id: &str, principal_id: &str) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "DELETE FROM group_members WHERE group_id = $1 AND principal_id = $2",
                )
                .bind(group_id)
                .bind(principal_id)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn groups_of(&self, principal_id: &str) -> Result<Vec<Group>, StoreError> {
                let rows = sqlx::query(
                    "SELECT g.id, g.domain, g.name, g.role, g.description \
                     FROM principal_groups g JOIN group_members m ON m.group_id = g.id \
                     WHERE m.principal_id = $1 ORDER BY g.name",
                )
                .bind(principal_id)
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                rows.iter().map(Self::group).collect()
            }

            async fn insert_task(&self, t: &Task) -> Result<(), StoreError> {
                sqlx::query(&format!(
                    "INSERT INTO tasks ({TASK_COLUMNS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
                ))
                .bind(&t.id)
                .bind(&t.moid)
                .bind(&t.kind)
                .bind(t.target.as_ref().map(|e| e.kind.as_str()))
                .bind(t.target.as_ref().map(|e| e.id.as_str()))
                .bind(&t.initiator)
                .bind(&t.description)
                .bind(t.state.as_str())
                .bind(t.progress as i64)
                .bind(&t.progress_message)
                .bind(t.result.as_ref().map(|v| v.to_string()))
                .bind(error_to(&t.error))
                .bind(t.cancelable)
                .bind(t.cancelled)
                .bind(to_millis(t.queued_at))
                .bind(t.started_at.map(to_millis))
                .bind(t.completed_at.map(to_millis))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn update_task(&self, t: &Task) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE tasks SET state = $2, progress = $3, progress_message = $4, \
                     result = $5, error = $6, cancelled = $7, started_at = $8, completed_at = $9 \
                     WHERE id = $1",
                )
                .bind(&t.id)
                .bind(t.state.as_str())
                .bind(t.progress as i64)
                .bind(&t.progress_message)
                .bind(t.result.as_ref().map(|v| v.to_string()))
                .bind(error_to(&t.error))
                .bind(t.cancelled)
                .bind(t.started_at.map(to_millis))
                .bind(t.completed_at.map(to_millis))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn get_task(&self, id: &str) -> Result<Option<Task>, StoreError> {
                let row = sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.as_ref().map(Self::task).transpose()
            }

            async fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<Task>, StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {TASK_COLUMNS} FROM tasks WHERE 1 = 1"
                ));
                let any_of = |q: &mut sqlx::QueryBuilder<'_, $db>, column: &str, values: Vec<String>| {
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
                any_of(&mut q, "kind", filter.kinds.clone());
                any_of(&mut q, "state", filter.states.iter().map(|s| s.as_str().to_string()).collect());
                any_of(&mut q, "target_id", filter.target_ids.clone());
                any_of(&mut q, "initiator", filter.initiators.clone());
                q.push(" ORDER BY queued_at DESC, moid DESC");
                if let Some(limit) = filter.limit {
                    q.push(" LIMIT ");
                    q.push_bind(limit as i64);
                }
                let rows = q.build().fetch_all(&self.pool).await.map_err(map_err)?;
                rows.iter().map(Self::task).collect()
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
                .bind(error_to(&Some(error.clone())))
                .bind(to_millis(at))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(r.rows_affected())
            }
        }
    };
}

sql_store!(SqliteStore, sqlx::Sqlite, "sqlite", migrations::SQLITE);
sql_store!(
    PostgresStore,
    sqlx::Postgres,
    "postgresql",
    migrations::POSTGRES
);
