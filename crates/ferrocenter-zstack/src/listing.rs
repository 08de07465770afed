//! What every ZStack query API shares: reading the query string into a core `ListQuery` for
//! one entity's fields, the `GET /…/{uuid}` form (a list of zero or one, never a 404, other
//! parameters ignored), and answering 200 with the reply or the error.
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrocenter_core::inventory::query::{Condition, ListQuery, QueryField, QueryOp, QueryValue};
use serde_json::Value;

use super::errors::ZsError;
use super::query::{self, QueryError};

fn query_fault(e: QueryError) -> ZsError {
    match e {
        // ZStack runs these and fails inside: an unknown field is an internal error (503).
        QueryError::UnknownField(..) | QueryError::BadValue(..) => {
            ZsError::api("SYS.1000", e.to_string())
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
