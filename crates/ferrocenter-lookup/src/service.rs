//! The two routes: `POST /lookupservice/sdk` (decode the envelope, call the core, encode the
//! answer) and `GET /lookupservice/wsdl/lookup.wsdl`. Both answer anonymously: clients discover
//! endpoints before they log in.
use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use ferrocenter_core::lookup::SITE_ID;
use ferrocenter_http::soap::{envelope, read_envelope, Limits};

use crate::decode::{decode, Request};
use crate::encode::{write_field, Value};
use crate::faults::{encoding, LookupFault, TEXT_XML};
use crate::render::{registration, service_content};
use crate::schema::{operation, NS};
use crate::state::LookupState;
use crate::wsdl::lookup_wsdl;

pub const SDK_PATH: &str = "/lookupservice/sdk";
pub const WSDL_PATH: &str = "/lookupservice/wsdl/lookup.wsdl";

/// A lookup request is a handful of elements; these bounds leave room and stop anything else
/// early (the listener's body limit bounds its size).
const LIMITS: Limits = Limits {
    max_depth: 16,
    max_elements: 1_000,
};

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    LookupState: FromRef<S>,
{
    Router::new()
        .route(SDK_PATH, post(sdk))
        .route(WSDL_PATH, get(wsdl))
}

async fn wsdl(State(s): State<LookupState>) -> Response {
    let url = format!("{}{SDK_PATH}", s.advertised.address.https_origin());
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, TEXT_XML)],
        lookup_wsdl(&url),
    )
        .into_response()
}

async fn sdk(State(s): State<LookupState>, body: Bytes) -> Response {
    match answer(&s, &body).await {
        Ok(xml) => (StatusCode::OK, [(header::CONTENT_TYPE, TEXT_XML)], xml).into_response(),
        Err(f) => f.into_response(),
    }
}

async fn answer(s: &LookupState, body: &[u8]) -> Result<String, LookupFault> {
    let env = read_envelope(body, LIMITS)?;
    let request = decode(&env.body)?;
    let (method, value) = match request {
        Request::RetrieveServiceContent => ("RetrieveServiceContent", service_content()),
        Request::List(filter) => {
            let found = s.core.lookup_list(&s.advertised, filter.as_ref()).await?;
            (
                "List",
                Value::List(found.iter().map(registration).collect()),
            )
        }
        Request::Get(id) => {
            let r = s.core.lookup_get(&s.advertised, &id).await?;
            ("Get", registration(&r))
        }
        Request::GetSiteId => ("GetSiteId", Value::str(SITE_ID)),
    };
    let mut out = String::new();
    if let Some(returns) = operation(method).and_then(|o| o.returns) {
        write_field(&mut out, &returns, &value).map_err(encoding)?;
    }
    Ok(envelope(&format!(
        r#"<{method}Response xmlns="{NS}">{out}</{method}Response>"#
    )))
}
