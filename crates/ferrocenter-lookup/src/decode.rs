//! Reading a request's body element into one [`Request`]: the method by name, `_this` checked
//! against the object the method belongs to, the parameters checked against the schema's
//! declarations (an undeclared element is refused by its path), then read into the core's types.
use ferrocenter_core::lookup::{EndpointTypeFilter, RegistrationFilter, ServiceTypeFilter};
use ferrocenter_http::soap::Element;

use crate::schema::{
    all_fields, data_type, operation, Field, Ty, NOT_SERVED, NS, OPERATIONS, SERVICE_INSTANCE,
    SERVICE_REGISTRATION,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    RetrieveServiceContent,
    List(Option<RegistrationFilter>),
    Get(String),
    GetSiteId,
}

/// Why a body element is not a request this service answers; each is one fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the method {method} is not known to the Lookup Service")]
    MethodNotFound {
        method: String,
        receiver: Option<(String, String)>,
    },
    #[error("{0} is not supported by ferrocenter's Lookup Service")]
    NotServed(String),
    #[error("the managed object {0}:{1} does not exist")]
    NoSuchObject(String, String),
    #[error("'{0}' is required")]
    Missing(String),
    #[error("'{0}' is not a parameter or field the request may carry here")]
    Unexpected(String),
    #[error("'{0}' must be text, not elements")]
    NotText(String),
}

/// Elements of this service are in `urn:lookup`; unqualified children are accepted too, as
/// lenient SOAP stacks send them.
fn ours(e: &Element) -> bool {
    e.ns == NS || e.ns.is_empty()
}

fn check_children(el: &Element, fields: &[Field], path: &str) -> Result<(), DecodeError> {
    for (i, c) in el.children.iter().enumerate() {
        let here = format!("{path}.{}", c.name);
        let f = fields
            .iter()
            .find(|f| f.name == c.name && ours(c))
            .ok_or_else(|| DecodeError::Unexpected(here.clone()))?;
        if !f.many && el.children[..i].iter().any(|p| p.name == c.name) {
            return Err(DecodeError::Unexpected(format!("{here} (repeated)")));
        }
        check_value(c, f.ty, &here)?;
    }
    Ok(())
}

fn check_value(el: &Element, ty: Ty, path: &str) -> Result<(), DecodeError> {
    match ty {
        Ty::String | Ty::AnyUri | Ty::MoRef => {
            if el.children.is_empty() {
                Ok(())
            } else {
                Err(DecodeError::NotText(path.into()))
            }
        }
        Ty::Data(name) => {
            let t = data_type(name).ok_or_else(|| DecodeError::Unexpected(path.into()))?;
            check_children(el, &all_fields(t), path)
        }
    }
}

fn text(el: &Element, name: &str) -> Option<String> {
    el.child(name).map(|c| c.text.trim().to_string())
}

fn service_type(el: &Element) -> ServiceTypeFilter {
    ServiceTypeFilter {
        product: text(el, "product"),
        type_: text(el, "type"),
    }
}

fn endpoint_type(el: &Element) -> EndpointTypeFilter {
    EndpointTypeFilter {
        protocol: text(el, "protocol"),
        type_: text(el, "type"),
    }
}

fn filter(el: &Element) -> RegistrationFilter {
    RegistrationFilter {
        site_id: text(el, "siteId"),
        node_id: text(el, "nodeId"),
        service_type: el.child("serviceType").map(service_type),
        endpoint_type: el.child("endpointType").map(endpoint_type),
    }
}

/// The managed objects this service has, and the methods each answers.
fn receiver_of(method: &str) -> Option<(&'static str, &'static str)> {
    operation(method).map(|o| o.receiver)
}

/// What a fault echoes of the request is cut to this many characters, so an answer is never
/// much larger than the fault itself whatever the request held.
const ECHO_CHARS: usize = 256;

fn clip(s: &str) -> String {
    match s.char_indices().nth(ECHO_CHARS) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

pub fn decode(body: &Element) -> Result<Request, DecodeError> {
    let method = body.name.as_str();
    let this = body
        .child("_this")
        .filter(|t| ours(t))
        .map(|t| (clip(t.attr("type").unwrap_or("")), clip(t.text.trim())));
    let Some(op) = operation(method).filter(|_| body.ns == NS) else {
        if body.ns == NS && NOT_SERVED.contains(&method) {
            return Err(DecodeError::NotServed(method.into()));
        }
        let name = clip(&if body.ns == NS || body.ns.is_empty() {
            method.to_string()
        } else {
            format!("{{{}}}{method}", body.ns)
        });
        return Err(DecodeError::MethodNotFound {
            method: name,
            receiver: this,
        });
    };
    let (t, v) = this.ok_or_else(|| DecodeError::Missing(format!("{method}._this")))?;
    let known = [SERVICE_INSTANCE, SERVICE_REGISTRATION]
        .iter()
        .any(|(kt, kv)| *kt == t && *kv == v);
    if !known {
        return Err(DecodeError::NoSuchObject(t, v));
    }
    if receiver_of(method) != Some((t.as_str(), v.as_str())) {
        return Err(DecodeError::MethodNotFound {
            method: method.into(),
            receiver: Some((t, v)),
        });
    }
    let this_field = Field {
        name: "_this",
        ty: Ty::MoRef,
        optional: false,
        many: false,
    };
    let params: Vec<Field> = std::iter::once(this_field)
        .chain(op.params.iter().copied())
        .collect();
    check_children(body, &params, method)?;
    for p in op.params.iter().filter(|p| !p.optional) {
        if body.child(p.name).is_none() {
            return Err(DecodeError::Missing(format!("{method}.{}", p.name)));
        }
    }
    Ok(match op.name {
        "RetrieveServiceContent" => Request::RetrieveServiceContent,
        "List" => Request::List(body.child("filterCriteria").map(filter)),
        "Get" => Request::Get(text(body, "serviceId").unwrap_or_default()),
        "GetSiteId" => Request::GetSiteId,
        // The table and this match are one list: a declared operation always has its arm.
        other => {
            debug_assert!(OPERATIONS.iter().all(|o| o.name != other));
            return Err(DecodeError::NotServed(other.into()));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocenter_http::soap::{read_envelope, Limits};

    fn body(inner: &str) -> Element {
        let xml = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns0="urn:lookup"><s:Body>{inner}</s:Body></s:Envelope>"#
        );
        read_envelope(xml.as_bytes(), Limits::default())
            .unwrap()
            .body
    }

    const REG: &str =
        r#"<ns0:_this type="LookupServiceRegistration">ServiceRegistration</ns0:_this>"#;

    #[test]
    fn the_seeds_requests_decode() {
        let r = decode(&body(
            r#"<ns0:RetrieveServiceContent><ns0:_this type="LookupServiceInstance">ServiceInstance</ns0:_this></ns0:RetrieveServiceContent>"#,
        ));
        assert_eq!(r, Ok(Request::RetrieveServiceContent));
        let r = decode(&body(&format!(
            r#"<ns0:List>{REG}<ns0:filterCriteria><ns0:nodeId>n1</ns0:nodeId><ns0:serviceType><ns0:product>com.vmware.cis</ns0:product><ns0:type>cs.vapi</ns0:type></ns0:serviceType><ns0:endpointType><ns0:protocol>vapi.json.https.public</ns0:protocol></ns0:endpointType></ns0:filterCriteria></ns0:List>"#
        )))
        .unwrap();
        let Request::List(Some(f)) = r else {
            panic!("{r:?}")
        };
        assert_eq!(f.node_id.as_deref(), Some("n1"));
        assert_eq!(f.service_type.unwrap().type_.as_deref(), Some("cs.vapi"));
        assert_eq!(f.endpoint_type.unwrap().type_, None);
        assert_eq!(
            decode(&body(&format!("<ns0:List>{REG}</ns0:List>"))),
            Ok(Request::List(None))
        );
        assert_eq!(
            decode(&body(&format!(
                "<ns0:Get>{REG}<ns0:serviceId>abc</ns0:serviceId></ns0:Get>"
            ))),
            Ok(Request::Get("abc".into()))
        );
    }

    #[test]
    fn echoed_values_are_clipped() {
        let long = "x".repeat(10_000);
        let e = decode(&body(&format!(
            r#"<ns0:List><ns0:_this type="LookupServiceRegistration">{long}</ns0:_this></ns0:List>"#
        )))
        .unwrap_err();
        let DecodeError::NoSuchObject(_, v) = e else {
            panic!("{e:?}")
        };
        assert_eq!(v.chars().count(), ECHO_CHARS + 1);
    }

    #[test]
    fn bad_requests_name_what_is_wrong() {
        let e = |inner: &str| decode(&body(inner)).unwrap_err();
        assert!(matches!(
            e(&format!("<ns0:Frobnicate>{REG}</ns0:Frobnicate>")),
            DecodeError::MethodNotFound { method, receiver: Some(_) } if method == "Frobnicate"
        ));
        assert_eq!(
            e(&format!("<ns0:Create>{REG}</ns0:Create>")),
            DecodeError::NotServed("Create".into())
        );
        assert!(matches!(
            e(&format!("<x:List xmlns:x=\"urn:vim25\">{REG}</x:List>")),
            DecodeError::MethodNotFound { method, .. } if method == "{urn:vim25}List"
        ));
        assert_eq!(e("<ns0:List/>"), DecodeError::Missing("List._this".into()));
        assert_eq!(
            e(&format!("<ns0:Get>{REG}</ns0:Get>")),
            DecodeError::Missing("Get.serviceId".into())
        );
        assert_eq!(
            e(
                r#"<ns0:List><ns0:_this type="LookupServiceRegistration">other</ns0:_this></ns0:List>"#
            ),
            DecodeError::NoSuchObject("LookupServiceRegistration".into(), "other".into())
        );
        assert!(matches!(
            e(
                r#"<ns0:List><ns0:_this type="LookupServiceInstance">ServiceInstance</ns0:_this></ns0:List>"#
            ),
            DecodeError::MethodNotFound { .. }
        ));
        assert_eq!(
            e(&format!(
                "<ns0:List>{REG}<ns0:filterCriteria><ns0:nodeid>x</ns0:nodeid></ns0:filterCriteria></ns0:List>"
            )),
            DecodeError::Unexpected("List.filterCriteria.nodeid".into())
        );
        assert_eq!(
            e(&format!(
                "<ns0:List>{REG}<ns0:filterCriteria><ns0:nodeId><a/></ns0:nodeId></ns0:filterCriteria></ns0:List>"
            )),
            DecodeError::NotText("List.filterCriteria.nodeId".into())
        );
        assert!(matches!(
            e(&format!(
                "<ns0:Get>{REG}<ns0:serviceId>a</ns0:serviceId><ns0:serviceId>b</ns0:serviceId></ns0:Get>"
            )),
            DecodeError::Unexpected(p) if p.starts_with("Get.serviceId")
        ));
    }
}
