//! `SettingsStore`: named settings and sequences.
use async_trait::async_trait;
use ferrocenter_core::ports::{SettingsStore, StoreError};

use crate::rows::map_err;

super::for_each_engine! {
    #[async_trait]
    impl SettingsStore for Engine {
        fn engine(&self) -> &'static str {
            Self::NAME
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

        async fn reserve_sequence(&self, name: &str, count: u32) -> Result<i64, StoreError> {
            let count = i64::from(count.max(1));
            let last: i64 = sqlx::query_scalar(
                "INSERT INTO sequences (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = sequences.value + $2 \
                 RETURNING value",
            )
            .bind(name)
            .bind(count)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
            Ok(last - count + 1)
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
    }
}
