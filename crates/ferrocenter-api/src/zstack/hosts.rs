//! QueryHost: `GET /zstack/v1/hosts` with the query language, and `GET /zstack/v1/hosts/{uuid}`
//! (a list of zero or one, never a 404; other parameters ignored).
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrocenter_core::inventory::query::{
    Condition, Counting, HostField, ListQuery, QueryOp, QueryValue,
};
use serde_json::Value;

use super::errors::ZsError;
use super::query::{self, QueryError};
use super::{render, session};
use crate::AppState;

const HOST_CLASS: &str = "org.zstack.kvm.KVMHostInventory";

pub fn query_fault(e: QueryError) -> ZsError {
    match e {
        // ZStack runs these and fails inside: an unknown field is an internal error (503).
        QueryError::UnknownField(..) | QueryError::BadValue(..) => {
            ZsError::api("SYS.1000", e.to_string())
        }
        other => ZsError::BadRequest(other.to_string()),
    }
}

async fn run(
    state: &AppState,
    headers: &HeaderMap,
    q: ListQuery<HostField>,
    fields: Option<Vec<String>>,
) -> Result<Value, ZsError> {
    let caller = session::caller(state, headers)?;
    let page = state.core.query_hosts(&caller, &q).await?;
    let mut inventories = Vec::with_capacity(page.rows.len());
    for h in &page.rows {
        let cap = state.core.host_capacity(h).await?;
        inventories.push(render::host(h, &cap));
    }
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
    let result = async {
        let p = query::parse_params(&pairs).map_err(query_fault)?;
        let q = query::host_query(&p).map_err(query_fault)?;
        run(&state, &headers, q, p.fields).await
    }
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn get_host(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    let q = ListQuery {
        conditions: vec![Condition {
            field: HostField::Id,
            op: QueryOp::Eq,
            values: vec![QueryValue::Text(uuid)],
        }],
        ..Default::default()
    };
    match run(&state, &headers, q, None).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}
