//! `IdentityStore`: principals, groups and membership.
use async_trait::async_trait;
use ferrocenter_core::auth::{Group, PasswordAging, PasswordDays, Principal, Realm};
use ferrocenter_core::ports::{IdentityStore, StoreError};
use ferrocenter_core::{from_millis, to_millis};

use super::table::{Column, Table, Value};
use crate::rows::{map_err, role_from};

/// The name and password change only through a new principal; the rest through an update.
const PRINCIPALS: Table<Principal> = Table {
    name: "principals",
    columns: &[
        Column::key("id", |p| Ok(Value::Text(&p.id))),
        Column::fixed("domain", |p| Ok(Value::Text(p.realm.store_key()))),
        Column::fixed("name", |p| Ok(Value::Text(&p.name))),
        Column::mutable("password_hash", |p| Ok(Value::Text(&p.password_hash))),
        Column::mutable("role", |p| Ok(Value::Text(p.role.as_str()))),
        Column::mutable("full_name", |p| Ok(Value::OptText(p.full_name.as_deref()))),
        Column::mutable("disabled", |p| Ok(Value::Bool(p.disabled))),
        Column::fixed("created_at", |p| Ok(Value::Int(to_millis(p.created_at)))),
        Column::mutable("password_changed_at", |p| {
            Ok(Value::Int(to_millis(p.password_changed_at)))
        }),
        Column::mutable("digest_verifier", |p| {
            Ok(Value::OptText(p.digest_verifier.as_deref()))
        }),
        Column::mutable("email", |p| Ok(Value::OptText(p.email.as_deref()))),
        Column::mutable("description", |p| {
            Ok(Value::OptText(p.description.as_deref()))
        }),
        Column::mutable("password_expires", |p| Ok(Value::Bool(p.aging.expires))),
        Column::mutable("password_expires_at", |p| {
            Ok(Value::OptInt(p.aging.expires_at.map(to_millis)))
        }),
        Column::mutable("inactive_after_expiry", |p| {
            Ok(Value::Bool(p.aging.inactive_after_expiry))
        }),
        Column::mutable("inactive_days", |p| {
            Ok(Value::OptInt(p.aging.inactive_days))
        }),
        Column::mutable("min_days", |p| Ok(Value::OptInt(p.aging.days.min))),
        Column::mutable("max_days", |p| Ok(Value::OptInt(p.aging.days.max))),
        Column::mutable("warn_days", |p| Ok(Value::OptInt(p.aging.days.warn))),
    ],
};

const GROUPS: Table<Group> = Table {
    name: "principal_groups",
    columns: &[
        Column::key("id", |g| Ok(Value::Text(&g.id))),
        Column::fixed("domain", |g| Ok(Value::Text(g.realm.store_key()))),
        Column::fixed("name", |g| Ok(Value::Text(&g.name))),
        Column::mutable("role", |g| {
            Ok(Value::OptText(
                g.role.map(ferrocenter_core::auth::Role::as_str),
            ))
        }),
        Column::mutable("description", |g| Ok(Value::Text(&g.description))),
    ],
};

super::for_each_engine! {
    impl Engine {
        fn principal(row: &Row) -> Result<Principal, StoreError> {
            Ok(Principal {
                id: get(row, "id")?,
                realm: Realm::from_store_key(&get::<String>(row, "domain")?),
                name: get(row, "name")?,
                password_hash: get(row, "password_hash")?,
                digest_verifier: get(row, "digest_verifier")?,
                role: role_from(&get::<String>(row, "role")?)?,
                full_name: get(row, "full_name")?,
                email: get(row, "email")?,
                description: get(row, "description")?,
                disabled: get(row, "disabled")?,
                created_at: from_millis(get(row, "created_at")?),
                password_changed_at: from_millis(get(row, "password_changed_at")?),
                aging: PasswordAging {
                    expires: get(row, "password_expires")?,
                    expires_at: get::<Option<i64>>(row, "password_expires_at")?.map(from_millis),
                    inactive_after_expiry: get(row, "inactive_after_expiry")?,
                    inactive_days: get(row, "inactive_days")?,
                    days: PasswordDays {
                        min: get(row, "min_days")?,
                        max: get(row, "max_days")?,
                        warn: get(row, "warn_days")?,
                    },
                },
            })
        }

        fn group(row: &Row) -> Result<Group, StoreError> {
            Ok(Group {
                id: get(row, "id")?,
                realm: Realm::from_store_key(&get::<String>(row, "domain")?),
                name: get(row, "name")?,
                role: get::<Option<String>>(row, "role")?
                    .map(|r| role_from(&r))
                    .transpose()?,
                description: get(row, "description")?,
            })
        }
    }

    #[async_trait]
    impl IdentityStore for Engine {
        async fn insert_principal(&self, p: &Principal) -> Result<(), StoreError> {
            let sql = PRINCIPALS.insert();
            Self::bind_values(sqlx::query(&sql), PRINCIPALS.insert_values(p)?)
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
                "SELECT {} FROM principals WHERE domain = $1 AND name = $2",
                PRINCIPALS.select_list()
            ))
            .bind(realm.store_key())
            .bind(name)
            .fetch_optional(self.reads())
            .await
            .map_err(map_err)?;
            row.as_ref().map(Self::principal).transpose()
        }

        async fn list_principals(&self, realm: &Realm) -> Result<Vec<Principal>, StoreError> {
            let rows = sqlx::query(&format!(
                "SELECT {} FROM principals WHERE domain = $1 ORDER BY name",
                PRINCIPALS.select_list()
            ))
            .bind(realm.store_key())
            .fetch_all(self.reads())
            .await
            .map_err(map_err)?;
            rows.iter().map(Self::principal).collect()
        }

        async fn update_principal(&self, p: &Principal) -> Result<bool, StoreError> {
            let sql = PRINCIPALS.update();
            let r = Self::bind_values(sqlx::query(&sql), PRINCIPALS.update_values(p)?)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(r.rows_affected() == 1)
        }

        async fn set_digest_verifier_if_unset(
            &self,
            id: &str,
            password_hash: &str,
            verifier: &str,
        ) -> Result<bool, StoreError> {
            let r = sqlx::query(
                "UPDATE principals SET digest_verifier = $1 \
                 WHERE id = $2 AND digest_verifier IS NULL AND password_hash = $3",
            )
            .bind(verifier)
            .bind(id)
            .bind(password_hash)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
            Ok(r.rows_affected() == 1)
        }

        async fn set_password_days(
            &self,
            realm: &Realm,
            days: PasswordDays,
            setting: (&str, &str),
        ) -> Result<(), StoreError> {
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            sqlx::query(
                "UPDATE principals SET min_days = $1, max_days = $2, warn_days = $3 \
                 WHERE domain = $4",
            )
            .bind(days.min)
            .bind(days.max)
            .bind(days.warn)
            .bind(realm.store_key())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(setting.0)
            .bind(setting.1)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            tx.commit().await.map_err(map_err)
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
            let sql = GROUPS.insert();
            Self::bind_values(sqlx::query(&sql), GROUPS.insert_values(g)?)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(())
        }

        async fn find_group(&self, realm: &Realm, name: &str) -> Result<Option<Group>, StoreError> {
            let row = sqlx::query(&format!(
                "SELECT {} FROM principal_groups WHERE domain = $1 AND name = $2",
                GROUPS.select_list()
            ))
            .bind(realm.store_key())
            .bind(name)
            .fetch_optional(self.reads())
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
            let rows = sqlx::query(&format!(
                "SELECT {} \
                 FROM principal_groups g JOIN group_members m ON m.group_id = g.id \
                 WHERE m.principal_id = $1 ORDER BY g.name",
                GROUPS.select_list_as("g")
            ))
            .bind(principal_id)
            .fetch_all(self.reads())
            .await
            .map_err(map_err)?;
            rows.iter().map(Self::group).collect()
        }

        async fn list_groups(&self, realm: &Realm) -> Result<Vec<Group>, StoreError> {
            let rows = sqlx::query(&format!(
                "SELECT {} FROM principal_groups WHERE domain = $1 ORDER BY name",
                GROUPS.select_list()
            ))
            .bind(realm.store_key())
            .fetch_all(self.reads())
            .await
            .map_err(map_err)?;
            rows.iter().map(Self::group).collect()
        }

        async fn delete_group(&self, id: &str) -> Result<bool, StoreError> {
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            sqlx::query("DELETE FROM group_members WHERE group_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            let r = sqlx::query("DELETE FROM principal_groups WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
            Ok(r.rows_affected() == 1)
        }

        async fn group_members(&self, group_id: &str) -> Result<Vec<Principal>, StoreError> {
            let rows = sqlx::query(&format!(
                "SELECT {} \
                 FROM principals p JOIN group_members m ON m.principal_id = p.id \
                 WHERE m.group_id = $1 ORDER BY p.name",
                PRINCIPALS.select_list_as("p")
            ))
            .bind(group_id)
            .fetch_all(self.reads())
            .await
            .map_err(map_err)?;
            rows.iter().map(Self::principal).collect()
        }

        async fn password_history(&self, principal_id: &str) -> Result<Vec<String>, StoreError> {
            let rows = sqlx::query(
                "SELECT password_hash FROM password_history WHERE principal_id = $1 \
                 ORDER BY replaced_at DESC",
            )
            .bind(principal_id)
            .fetch_all(self.reads())
            .await
            .map_err(map_err)?;
            rows.iter().map(|r| get(r, "password_hash")).collect()
        }

        async fn update_principal_password(
            &self,
            p: &Principal,
            replaced_hash: &str,
            keep: usize,
        ) -> Result<bool, StoreError> {
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            let sql = PRINCIPALS.update();
            let r = Self::bind_values(sqlx::query(&sql), PRINCIPALS.update_values(p)?)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            if r.rows_affected() != 1 {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO password_history (principal_id, password_hash, replaced_at) \
                 VALUES ($1, $2, $3)",
            )
            .bind(&p.id)
            .bind(replaced_hash)
            .bind(to_millis(p.password_changed_at))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            let kept: Vec<i64> = sqlx::query_scalar(
                "SELECT replaced_at FROM password_history WHERE principal_id = $1 \
                 ORDER BY replaced_at DESC",
            )
            .bind(&p.id)
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
            if let Some(oldest_kept) = kept.get(keep.saturating_sub(1)).filter(|_| keep > 0) {
                sqlx::query(
                    "DELETE FROM password_history WHERE principal_id = $1 AND replaced_at < $2",
                )
                .bind(&p.id)
                .bind(oldest_kept)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            } else if keep == 0 {
                sqlx::query("DELETE FROM password_history WHERE principal_id = $1")
                    .bind(&p.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
            tx.commit().await.map_err(map_err)?;
            Ok(true)
        }
    }
}
