//! `TagStore`: ZStack tags, vim custom fields and hosts' named values.
use async_trait::async_trait;
use ferrocenter_core::inventory::query::TagKind;
use ferrocenter_core::inventory::CustomField;
use ferrocenter_core::ports::{StoreError, TagStore};

use super::table::{Column, Table, Value};
use crate::rows::map_err;

const CUSTOM_FIELDS: Table<CustomField> = Table {
    name: "custom_fields",
    columns: &[
        Column::key("field_key", |f| Ok(Value::Int(f.key))),
        Column::fixed("name", |f| Ok(Value::Text(&f.name))),
        Column::fixed("mo_type", |f| Ok(Value::Text(&f.mo_type))),
    ],
};

super::for_each_engine! {
    impl Engine {
        pub(super) async fn add_tags_on(
            c: &mut Conn,
            resource_id: &str,
            kind: TagKind,
            tags: &[String],
        ) -> Result<(), StoreError> {
            for chunk in tags.chunks(500) {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO resource_tags (resource_id, kind, tag) ",
                );
                q.push_values(chunk, |mut row, t| {
                    row.push_bind(resource_id.to_string())
                        .push_bind(kind.as_str())
                        .push_bind(t.clone());
                });
                q.push(" ON CONFLICT DO NOTHING");
                q.build().execute(&mut *c).await.map_err(map_err)?;
            }
            Ok(())
        }

        fn custom_field(row: &Row) -> Result<CustomField, StoreError> {
            Ok(CustomField {
                key: get(row, "field_key")?,
                name: get(row, "name")?,
                mo_type: get(row, "mo_type")?,
            })
        }
    }

    #[async_trait]
    impl TagStore for Engine {
        async fn add_tags(
            &self,
            resource_id: &str,
            kind: TagKind,
            tags: &[String],
        ) -> Result<(), StoreError> {
            if tags.is_empty() {
                return Ok(());
            }
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            Self::add_tags_on(&mut tx, resource_id, kind, tags).await?;
            tx.commit().await.map_err(map_err)
        }

        async fn tags_of(&self, resource_id: &str, kind: TagKind) -> Result<Vec<String>, StoreError> {
            sqlx::query_scalar(
                "SELECT tag FROM resource_tags WHERE resource_id = $1 AND kind = $2 ORDER BY tag",
            )
            .bind(resource_id)
            .bind(kind.as_str())
            .fetch_all(self.reads())
            .await
            .map_err(map_err)
        }

        async fn list_all_tags(&self) -> Result<Vec<(String, TagKind, String)>, StoreError> {
            let rows: Vec<(String, String, String)> =
                sqlx::query_as("SELECT resource_id, kind, tag FROM resource_tags")
                    .fetch_all(self.reads())
                    .await
                    .map_err(map_err)?;
            rows.into_iter()
                .map(|(resource, kind, tag)| {
                    let kind = match kind.as_str() {
                        "system" => TagKind::System,
                        "user" => TagKind::User,
                        other => {
                            return Err(StoreError::Corrupt(format!("tag kind {other:?}")))
                        }
                    };
                    Ok((resource, kind, tag))
                })
                .collect()
        }

        async fn delete_tags(&self, resource_id: &str) -> Result<(), StoreError> {
            sqlx::query("DELETE FROM resource_tags WHERE resource_id = $1")
                .bind(resource_id)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(())
        }

        async fn ensure_custom_field(
            &self,
            name: &str,
            mo_type: &str,
            new_key: i64,
        ) -> Result<CustomField, StoreError> {
            let field = CustomField {
                key: new_key,
                name: name.to_string(),
                mo_type: mo_type.to_string(),
            };
            let sql = format!("{} ON CONFLICT (name) DO NOTHING", CUSTOM_FIELDS.insert());
            Self::bind_values(sqlx::query(&sql), CUSTOM_FIELDS.insert_values(&field)?)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            let row = sqlx::query(&format!(
                "SELECT {} FROM custom_fields WHERE name = $1",
                CUSTOM_FIELDS.select_list()
            ))
            .bind(name)
            .fetch_one(self.reads())
            .await
            .map_err(map_err)?;
            Self::custom_field(&row)
        }

        async fn list_custom_fields(&self) -> Result<Vec<CustomField>, StoreError> {
            let rows = sqlx::query(&format!(
                "SELECT {} FROM custom_fields ORDER BY field_key",
                CUSTOM_FIELDS.select_list()
            ))
            .fetch_all(self.reads())
            .await
            .map_err(map_err)?;
            rows.iter().map(Self::custom_field).collect()
        }

        async fn set_host_value(&self, host_id: &str, name: &str, value: &str) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO host_values (host_id, name, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (host_id, name) DO UPDATE SET value = excluded.value",
            )
            .bind(host_id)
            .bind(name)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
            Ok(())
        }

        async fn host_values(&self, host_id: &str) -> Result<Vec<(String, String)>, StoreError> {
            let rows = sqlx::query("SELECT name, value FROM host_values WHERE host_id = $1 ORDER BY name")
                .bind(host_id)
                .fetch_all(self.reads())
                .await
                .map_err(map_err)?;
            rows.iter()
                .map(|r| Ok((get(r, "name")?, get(r, "value")?)))
                .collect()
        }
    }
}
