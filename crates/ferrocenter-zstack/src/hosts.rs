//! QueryHost: `GET /zstack/v1/hosts` with the query language, and `GET /zstack/v1/hosts/{uuid}`
//! (a list of zero or one, never a 404; other parameters ignored).
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use ferrocenter_core::inventory::query::{Counting, HostField, ListQuery};
use serde_json::Value;

use super::errors::ZsError;
use super::{listing, query, render, session};
use crate::AppState;

const HOST_CLASS: &str = "org.zstack.kvm.KVMHostInventory";

async fn run(
    state: &AppState,
    headers: &HeaderMap,
    q: ListQuery<HostField>,
    fields: Option<Vec<String>>,
) -> Result<Value, ZsError> {
    let caller = session::caller(state, headers)?;
    let page = state.core.query_hosts(&caller, &q).await?;
    let caps = state.core.hosts_capacity(&page.rows).await?;
    let inventories = page
        .rows
        .iter()
        .zip(&caps)
        .map(|(h, cap)| render::host(h, cap))
        .collect();
    Ok(render::listing(
        inventories,
        HOST_CLASS,
        page.total,
        q.counting == Counting::Only,
        fields.as_deref(),
    ))
}

pub async fn query_hosts(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let r = match listing::parse(&pairs, query::host_field, "Host") {
        Ok((q, fields)) => run(&state, &headers, q, fields).await,
        Err(e) => Err(e),
    };
    listing::respond(r)
}

pub async fn get_host(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    listing::respond(
        run(
            &state,
            &headers,
            listing::by_uuid(HostField::Id, uuid),
            None,
        )
        .await,
    )
}
