//! The `Store` port on SQLite and PostgreSQL, one file per aggregate as the port has one trait
//! per aggregate. Each file's code is written once and expanded for both engines by
//! [`for_each_engine!`]; the SQL text is shared (SQLite accepts PostgreSQL's `$n` parameters),
//! so the engines cannot drift. Each aggregate's columns are listed once, in a [`table::Table`].
use ferrocenter_core::to_millis;
use time::OffsetDateTime;

use crate::migrations::{self, Migration, CREATE_LEDGER};
use crate::open::OpenError;

/// Expands the items given once per engine. Inside them, `Engine` is the engine's store type,
/// `Db` its sqlx database, `Row` its row type and `get(row, "column")` reads a column (a value
/// that does not decode is `StoreError::Corrupt`).
///
/// A macro rather than generics over `sqlx::Database`: a generic impl needs a dozen
/// higher-ranked bounds (encode, decode and type for each Rust type bound, the executor on the
/// pool and on a transaction, column indexes, arguments), repeated on every impl because Rust
/// does not carry them through a bundling trait. Expanded per engine, each file reads as plain
/// sqlx code on a concrete database.
macro_rules! for_each_engine {
    ($($body:tt)*) => {
        const _: () = {
            #[allow(dead_code)]
            type Engine = $crate::sql_store::SqliteStore;
            #[allow(dead_code)]
            type Db = sqlx::Sqlite;
            $crate::sql_store::engine_prelude!();
            $($body)*
        };
        const _: () = {
            #[allow(dead_code)]
            type Engine = $crate::sql_store::PostgresStore;
            #[allow(dead_code)]
            type Db = sqlx::Postgres;
            $crate::sql_store::engine_prelude!();
            $($body)*
        };
    };
}

/// The helpers every engine block has, over its `Db`.
macro_rules! engine_prelude {
    () => {
        #[allow(dead_code)]
        type Row = <Db as sqlx::Database>::Row;

        /// A connection, from the pool or inside a transaction (`&mut *tx`): statements that
        /// one operation runs alone and a larger transaction runs among others take one.
        #[allow(dead_code)]
        type Conn = <Db as sqlx::Database>::Connection;

        #[allow(dead_code)]
        fn get<'r, T>(row: &'r Row, column: &str) -> Result<T, ferrocenter_core::ports::StoreError>
        where
            T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
        {
            sqlx::Row::try_get(row, column)
                .map_err(|e| ferrocenter_core::ports::StoreError::Corrupt(e.to_string()))
        }
    };
}

use engine_prelude;
use for_each_engine;

mod backup;
mod claims;
mod containers;
mod datastores_networks;
mod events;
mod hosts;
mod identity;
mod identity_providers;
mod moids;
mod query;
mod registration;
mod schedules;
mod settings;
mod stats;
mod table;
mod tags;
mod tasks;
mod vms;

/// The `Store` on SQLite. Cheap to clone (connection pools).
///
/// Writes go through `pool`, reads through `readers`. SQLite lets one connection write at a
/// time; writers spread over a shared pool met each other's lock and waited in SQLite's busy
/// handler, which sleeps 1 ms and more, while the lock stood free (an add at 10,000 hosts
/// slept five times). One writer connection queues writes in the process instead, where the
/// next starts the moment the last ends; reads, in write-ahead-log mode, never wait for it.
#[derive(Clone)]
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
    readers: sqlx::SqlitePool,
}

impl SqliteStore {
    /// One pool for reads and writes (an in-memory database, which is one per connection).
    pub fn new(pool: sqlx::SqlitePool) -> Self {
        SqliteStore {
            readers: pool.clone(),
            pool,
        }
    }

    /// Writes through `writer`, reads through `readers` (read-only connections).
    pub fn with_readers(writer: sqlx::SqlitePool, readers: sqlx::SqlitePool) -> Self {
        SqliteStore {
            pool: writer,
            readers,
        }
    }

    fn reads(&self) -> &sqlx::SqlitePool {
        &self.readers
    }

    const NAME: &'static str = "sqlite";
    const MIGRATIONS: &'static [Migration] = migrations::SQLITE;
    /// TRUNCATE: the log is emptied, not merely rewound, so a stopped server leaves no log of
    /// megabytes beside the database. Its row says whether a reader kept it from completing.
    const CHECKPOINT: Option<&'static str> = Some("PRAGMA wal_checkpoint(TRUNCATE)");
}

/// The `Store` on PostgreSQL. Cheap to clone (a connection pool).
#[derive(Clone)]
pub struct PostgresStore {
    pool: sqlx::PgPool,
}

impl PostgresStore {
    pub fn new(pool: sqlx::PgPool) -> Self {
        PostgresStore { pool }
    }

    /// PostgreSQL's writers do not wait on one another's table lock: one pool serves both.
    fn reads(&self) -> &sqlx::PgPool {
        &self.pool
    }

    const NAME: &'static str = "postgresql";
    const MIGRATIONS: &'static [Migration] = migrations::POSTGRES;
    const CHECKPOINT: Option<&'static str> = None;
}

for_each_engine! {
    impl Engine {
        pub fn pool(&self) -> &sqlx::Pool<Db> {
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
            let list: &[Migration] = Self::MIGRATIONS;
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
                tracing::info!(engine = Self::NAME, version = m.version, name = m.name, "applied migration");
            }
            Ok(())
        }
    }
}
