//! The SOAP door (vim25 over SOAP 1.1) at `POST /sdk`: reads the envelope, decodes the body
//! element into a [`Call`] by the declarations in `schema`, hands it to the binding
//! (`service.rs`) like VI/JSON does, and writes the answer or the fault. Sessions ride the
//! `vmware_soap_session` cookie. `GET /sdk/vimServiceVersions.xml` lists the releases, which
//! pyVmomi reads before it connects.
mod decode;
mod encode;
#[cfg(test)]
mod fuzz;
mod session;
mod wsdl;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRef, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use ferrocenter_core::CoreError;
use ferrocenter_http::body::{body_bytes, BodyError};
use ferrocenter_http::peer::Peer;
use ferrocenter_http::releases::{release_ok, PUBLISHED};
use ferrocenter_http::soap::{envelope, read_envelope, Limits};

use crate::call::Call;
use crate::faults::VimFault;
use crate::reply::Answer;
use crate::service;
use crate::state::VimState;

const XML: &str = "text/xml; charset=utf-8";

/// `SOAPAction: "urn:vim25/<release>"` names the release; without one the call is served.
fn check_release(headers: &HeaderMap) -> Result<(), VimFault> {
    let Some(action) = headers.get("soapaction").and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let action = action.trim().trim_matches('"');
    match action.strip_prefix("urn:vim25/") {
        Some(r) if !release_ok(r) => Err(VimFault::release_not_served(r)),
        _ => Ok(()),
    }
}

/// SOAP 1.1's fault code for a fault of the binding: vim's own.
const SERVER_FAULT: &str = "ServerFaultCode";

async fn handle(
    State(state): State<VimState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match answer(&state, peer, headers, body).await {
        Ok((method, a)) => render(&method, a),
        Err((f, code)) => render_fault(f, code),
    }
}

/// The method's name and the binding's answer, or a fault and its SOAP fault code.
async fn answer(
    state: &VimState,
    peer: Option<std::net::IpAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(String, Answer), (VimFault, &'static str)> {
    let server = |f: VimFault| (f, SERVER_FAULT);
    check_release(&headers).map_err(server)?;
    let bytes = body_bytes(body, state.max_body_bytes).map_err(|e| {
        server(match e {
            BodyError::TooLarge { .. } => VimFault::body_too_large(e.to_string()),
            _ => VimFault::invalid_request(e.to_string()),
        })
    })?;
    // What cannot be read as an envelope is the client's fault (SOAP's `Client` or
    // `VersionMismatch`); the detail still says InvalidRequest, which vim clients map.
    let env = read_envelope(&bytes, Limits::default())
        .map_err(|e| (VimFault::invalid_request(e.to_string()), e.fault_code()))?;
    let d = decode::decode(&env.body).map_err(server)?;
    // SOAP has no GET: clients read a property with the generic `Fetch(prop)` (pyVmomi reads
    // every property that way), which is VI/JSON's property read.
    let (verb, name, params) = if d.name == "Fetch" {
        let prop = d
            .params
            .get("prop")
            .and_then(|v| v.as_str())
            .ok_or_else(|| server(CoreError::invalid("prop", "is required").into()))?;
        (Method::GET, prop.to_string(), Default::default())
    } else {
        (Method::POST, d.name.clone(), d.params)
    };
    // LoginByToken's credential is the envelope itself (the token in its Security header, the
    // request's signature over its Body): the core reads it whole.
    let envelope = if d.name == "LoginByToken" {
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| server(VimFault::invalid_request("the envelope is not UTF-8")))?;
        Some(text.to_string())
    } else {
        None
    };
    let call = Call {
        method: verb,
        mo_type: d.mo_type,
        mo_id: d.mo_id,
        name,
        params,
        headers: session::with_token_header(headers),
        peer,
        envelope,
    };
    let a = service::dispatch(state, call).await.map_err(server)?;
    Ok((d.name, a))
}

fn render(method: &str, answer: Answer) -> Response {
    let xml = envelope(&encode::response(method, &answer.reply));
    let mut resp = (StatusCode::OK, [(header::CONTENT_TYPE, XML)], xml).into_response();
    if let Some(v) = answer
        .new_session
        .and_then(|t| HeaderValue::from_str(&session::set_cookie(&t)).ok())
    {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// Faults are HTTP 500 (SOAP 1.1), except a spent login budget (429 with `Retry-After`) and a
/// body over the limit (413), as on VI/JSON.
fn render_fault(f: VimFault, code: &str) -> Response {
    let status = match f.retry_after_secs {
        Some(_) => StatusCode::TOO_MANY_REQUESTS,
        None if f.too_large => StatusCode::PAYLOAD_TOO_LARGE,
        None => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let retry = f.retry_after_secs;
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, XML)],
        encode::fault(&f, code),
    )
        .into_response();
    if let Some(secs) = retry {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// The releases a client may ask for, in the form pyVmomi and govc read.
async fn service_versions() -> Response {
    let (newest, prior) = PUBLISHED.split_last().unwrap_or((&"9.1.1.0", &[]));
    let prior: String = prior
        .iter()
        .rev()
        .map(|v| format!("\n      <version>{v}</version>"))
        .collect();
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8" ?>
<namespaces version="1.0">
  <namespace>
    <name>urn:vim25</name>
    <version>{newest}</version>
    <priorVersions>{prior}
    </priorVersions>
  </namespace>
</namespaces>
"#
    );
    ([(header::CONTENT_TYPE, XML)], xml).into_response()
}

/// The SOAP routes, for any router whose state hands out a [`VimState`].
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    VimState: FromRef<S>,
{
    Router::new()
        .route("/sdk", post(handle))
        .route("/sdk/vimServiceVersions.xml", get(service_versions))
        .merge(wsdl::routes())
}
