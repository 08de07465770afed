//! `ClaimStore`: the claims adds are making on agents, until their host records hold them.
use async_trait::async_trait;
use ferrocenter_core::hosts::ClaimIntent;
use ferrocenter_core::ports::{ClaimStore, StoreError};
use ferrocenter_core::{from_millis, to_millis};

use super::table::{Column, Table, Value};
use crate::rows::{bigint_from, map_err};

const CLAIM_INTENTS: Table<ClaimIntent> = Table {
    name: "claim_intents",
    columns: &[
        Column::key("id", |c| Ok(Value::Text(&c.id))),
        Column::fixed("task_id", |c| Ok(Value::OptText(c.task_id.as_deref()))),
        Column::fixed("address", |c| Ok(Value::Text(&c.address))),
        Column::fixed("port", |c| Ok(Value::Int(i64::from(c.port)))),
        Column::fixed("thumbprint", |c| Ok(Value::Text(&c.thumbprint))),
        Column::fixed("agent_user", |c| Ok(Value::Text(&c.agent_user))),
        Column::fixed("agent_secret", |c| Ok(Value::Text(&c.agent_secret))),
        Column::fixed("created_at", |c| Ok(Value::Int(to_millis(c.created_at)))),
    ],
};

super::for_each_engine! {
    impl Engine {
        pub(super) async fn delete_claim_intent_on(c: &mut Conn, id: &str) -> Result<bool, StoreError> {
            let r = sqlx::query("DELETE FROM claim_intents WHERE id = $1")
                .bind(id)
                .execute(&mut *c)
                .await
                .map_err(map_err)?;
            Ok(r.rows_affected() == 1)
        }

        fn claim_intent(row: &Row) -> Result<ClaimIntent, StoreError> {
            Ok(ClaimIntent {
                id: get(row, "id")?,
                task_id: get(row, "task_id")?,
                address: get(row, "address")?,
                port: bigint_from(get(row, "port")?, "port")?,
                thumbprint: get(row, "thumbprint")?,
                agent_user: get(row, "agent_user")?,
                agent_secret: get(row, "agent_secret")?,
                created_at: from_millis(get(row, "created_at")?),
            })
        }
    }

    #[async_trait]
    impl ClaimStore for Engine {
        async fn put_claim_intent(&self, c: &ClaimIntent) -> Result<(), StoreError> {
            let sql = format!("{} ON CONFLICT (id) DO NOTHING", CLAIM_INTENTS.insert());
            Self::bind_values(sqlx::query(&sql), CLAIM_INTENTS.insert_values(c)?)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(())
        }

        async fn delete_claim_intent(&self, id: &str) -> Result<bool, StoreError> {
            let mut c = self.pool.acquire().await.map_err(map_err)?;
            Self::delete_claim_intent_on(&mut c, id).await
        }

        async fn list_claim_intents(&self) -> Result<Vec<ClaimIntent>, StoreError> {
            let rows = sqlx::query(&format!(
                "SELECT {} FROM claim_intents ORDER BY created_at, id",
                CLAIM_INTENTS.select_list()
            ))
            .fetch_all(self.reads())
            .await
            .map_err(map_err)?;
            rows.iter().map(Self::claim_intent).collect()
        }
    }
}
