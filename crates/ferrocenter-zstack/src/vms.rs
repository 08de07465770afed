//! QueryVmInstance, read-only: where each VM runs, its state and size, so that the effect of
//! maintenance and host removal can be seen through ZStack's API.
use std::collections::HashMap;

use ferrocenter_core::auth::Caller;
use ferrocenter_core::inventory::query::{ListQuery, VmField};
use serde_json::Value;

use super::errors::ZsError;
use super::listing::Listed;
use super::state::ZstackState;
use super::{query, render};

pub struct Vms;

impl Listed for Vms {
    type Field = VmField;
    const ENTITY: &'static str = "VmInstance";
    const CLASS: &'static str = "org.zstack.header.vm.VmInstanceInventory";

    fn field(name: &str) -> Option<VmField> {
        query::vm_field(name)
    }

    fn id_field() -> VmField {
        VmField::Id
    }

    async fn page(
        state: &ZstackState,
        caller: &Caller,
        q: &ListQuery<VmField>,
    ) -> Result<(Vec<Value>, Option<u64>), ZsError> {
        let page = state.core.query_vms(caller, q).await?;
        let mut hosts = HashMap::new();
        let mut inventories = Vec::with_capacity(page.rows.len());
        for vm in &page.rows {
            if !hosts.contains_key(&vm.host_id) {
                let h = state.core.get_host(caller, &vm.host_id).await.ok();
                hosts.insert(vm.host_id.clone(), h);
            }
            inventories.push(render::vm(vm, hosts[&vm.host_id].as_ref()));
        }
        Ok((inventories, page.total))
    }
}
