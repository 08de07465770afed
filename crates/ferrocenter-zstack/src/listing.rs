//! Every ZStack query API, once: `GET /zstack/v1/{entities}` reads the query string into a
//! core `ListQuery` for the entity's fields, `GET /zstack/v1/{entities}/{uuid}` is the same
//! query on the id (a list of zero or one, never a 404, other parameters ignored), and both
//! answer 200 with the reply or the error. An entity says only how to read one page
//! ([`Listed`]).
use std::future::Future;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrocenter_core::auth::Caller;
use ferrocenter_core::inventory::query::{
    Condition, Counting, ListQuery, QueryField, QueryOp, QueryValue,
};
use serde_json::Value;

use super::caller::caller;
use super::errors::ZsError;
use super::query::{self, QueryError};
use super::render;
use super::state::ZstackState;

/// An entity a query API lists.
pub trait Listed {
    type Field: QueryField + Send + Sync;
    /// Its name in query errors (`Host`).
    const ENTITY: &'static str;
    /// The inventory class of its replies.
    const CLASS: &'static str;
    /// The query field of a name in the query string.
    fn field(name: &str) -> Option<Self::Field>;
    /// The field `GET /…/{uuid}` matches.
    fn id_field() -> Self::Field;
    /// One page of inventories, and the total when it was counted.
    fn page(
        state: &ZstackState,
        caller: &Caller,
        q: &ListQuery<Self::Field>,
    ) -> impl Future<Output = Result<(Vec<Value>, Option<u64>), ZsError>> + Send;
}

async fn run<L: Listed>(
    state: &ZstackState,
    headers: &HeaderMap,
    q: ListQuery<L::Field>,
    fields: Option<Vec<String>>,
) -> Result<Value, ZsError> {
    let caller = caller(state, headers)?;
    let (inventories, total) = L::page(state, &caller, &q).await?;
    Ok(render::listing(
        inventories,
        L::CLASS,
        total,
        q.counting == Counting::Only,
        fields.as_deref(),
    ))
}

/// `GET /zstack/v1/{entities}` with the query language.
pub async fn query<L: Listed>(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let r = match parse(&pairs, L::field, L::ENTITY) {
        Ok((q, fields)) => run::<L>(&state, &headers, q, fields).await,
        Err(e) => Err(e),
    };
    respond(r)
}

/// `GET /zstack/v1/{entities}/{uuid}`.
pub async fn get<L: Listed>(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    respond(run::<L>(&state, &headers, by_uuid(L::id_field(), uuid), None).await)
}

fn query_fault(e: QueryError) -> ZsError {
    match e {
        // ZStack fails these inside the query with an internal error (SYS.1000); they are the
        // caller's mistakes, so they are argument errors naming the condition.
        QueryError::BadCondition(..) | QueryError::BadSort(..) | QueryError::TooLarge(..) => {
            ZsError::api("SYS.1007", e.to_string())
        }
        other => ZsError::BadRequest(other.to_string()),
    }
}

/// The query and the `fields` projection of a listing of `entity`.
pub fn parse<F: QueryField>(
    pairs: &[(String, String)],
    field: fn(&str) -> Option<F>,
    entity: &'static str,
) -> Result<(ListQuery<F>, Option<Vec<String>>), ZsError> {
    let p = query::parse_params(pairs).map_err(query_fault)?;
    let q = query::build_query(&p, field, entity).map_err(query_fault)?;
    Ok((q, p.fields))
}

/// The query of `GET /…/{uuid}`.
pub fn by_uuid<F: QueryField>(id_field: F, uuid: String) -> ListQuery<F> {
    ListQuery {
        conditions: vec![Condition {
            field: id_field,
            op: QueryOp::Eq,
            values: vec![QueryValue::Text(uuid)],
        }],
        ..Default::default()
    }
}

pub fn respond(r: Result<Value, ZsError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}
