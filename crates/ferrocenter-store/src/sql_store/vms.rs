//! `VmStore`: virtual machines.
use std::collections::HashMap;

use async_trait::async_trait;
use ferrocenter_core::inventory::query::{ListQuery, Page, VmField};
use ferrocenter_core::inventory::VmRecord;
use ferrocenter_core::ports::{StoreError, VmStore};
use ferrocenter_core::{from_millis, to_millis};
use sqlx::Row as _;
use time::OffsetDateTime;

use super::table::{Column, Table, Value};
use crate::rows::{bigint_from, bigint_to, map_err, model_from, model_to};

pub(super) const VMS: Table<VmRecord> = Table {
    name: "vms",
    columns: &[
        Column::key("id", |v| Ok(Value::Text(&v.id))),
        Column::fixed("moid", |v| Ok(Value::Text(&v.moid))),
        Column::mutable("host_id", |v| Ok(Value::Text(&v.host_id))),
        Column::mutable("uuid", |v| Ok(Value::Text(&v.uuid))),
        Column::fixed("instance_uuid", |v| Ok(Value::Text(&v.instance_uuid))),
        Column::mutable("name", |v| Ok(Value::Text(&v.name))),
        Column::mutable("power_state", |v| Ok(Value::Text(&v.power_state))),
        Column::mutable("vcpus", |v| Ok(Value::Int(i64::from(v.vcpus)))),
        Column::mutable("memory_bytes", |v| {
            Ok(Value::Int(bigint_to(v.memory_bytes, "memory_bytes")?))
        }),
        Column::mutable("guest_os_id", |v| Ok(Value::Text(&v.guest_os_id))),
        Column::mutable("data", |v| Ok(Value::Owned(model_to(&v.info)?))),
        Column::fixed("created_at", |v| Ok(Value::Int(to_millis(v.created_at)))),
        Column::mutable("last_op_at", |v| Ok(Value::Int(to_millis(v.last_op_at)))),
    ],
};

super::for_each_engine! {
    impl Engine {
        pub(super) async fn insert_vms_on(c: &mut Conn, vms: &[VmRecord]) -> Result<(), StoreError> {
            // Bounded statements keep every engine's parameter limit far away.
            for chunk in vms.chunks(200) {
                let sql = VMS.insert_rows(chunk.len());
                let mut values = Vec::new();
                for v in chunk {
                    values.extend(VMS.insert_values(v)?);
                }
                Self::bind_values(sqlx::query(&sql), values)
                    .execute(&mut *c)
                    .await
                    .map_err(map_err)?;
            }
            Ok(())
        }

        pub(super) async fn update_vm_on(c: &mut Conn, v: &VmRecord) -> Result<bool, StoreError> {
            let sql = VMS.update();
            let r = Self::bind_values(sqlx::query(&sql), VMS.update_values(v)?)
                .execute(&mut *c)
                .await
                .map_err(map_err)?;
            Ok(r.rows_affected() == 1)
        }

        pub(super) fn vm(row: &Row) -> Result<VmRecord, StoreError> {
            Ok(VmRecord {
                id: get(row, "id")?,
                moid: get(row, "moid")?,
                host_id: get(row, "host_id")?,
                uuid: get(row, "uuid")?,
                instance_uuid: get(row, "instance_uuid")?,
                name: get(row, "name")?,
                power_state: get(row, "power_state")?,
                vcpus: bigint_from(get(row, "vcpus")?, "vcpus")?,
                memory_bytes: bigint_from(get(row, "memory_bytes")?, "memory_bytes")?,
                guest_os_id: get(row, "guest_os_id")?,
                info: model_from(&get::<String>(row, "data")?)?,
                created_at: from_millis(get(row, "created_at")?),
                last_op_at: from_millis(get(row, "last_op_at")?),
            })
        }
    }

    #[async_trait]
    impl VmStore for Engine {
        async fn insert_vm(&self, v: &VmRecord) -> Result<(), StoreError> {
            self.insert_vms(std::slice::from_ref(v)).await
        }

        async fn insert_vms(&self, vms: &[VmRecord]) -> Result<(), StoreError> {
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            Self::insert_vms_on(&mut tx, vms).await?;
            tx.commit().await.map_err(map_err)
        }

        async fn find_vms_by_instance_uuids(
            &self,
            uuids: &[String],
        ) -> Result<Vec<VmRecord>, StoreError> {
            let mut out = Vec::new();
            for chunk in uuids.chunks(500) {
                let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                    "SELECT {} FROM vms WHERE instance_uuid IN (",
                    VMS.select_list()
                ));
                let mut sep = q.separated(", ");
                for u in chunk {
                    sep.push_bind(u.clone());
                }
                q.push(")");
                for row in q.build().fetch_all(self.reads()).await.map_err(map_err)? {
                    out.push(Self::vm(&row)?);
                }
            }
            Ok(out)
        }

        async fn get_vm(&self, id: &str) -> Result<Option<VmRecord>, StoreError> {
            let row = sqlx::query(&format!("SELECT {} FROM vms WHERE id = $1", VMS.select_list()))
                .bind(id)
                .fetch_optional(self.reads())
                .await
                .map_err(map_err)?;
            row.as_ref().map(Self::vm).transpose()
        }

        async fn find_vm_by_instance_uuid(
            &self,
            instance_uuid: &str,
        ) -> Result<Option<VmRecord>, StoreError> {
            let row = sqlx::query(&format!(
                "SELECT {} FROM vms WHERE instance_uuid = $1",
                VMS.select_list()
            ))
            .bind(instance_uuid)
            .fetch_optional(self.reads())
            .await
            .map_err(map_err)?;
            row.as_ref().map(Self::vm).transpose()
        }

        async fn find_vm_on_host(
            &self,
            host_id: &str,
            uuid: &str,
        ) -> Result<Option<VmRecord>, StoreError> {
            let row = sqlx::query(&format!(
                "SELECT {} FROM vms WHERE host_id = $1 AND uuid = $2 ORDER BY id LIMIT 1",
                VMS.select_list()
            ))
            .bind(host_id)
            .bind(uuid)
            .fetch_optional(self.reads())
            .await
            .map_err(map_err)?;
            row.as_ref().map(Self::vm).transpose()
        }

        async fn list_vms(&self, host_id: Option<&str>) -> Result<Vec<VmRecord>, StoreError> {
            let mut q =
                sqlx::QueryBuilder::<Db>::new(format!("SELECT {} FROM vms", VMS.select_list()));
            if let Some(host) = host_id {
                q.push(" WHERE host_id = ");
                q.push_bind(host.to_string());
            }
            q.push(" ORDER BY name, id");
            let rows = q.build().fetch_all(self.reads()).await.map_err(map_err)?;
            rows.iter().map(Self::vm).collect()
        }

        async fn count_vms(&self) -> Result<u64, StoreError> {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vms")
                .fetch_one(self.reads())
                .await
                .map_err(map_err)?;
            bigint_from(n, "VM count")
        }

        async fn powered_on_usage(
            &self,
            host_ids: &[String],
        ) -> Result<HashMap<String, (u64, u64)>, StoreError> {
            let mut out = HashMap::new();
            // Bounded IN lists keep every engine's parameter limit far away.
            for chunk in host_ids.chunks(500) {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "SELECT host_id, CAST(SUM(vcpus) AS BIGINT), \
                     CAST(SUM(memory_bytes) AS BIGINT) FROM vms \
                     WHERE power_state = 'poweredOn' AND host_id IN (",
                );
                let mut sep = q.separated(", ");
                for id in chunk {
                    sep.push_bind(id.clone());
                }
                q.push(") GROUP BY host_id");
                for row in q.build().fetch_all(self.reads()).await.map_err(map_err)? {
                    let host: String = row.try_get(0).map_err(map_err)?;
                    let cpus: i64 = row.try_get(1).map_err(map_err)?;
                    let mem: i64 = row.try_get(2).map_err(map_err)?;
                    out.insert(host, (cpus.max(0) as u64, mem.max(0) as u64));
                }
            }
            Ok(out)
        }

        async fn update_vm(&self, v: &VmRecord) -> Result<bool, StoreError> {
            let mut c = self.pool.acquire().await.map_err(map_err)?;
            Self::update_vm_on(&mut c, v).await
        }

        async fn record_vm_power(
            &self,
            seen: &VmRecord,
            power_state: &str,
            at: OffsetDateTime,
        ) -> Result<bool, StoreError> {
            let r = sqlx::query(
                "UPDATE vms SET power_state = $2, last_op_at = $3 WHERE id = $1 \
                 AND host_id = $4 AND power_state = $5 AND last_op_at = $6",
            )
            .bind(&seen.id)
            .bind(power_state)
            .bind(to_millis(at))
            .bind(&seen.host_id)
            .bind(&seen.power_state)
            .bind(to_millis(seen.last_op_at))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
            Ok(r.rows_affected() == 1)
        }

        async fn delete_vm(&self, id: &str) -> Result<bool, StoreError> {
            let r = sqlx::query("DELETE FROM vms WHERE id = $1")
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(r.rows_affected() == 1)
        }

        async fn query_vms(&self, lq: &ListQuery<VmField>) -> Result<Page<VmRecord>, StoreError> {
            self.query_table(&VMS, "created_at, id", lq, Self::vm).await
        }
    }
}
