//! QueryHost: `GET /zstack/v1/hosts` with the query language, and `GET /zstack/v1/hosts/{uuid}`.
use ferrocenter_core::auth::Caller;
use ferrocenter_core::inventory::query::{HostField, ListQuery};
use serde_json::Value;

use super::errors::ZsError;
use super::listing::Listed;
use super::state::ZstackState;
use super::{query, render};

pub struct Hosts;

impl Listed for Hosts {
    type Field = HostField;
    const ENTITY: &'static str = "Host";
    const CLASS: &'static str = "org.zstack.kvm.KVMHostInventory";

    fn field(name: &str) -> Option<HostField> {
        query::host_field(name)
    }

    fn id_field() -> HostField {
        HostField::Id
    }

    async fn page(
        state: &ZstackState,
        caller: &Caller,
        q: &ListQuery<HostField>,
    ) -> Result<(Vec<Value>, Option<u64>), ZsError> {
        let page = state.core.query_hosts(caller, q).await?;
        let caps = state.core.hosts_capacity(&page.rows).await?;
        let inventories = page
            .rows
            .iter()
            .zip(&caps)
            .map(|(h, cap)| render::host(h, cap))
            .collect();
        Ok((inventories, page.total))
    }
}
