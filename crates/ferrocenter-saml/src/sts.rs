//! The security token service: WS-Trust 1.3 over SOAP 1.1 at `POST /sts/STSService` (and the
//! seed's `/ims/STSService`). A `RequestSecurityToken` is decoded into the core's
//! [`TokenRequest`] — the credential (a UsernameToken, a presented assertion, or an ActAs
//! assertion), the proof (the certificate whose key signed the request) and what was asked
//! (lifetime, renewable, delegatable, bearer or holder-of-key) — and answered with a
//! `RequestSecurityTokenResponseCollection` or a SOAP fault with WS-Trust's fault codes.
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use ferrocenter_core::auth::tokens::{IssuedToken, TokenCredential, TokenRequest};
use ferrocenter_core::auth::{Listener, Origin, SessionKind};
use ferrocenter_core::ports::Confirmation;
use ferrocenter_core::{Core, CoreError};
use ferrocenter_http::peer::Peer;
use libxml::tree::Node;
use time::OffsetDateTime;

use crate::assertion::{format_time, parse_time};
use crate::dom::{self, esc, NS_SAML, NS_SOAP, NS_WSSE, NS_WST, NS_WST14, NS_WSU};
use crate::wssec;

pub const STS_PATH: &str = "/sts/STSService";
/// The certificates tokens are signed under (PEM, current first), for relying parties.
pub const SIGNING_CERTIFICATES_PATH: &str = "/sts/signing-certificates";
/// The path seeds/003 shows for the same service.
pub const STS_PATH_ALIAS: &str = "/ims/STSService";
const TOKEN_TYPE: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const KEY_BEARER: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer";
const KEY_PUBLIC: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey";
const ISSUE: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue";
const RENEW: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Renew";
const TEXT_XML: &str = "text/xml; charset=utf-8";

#[derive(Clone)]
pub struct StsState {
    pub core: Arc<Core>,
}

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    StsState: FromRef<S>,
{
    Router::new()
        .route(STS_PATH, post(handle))
        .route(STS_PATH_ALIAS, post(handle))
        .route(SIGNING_CERTIFICATES_PATH, get(signing_certificates))
}

/// Public certificates, served anonymously as a relying party fetches them before it trusts.
async fn signing_certificates(State(s): State<StsState>) -> Response {
    match s.core.token_signing_certificates().await {
        Ok(certs) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            certs.concat(),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!("signing certificates: {e}");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// The WS-Trust 1.3 faults (section 11) the service answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StsFault {
    InvalidRequest,
    FailedAuthentication,
    RequestFailed,
    InvalidTimeRange,
    UnableToRenew,
}

impl StsFault {
    fn code(self) -> &'static str {
        match self {
            StsFault::InvalidRequest => "InvalidRequest",
            StsFault::FailedAuthentication => "FailedAuthentication",
            StsFault::RequestFailed => "RequestFailed",
            StsFault::InvalidTimeRange => "InvalidTimeRange",
            StsFault::UnableToRenew => "UnableToRenew",
        }
    }
}

type Fault = (StsFault, String);

fn invalid(msg: impl Into<String>) -> Fault {
    (StsFault::InvalidRequest, msg.into())
}

/// The binding's one map from core errors to WS-Trust faults. Authentication failures carry
/// no detail: the answer must not tell a wrong password from a locked account.
fn fault_of(e: CoreError) -> Fault {
    match e {
        CoreError::Unauthenticated
        | CoreError::InvalidLogin
        | CoreError::TooManyLoginAttempts { .. }
        | CoreError::NoPermission { .. } => (
            StsFault::FailedAuthentication,
            "Authentication failed".into(),
        ),
        CoreError::InvalidArgument { field, reason } if field == "Lifetime" => {
            (StsFault::InvalidTimeRange, format!("{field}: {reason}"))
        }
        CoreError::InvalidArgument { field, reason } => {
            (StsFault::InvalidRequest, format!("{field}: {reason}"))
        }
        CoreError::InvalidState { message } => (StsFault::UnableToRenew, message),
        other => {
            tracing::warn!("token request failed: {other}");
            (StsFault::RequestFailed, "The request failed".into())
        }
    }
}

fn render_fault((f, msg): Fault) -> Response {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="{NS_SOAP}"><S:Body><S:Fault><faultcode xmlns:wst="{NS_WST}">wst:{}</faultcode><faultstring>{}</faultstring></S:Fault></S:Body></S:Envelope>"#,
        f.code(),
        esc(&msg)
    );
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, TEXT_XML)],
        body,
    )
        .into_response()
}

async fn handle(State(s): State<StsState>, Peer(peer): Peer, body: Bytes) -> Response {
    let origin = Origin::new(Listener::Api, SessionKind::Vsphere, peer);
    match answer(&s.core, origin, &body).await {
        Ok(xml) => (StatusCode::OK, [(header::CONTENT_TYPE, TEXT_XML)], xml).into_response(),
        Err(f) => render_fault(f),
    }
}

/// What the request body asked, read out of the libxml2 tree (which cannot cross an await).
struct Decoded {
    renew: bool,
    credential: Credential,
    proof: Option<Vec<u8>>,
    holder_of_key: bool,
    lifetime: Option<(OffsetDateTime, OffsetDateTime)>,
    renewable: bool,
    delegatable: bool,
    audience: Option<String>,
}

enum Credential {
    Password { username: String, password: String },
    Token(String),
    ActAs(String),
    Renew(String),
}

async fn answer(core: &Core, origin: Origin, body: &[u8]) -> Result<String, Fault> {
    let xml = std::str::from_utf8(body).map_err(|_| invalid("the request is not UTF-8"))?;
    let d = decode(xml, OffsetDateTime::now_utc())?;
    let issued = if d.renew {
        let Credential::Renew(token) = &d.credential else {
            return Err(invalid("Renew needs a RenewTarget"));
        };
        core.renew_token(token, d.proof.as_deref(), d.lifetime)
            .await
            .map_err(fault_of)?
    } else {
        let credential = match &d.credential {
            Credential::Password { username, password } => {
                TokenCredential::Password { username, password }
            }
            Credential::Token(xml) => TokenCredential::Token { xml },
            Credential::ActAs(xml) => TokenCredential::ActAs { xml },
            Credential::Renew(_) => return Err(invalid("RenewTarget belongs to a Renew request")),
        };
        let req = TokenRequest {
            credential,
            proof: d.proof.as_deref(),
            holder_of_key: d.holder_of_key,
            lifetime: d.lifetime,
            renewable: d.renewable,
            delegatable: d.delegatable,
            audience: d.audience.as_deref(),
        };
        core.issue_token(origin, &req).await.map_err(fault_of)?
    };
    Ok(response(&issued))
}

fn bool_text(node: Option<Node>) -> Result<bool, Fault> {
    match node {
        None => Ok(false),
        Some(n) => match dom::text(&n).map_err(invalid)?.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" | "" => Ok(false),
            other => Err(invalid(format!("'{other}' is not a boolean"))),
        },
    }
}

fn decode(xml: &str, now: OffsetDateTime) -> Result<Decoded, Fault> {
    let doc = dom::parse(xml).map_err(invalid)?;
    let env = doc
        .get_root_element()
        .filter(|r| dom::is(r, NS_SOAP, "Envelope"))
        .ok_or_else(|| invalid("the request is not a SOAP 1.1 Envelope"))?;
    // A signature that is there but does not verify fails the request: it is someone's claim
    // to hold a key.
    let proof = wssec::verify_request(&doc, &env, now).map_err(|e| {
        tracing::info!("token request refused: {e}");
        (
            StsFault::FailedAuthentication,
            "Authentication failed".to_string(),
        )
    })?;
    let body = dom::only_child(&env, NS_SOAP, "Body").map_err(invalid)?;
    let rst = dom::only_child(&body, NS_WST, "RequestSecurityToken").map_err(invalid)?;
    let child = |name: &str| dom::optional_child(&rst, NS_WST, name).map_err(invalid);
    if let Some(t) = child("TokenType")? {
        let t = dom::text(&t).map_err(invalid)?;
        if t != TOKEN_TYPE {
            return Err(invalid(format!(
                "TokenType {t} is not issued: only {TOKEN_TYPE}"
            )));
        }
    }
    let request_type =
        dom::text(&child("RequestType")?.ok_or_else(|| invalid("RequestType is missing"))?)
            .map_err(invalid)?;
    let renew = match request_type.as_str() {
        ISSUE => false,
        RENEW => true,
        other => return Err(invalid(format!("RequestType {other} is not supported"))),
    };
    let lifetime = match child("Lifetime")? {
        Some(l) => {
            let read = |name: &str| -> Result<OffsetDateTime, Fault> {
                let n = dom::only_child(&l, NS_WSU, name).map_err(invalid)?;
                parse_time(&dom::text(&n).map_err(invalid)?).map_err(invalid)
            };
            Some((read("Created")?, read("Expires")?))
        }
        None => None,
    };
    let renewable = match child("Renewing")? {
        Some(r) => matches!(r.get_property_no_ns("Allow").as_deref(), Some("true" | "1")),
        None => false,
    };
    let delegatable = bool_text(child("Delegatable")?)?;
    let holder_of_key = match child("KeyType")? {
        None => false,
        Some(k) => match dom::text(&k).map_err(invalid)?.as_str() {
            KEY_BEARER => false,
            KEY_PUBLIC => true,
            other => return Err(invalid(format!("KeyType {other} is not supported"))),
        },
    };
    let audience = match dom::children(
        &rst,
        "http://schemas.xmlsoap.org/ws/2004/09/policy",
        "AppliesTo",
    )
    .first()
    {
        Some(a) => Some(address_in(a).ok_or_else(|| invalid("AppliesTo names no Address"))?),
        None => None,
    };
    let assertion_in = |n: &Node| -> Result<String, Fault> {
        let a = dom::only_child(n, NS_SAML, "Assertion").map_err(invalid)?;
        Ok(doc.node_to_string(&a))
    };
    let security = wssec::security_header(&env).map_err(invalid)?;
    let credential = if renew {
        let t = child("RenewTarget")?.ok_or_else(|| invalid("RenewTarget is missing"))?;
        Credential::Renew(assertion_in(&t)?)
    } else if let Some(a) = dom::optional_child(&rst, NS_WST14, "ActAs").map_err(invalid)? {
        Credential::ActAs(assertion_in(&a)?)
    } else if let Some(ut) = match &security {
        Some(s) => dom::optional_child(s, NS_WSSE, "UsernameToken").map_err(invalid)?,
        None => None,
    } {
        let field = |name: &str| -> Result<String, Fault> {
            dom::text(&dom::only_child(&ut, NS_WSSE, name).map_err(invalid)?).map_err(invalid)
        };
        Credential::Password {
            username: field("Username")?,
            password: field("Password")?,
        }
    } else if let Some(s) = security
        .as_ref()
        .filter(|s| !dom::children(s, NS_SAML, "Assertion").is_empty())
    {
        Credential::Token(assertion_in(s)?)
    } else {
        return Err((
            StsFault::FailedAuthentication,
            "The request carries no credential".into(),
        ));
    };
    Ok(Decoded {
        renew,
        credential,
        proof,
        holder_of_key,
        lifetime,
        renewable,
        delegatable,
        audience,
    })
}

/// The text of the first `Address` element under `node` (WS-Addressing's EndpointReference).
fn address_in(node: &Node) -> Option<String> {
    for c in node.get_child_elements() {
        if c.get_name() == "Address" {
            return dom::text(&c).ok().filter(|t| !t.is_empty());
        }
        if let Some(a) = address_in(&c) {
            return Some(a);
        }
    }
    None
}

fn response(t: &IssuedToken) -> String {
    let a = &t.assertion;
    let key_type = match a.confirmation {
        Confirmation::Bearer => KEY_BEARER,
        Confirmation::HolderOfKey { .. } => KEY_PUBLIC,
    };
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="{soap}"><S:Body>"#,
            r#"<wst:RequestSecurityTokenResponseCollection xmlns:wst="{wst}"><wst:RequestSecurityTokenResponse>"#,
            r#"<wst:TokenType>{tt}</wst:TokenType><wst:Lifetime>"#,
            r#"<wsu:Created xmlns:wsu="{wsu}">{created}</wsu:Created><wsu:Expires xmlns:wsu="{wsu}">{expires}</wsu:Expires></wst:Lifetime>"#,
            r#"<wst:RequestedSecurityToken>{token}</wst:RequestedSecurityToken>"#,
            r#"<wst:Renewing Allow="{renew}" OK="false"/><wst:Delegatable>{deleg}</wst:Delegatable>"#,
            r#"<wst:KeyType>{kt}</wst:KeyType><wst:SignatureAlgorithm>{alg}</wst:SignatureAlgorithm>"#,
            r#"</wst:RequestSecurityTokenResponse></wst:RequestSecurityTokenResponseCollection></S:Body></S:Envelope>"#
        ),
        soap = NS_SOAP,
        wst = NS_WST,
        wsu = NS_WSU,
        tt = TOKEN_TYPE,
        created = format_time(a.not_before),
        expires = format_time(a.not_on_or_after),
        token = t.xml,
        renew = a.renewable,
        deleg = a.delegatable,
        kt = key_type,
        // The algorithm the token is really signed with (the domain key's kind).
        alg = if t.xml.contains(crate::dsig::ECDSA_SHA256) {
            crate::dsig::ECDSA_SHA256
        } else {
            crate::dsig::RSA_SHA256
        },
    )
}
