//! `ScheduleStore`: backup schedules. Lists of names are stored comma-separated; the core's
//! parsers read them back, so a name the core does not know reads as corrupt data.
use async_trait::async_trait;
use ferrocenter_core::ports::{LocationType, ScheduleStore, StoreError};
use ferrocenter_core::recovery::schedules::{day_name, parse_day, BackupSchedule, Recurrence};
use ferrocenter_core::{from_millis, to_millis};
use time::OffsetDateTime;

use super::table::{Column, Table, Value};
use crate::rows::{bigint_from, map_err};

fn days_text(s: &BackupSchedule) -> String {
    s.recurrence
        .iter()
        .flat_map(|r| r.days.iter().map(|d| day_name(*d)))
        .collect::<Vec<_>>()
        .join(",")
}

const BACKUP_SCHEDULES: Table<BackupSchedule> = Table {
    name: "backup_schedules",
    columns: &[
        Column::key("id", |s| Ok(Value::Text(&s.id))),
        Column::mutable("parts", |s| Ok(Value::Owned(s.parts.join(",")))),
        Column::mutable("location", |s| Ok(Value::Text(&s.location))),
        Column::mutable("location_type", |s| {
            Ok(Value::Text(s.location_type.as_str()))
        }),
        Column::mutable("location_user", |s| {
            Ok(Value::OptText(s.location_user.as_deref()))
        }),
        Column::mutable("location_password", |s| {
            Ok(Value::OptText(s.location_password.as_deref()))
        }),
        Column::mutable("backup_password", |s| {
            Ok(Value::OptText(s.backup_password.as_deref()))
        }),
        Column::mutable("enable", |s| Ok(Value::Bool(s.enable))),
        Column::mutable("recurrence_hour", |s| {
            Ok(Value::OptInt(
                s.recurrence.as_ref().map(|r| i64::from(r.hour)),
            ))
        }),
        Column::mutable("recurrence_minute", |s| {
            Ok(Value::OptInt(
                s.recurrence.as_ref().map(|r| i64::from(r.minute)),
            ))
        }),
        Column::mutable("recurrence_days", |s| Ok(Value::Owned(days_text(s)))),
        Column::mutable("max_count", |s| {
            Ok(Value::OptInt(s.max_count.map(i64::from)))
        }),
        Column::fixed("created_at", |s| Ok(Value::Int(to_millis(s.created_at)))),
        Column::mutable("updated_at", |s| Ok(Value::Int(to_millis(s.updated_at)))),
        Column::fixed("last_run_at", |s| {
            Ok(Value::OptInt(s.last_run_at.map(to_millis)))
        }),
    ],
};

fn names(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').filter(|n| !n.is_empty())
}

super::for_each_engine! {
    impl Engine {
        fn backup_schedule(row: &Row) -> Result<BackupSchedule, StoreError> {
            let hour: Option<i64> = get(row, "recurrence_hour")?;
            let minute: Option<i64> = get(row, "recurrence_minute")?;
            let days_text: String = get(row, "recurrence_days")?;
            let recurrence = match (hour, minute) {
                (Some(h), Some(m)) => Some(Recurrence {
                    hour: bigint_from(h, "recurrence_hour")?,
                    minute: bigint_from(m, "recurrence_minute")?,
                    days: names(&days_text)
                        .map(|d| {
                            parse_day(d).ok_or_else(|| {
                                StoreError::Corrupt(format!("unknown day of the week {d:?}"))
                            })
                        })
                        .collect::<Result<_, _>>()?,
                }),
                _ => None,
            };
            let parts: String = get(row, "parts")?;
            let kind: String = get(row, "location_type")?;
            Ok(BackupSchedule {
                id: get(row, "id")?,
                parts: names(&parts).map(String::from).collect(),
                location: get(row, "location")?,
                location_type: kind
                    .parse::<LocationType>()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                location_user: get(row, "location_user")?,
                location_password: get(row, "location_password")?,
                backup_password: get(row, "backup_password")?,
                enable: get(row, "enable")?,
                recurrence,
                max_count: get::<Option<i64>>(row, "max_count")?
                    .map(|n| bigint_from(n, "max_count"))
                    .transpose()?,
                created_at: from_millis(get(row, "created_at")?),
                updated_at: from_millis(get(row, "updated_at")?),
                last_run_at: get::<Option<i64>>(row, "last_run_at")?.map(from_millis),
            })
        }
    }

    #[async_trait]
    impl ScheduleStore for Engine {
        async fn insert_backup_schedule(&self, s: &BackupSchedule) -> Result<(), StoreError> {
            Self::bind_values(
                sqlx::query(&BACKUP_SCHEDULES.insert()),
                BACKUP_SCHEDULES.insert_values(s)?,
            )
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
            Ok(())
        }

        async fn get_backup_schedule(
            &self,
            id: &str,
        ) -> Result<Option<BackupSchedule>, StoreError> {
            let row = sqlx::query(&format!(
                "SELECT {} FROM backup_schedules WHERE id = $1",
                BACKUP_SCHEDULES.select_list()
            ))
            .bind(id)
            .fetch_optional(self.reads())
            .await
            .map_err(map_err)?;
            row.as_ref().map(Self::backup_schedule).transpose()
        }

        async fn list_backup_schedules(&self) -> Result<Vec<BackupSchedule>, StoreError> {
            let rows = sqlx::query(&format!(
                "SELECT {} FROM backup_schedules ORDER BY id",
                BACKUP_SCHEDULES.select_list()
            ))
            .fetch_all(self.reads())
            .await
            .map_err(map_err)?;
            rows.iter().map(Self::backup_schedule).collect()
        }

        async fn update_backup_schedule(&self, s: &BackupSchedule) -> Result<bool, StoreError> {
            let r = Self::bind_values(
                sqlx::query(&BACKUP_SCHEDULES.update()),
                BACKUP_SCHEDULES.update_values(s)?,
            )
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
            Ok(r.rows_affected() == 1)
        }

        async fn delete_backup_schedule(&self, id: &str) -> Result<bool, StoreError> {
            let r = sqlx::query("DELETE FROM backup_schedules WHERE id = $1")
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(r.rows_affected() == 1)
        }

        async fn record_backup_schedule_run(
            &self,
            id: &str,
            at: OffsetDateTime,
        ) -> Result<bool, StoreError> {
            let r = sqlx::query("UPDATE backup_schedules SET last_run_at = $2 WHERE id = $1")
                .bind(id)
                .bind(to_millis(at))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(r.rows_affected() == 1)
        }
    }
}
