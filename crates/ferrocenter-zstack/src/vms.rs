//! QueryVmInstance, read-only: where each VM runs, its state and size, so that the effect of
//! maintenance and host removal can be seen through ZStack's API.
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use ferrocenter_core::inventory::query::{Counting, ListQuery, VmField};
use serde_json::Value;

use super::errors::ZsError;
use super::{listing, query, render, session};
use crate::AppState;

const VM_CLASS: &str = "org.zstack.header.vm.VmInstanceInventory";

async fn run(
    state: &AppState,
    headers: &HeaderMap,
    q: ListQuery<VmField>,
    fields: Option<Vec<String>>,
) -> Result<Value, ZsError> {
    let caller = session::caller(state, headers)?;
    let page = state.core.query_vms(&caller, &q).await?;
    let mut hosts = HashMap::new();
    let mut inventories = Vec::with_capacity(page.rows.len());
    for vm in &page.rows {
        if !hosts.contains_key(&vm.host_id) {
            let h = state.core.get_host(&caller, &vm.host_id).await.ok();
            hosts.insert(vm.host_id.clone(), h);
        }
        inventories.push(render::vm(vm, hosts[&vm.host_id].as_ref()));
    }
    Ok(render::listing(
        inventories,
        VM_CLASS,
        page.total,
        q.counting == Counting::Only,
        fields.as_deref(),
    ))
}

pub async fn query_vms(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let r = match listing::parse(&pairs, query::vm_field, "VmInstance") {
        Ok((q, fields)) => run(&state, &headers, q, fields).await,
        Err(e) => Err(e),
    };
    listing::respond(r)
}

pub async fn get_vm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    listing::respond(run(&state, &headers, listing::by_uuid(VmField::Id, uuid), None).await)
}
