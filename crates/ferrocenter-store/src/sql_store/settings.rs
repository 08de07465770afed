//! `SettingsStore`: named settings and sequences.
use std::path::PathBuf;

use async_trait::async_trait;
use ferrocenter_core::ports::{DatabaseSize, SettingsStore, StoreError};

use super::{PostgresStore, SqliteStore};
use crate::rows::map_err;

super::for_each_engine! {
    impl Engine {
        /// The first of `count` (≥ 1) fresh values of a sequence.
        async fn reserve_on(c: &mut Conn, name: &str, count: u32) -> Result<i64, StoreError> {
            let count = i64::from(count);
            let last: i64 = sqlx::query_scalar(
                "INSERT INTO sequences (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = sequences.value + $2 \
                 RETURNING value",
            )
            .bind(name)
            .bind(count)
            .fetch_one(&mut *c)
            .await
            .map_err(map_err)?;
            Ok(last - count + 1)
        }
    }

    #[async_trait]
    impl SettingsStore for Engine {
        fn engine(&self) -> &'static str {
            Self::NAME
        }

        async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(self.reads())
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

        async fn reserve_sequence(&self, name: &str, count: u32) -> Result<i64, StoreError> {
            let mut c = self.pool.acquire().await.map_err(map_err)?;
            Self::reserve_on(&mut c, name, count.max(1)).await
        }

        async fn reserve_sequences(&self, blocks: &[(&str, u32)]) -> Result<Vec<i64>, StoreError> {
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            let mut firsts = Vec::with_capacity(blocks.len());
            for (name, count) in blocks {
                firsts.push(if *count == 0 {
                    0
                } else {
                    Self::reserve_on(&mut tx, name, *count).await?
                });
            }
            tx.commit().await.map_err(map_err)?;
            Ok(firsts)
        }

        async fn checkpoint(&self) -> Result<(), StoreError> {
            let Some(sql) = Self::CHECKPOINT else {
                return Ok(());
            };
            let row = sqlx::query(sql)
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
            let busy: i64 = get(&row, "busy")?;
            if busy != 0 {
                return Err(StoreError::Backend(
                    "the write-ahead log could not be emptied: a connection still reads".into(),
                ));
            }
            Ok(())
        }

        async fn database_size(&self) -> Result<DatabaseSize, StoreError> {
            self.measure().await
        }
    }
}

/// Bytes as the engines count them, which is never negative.
fn bytes(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl SqliteStore {
    /// The file's pages and the write-ahead log beside it: what the database takes on disk.
    async fn measure(&self) -> Result<DatabaseSize, StoreError> {
        let pages: i64 = sqlx::query_scalar(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
        )
        .fetch_one(self.reads())
        .await
        .map_err(map_err)?;
        let file: Option<String> =
            sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_optional(self.reads())
                .await
                .map_err(map_err)?;
        // An in-memory database has no file (SQLite names it "").
        let location = file.filter(|f| !f.is_empty()).map(PathBuf::from);
        let wal = match &location {
            Some(path) => {
                let mut wal = path.clone().into_os_string();
                wal.push("-wal");
                match tokio::fs::metadata(&wal).await {
                    Ok(m) => m.len(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
                    Err(e) => {
                        return Err(StoreError::Backend(format!(
                            "the write-ahead log's size could not be read: {e}"
                        )))
                    }
                }
            }
            None => 0,
        };
        Ok(DatabaseSize {
            bytes: bytes(pages) + wal,
            location,
        })
    }
}

impl PostgresStore {
    /// `pg_database_size`, and the data directory when the server is on this machine.
    async fn measure(&self) -> Result<DatabaseSize, StoreError> {
        let (size, server): (i64, Option<String>) =
            sqlx::query_as("SELECT pg_database_size(current_database()), host(inet_server_addr())")
                .fetch_one(self.reads())
                .await
                .map_err(map_err)?;
        // No server address means a Unix socket, so the same machine; a loopback address too.
        let local = server.as_deref().is_none_or(|a| {
            a.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
        });
        let location = if local {
            // Reading data_directory needs superuser or pg_read_all_settings; without it the
            // place stays unknown rather than failing the measurement.
            sqlx::query_scalar::<_, String>("SELECT current_setting('data_directory')")
                .fetch_one(self.reads())
                .await
                .ok()
                .map(PathBuf::from)
        } else {
            None
        };
        Ok(DatabaseSize {
            bytes: bytes(size),
            location,
        })
    }
}
