//! `IdentityProviderStore`: external identity providers. The configuration column is the core's
//! JSON, read back as text; the single default is kept in the same transaction as the write.
use async_trait::async_trait;
use ferrocenter_core::identity_providers::ProviderRecord;
use ferrocenter_core::ports::{IdentityProviderStore, StoreError};
use ferrocenter_core::{from_millis, to_millis};

use crate::rows::map_err;

const COLUMNS: &str =
    "id, name, is_default, config, client_secret, ldap_password, created_at, updated_at";

super::for_each_engine! {
    impl Engine {
        fn identity_provider(row: &Row) -> Result<ProviderRecord, StoreError> {
            Ok(ProviderRecord {
                id: get(row, "id")?,
                name: get(row, "name")?,
                is_default: get(row, "is_default")?,
                config: get(row, "config")?,
                client_secret: get(row, "client_secret")?,
                ldap_password: get(row, "ldap_password")?,
                created_at: from_millis(get(row, "created_at")?),
                updated_at: from_millis(get(row, "updated_at")?),
            })
        }
    }

    #[async_trait]
    impl IdentityProviderStore for Engine {
        async fn insert_identity_provider(&self, p: &ProviderRecord) -> Result<(), StoreError> {
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            if p.is_default {
                sqlx::query("UPDATE identity_providers SET is_default = FALSE")
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
            sqlx::query(&format!(
                "INSERT INTO identity_providers ({COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(&p.id)
            .bind(&p.name)
            .bind(p.is_default)
            .bind(&p.config)
            .bind(&p.client_secret)
            .bind(&p.ldap_password)
            .bind(to_millis(p.created_at))
            .bind(to_millis(p.updated_at))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            tx.commit().await.map_err(map_err)
        }

        async fn get_identity_provider(
            &self,
            id: &str,
        ) -> Result<Option<ProviderRecord>, StoreError> {
            let row = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM identity_providers WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(self.reads())
            .await
            .map_err(map_err)?;
            row.as_ref().map(Self::identity_provider).transpose()
        }

        async fn list_identity_providers(&self) -> Result<Vec<ProviderRecord>, StoreError> {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM identity_providers ORDER BY created_at, id"
            ))
            .fetch_all(self.reads())
            .await
            .map_err(map_err)?;
            rows.iter().map(Self::identity_provider).collect()
        }

        async fn update_identity_provider(&self, p: &ProviderRecord) -> Result<bool, StoreError> {
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            if p.is_default {
                sqlx::query("UPDATE identity_providers SET is_default = FALSE WHERE id <> $1")
                    .bind(&p.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
            let r = sqlx::query(
                "UPDATE identity_providers SET name = $2, is_default = $3, config = $4, \
                 client_secret = $5, ldap_password = $6, updated_at = $7 WHERE id = $1",
            )
            .bind(&p.id)
            .bind(&p.name)
            .bind(p.is_default)
            .bind(&p.config)
            .bind(&p.client_secret)
            .bind(&p.ldap_password)
            .bind(to_millis(p.updated_at))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
            Ok(r.rows_affected() == 1)
        }

        async fn delete_identity_provider(&self, id: &str) -> Result<bool, StoreError> {
            let r = sqlx::query("DELETE FROM identity_providers WHERE id = $1")
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(r.rows_affected() == 1)
        }
    }
}
