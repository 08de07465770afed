//! The WSDL, written from the declarations in `schema` (never kept by hand), in vCenter's file
//! layout: `vimService.wsdl` (the service and its port) imports `vim.wsdl` (elements,
//! messages, port type and binding), whose schema includes `vim-messagetypes.xsd` (each
//! method's `{Method}RequestType`) and `vim-types.xsd` (data types, enums, `ArrayOf{T}`),
//! which includes `core-types.xsd` (the types every vmodl service shares) and
//! `query-types.xsd` (the PropertyCollector's). Each file includes what it refers to, since
//! suds resolves each included schema on its own. pyVmomi needs none of it; suds and zeep
//! build their clients from it.
use std::fmt::Write;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ferrocenter_http::releases::PUBLISHED;

use crate::schema::{self, DataType, EnumType, Field, Ty};

const NS_XSD: &str = "http://www.w3.org/2001/XMLSchema";
const NS_WSDL: &str = "http://schemas.xmlsoap.org/wsdl/";
const NS_WSDL_SOAP: &str = "http://schemas.xmlsoap.org/wsdl/soap/";
const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>"#;

/// The files served under `/sdk/`, by name.
pub const FILES: &[&str] = &[
    "vimService.wsdl",
    "vim.wsdl",
    "vim-messagetypes.xsd",
    "vim-types.xsd",
    "core-types.xsd",
    "query-types.xsd",
];

/// Which schema file a type goes in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Core,
    Query,
    Vim,
}

/// vCenter's core-types.xsd: what every vmodl service shares.
const CORE: &[&str] = &[
    "DynamicData",
    "DynamicProperty",
    "KeyAnyValue",
    "LocalizableMessage",
    "LocalizedMethodFault",
    "MethodFault",
    "RuntimeFault",
    "InvalidRequest",
    "InvalidArgument",
    "InvalidType",
    "ManagedObjectNotFound",
    "MethodNotFound",
    "NotSupported",
    "RequestCanceled",
    "SecurityError",
    "SystemError",
    "NotEnoughLicenses",
];

/// vCenter's query-types.xsd: the PropertyCollector's types.
const QUERY: &[&str] = &[
    "PropertyFilterSpec",
    "PropertySpec",
    "ObjectSpec",
    "SelectionSpec",
    "TraversalSpec",
    "ObjectContent",
    "MissingProperty",
    "RetrieveOptions",
    "RetrieveResult",
    "WaitOptions",
    "UpdateSet",
    "PropertyFilterUpdate",
    "ObjectUpdate",
    "PropertyChange",
    "InvalidProperty",
    "InvalidCollectorVersion",
    "ObjectUpdateKind",
    "PropertyChangeOp",
];

fn part_of(name: &str) -> Part {
    if CORE.contains(&name) {
        Part::Core
    } else if QUERY.contains(&name) {
        Part::Query
    } else {
        Part::Vim
    }
}

/// The newest release: the soapAction every operation carries.
fn release() -> &'static str {
    PUBLISHED.last().copied().unwrap_or("9.1.1.0")
}

/// One of [`FILES`]; `host` is the request's Host, for the service's address.
pub fn file(name: &str, host: &str) -> Option<String> {
    Some(match name {
        "vimService.wsdl" => service(host),
        "vim.wsdl" => vim_wsdl(),
        "vim-messagetypes.xsd" => schema_file(&["vim-types.xsd"], &message_types()),
        "vim-types.xsd" => schema_file(&["core-types.xsd", "query-types.xsd"], &types(Part::Vim)),
        "core-types.xsd" => schema_file(&[], &types(Part::Core)),
        "query-types.xsd" => schema_file(&["core-types.xsd"], &types(Part::Query)),
        _ => return None,
    })
}

fn service(host: &str) -> String {
    format!(
        r#"{HEAD}
<definitions targetNamespace="urn:vimService" xmlns="{NS_WSDL}" xmlns:soap="{NS_WSDL_SOAP}" xmlns:interface="urn:vim25">
  <import location="vim.wsdl" namespace="urn:vim25" />
  <service name="VimService">
    <port binding="interface:VimBinding" name="VimPort">
      <soap:address location="https://{host}/sdk" />
    </port>
  </service>
</definitions>
"#
    )
}

/// A schema in urn:vim25 including `includes`, around `body`.
fn schema_file(includes: &[&str], body: &str) -> String {
    let mut out = format!(
        r#"{HEAD}
<schema targetNamespace="urn:vim25" xmlns="{NS_XSD}" xmlns:vim25="urn:vim25" xmlns:xsd="{NS_XSD}" elementFormDefault="qualified">
"#
    );
    for i in includes {
        let _ = writeln!(out, r#"  <include schemaLocation="{i}" />"#);
    }
    out.push_str(body);
    out.push_str("</schema>\n");
    out
}

/// `xsd:int`, `vim25:HostConnectSpec`.
fn qname(ty: Ty) -> String {
    match ty.xsd_name() {
        (true, n) => format!("xsd:{n}"),
        (false, n) => format!("vim25:{n}"),
    }
}

fn element(out: &mut String, indent: &str, f: &Field) {
    let min = if f.required { "" } else { r#" minOccurs="0""# };
    let max = if f.array {
        r#" maxOccurs="unbounded""#
    } else {
        ""
    };
    let _ = writeln!(
        out,
        r#"{indent}<element name="{}" type="{}"{min}{max} />"#,
        f.name,
        qname(f.ty)
    );
}

fn complex_type(out: &mut String, d: &DataType) {
    let _ = writeln!(out, r#"  <complexType name="{}">"#, d.name);
    let indent = match d.base {
        Some(b) => {
            let _ = writeln!(
                out,
                "    <complexContent>\n      <extension base=\"vim25:{b}\">"
            );
            "          "
        }
        None => "      ",
    };
    let seq_indent = &indent[2..];
    let _ = writeln!(out, "{seq_indent}<sequence>");
    for f in d.fields {
        element(out, indent, f);
    }
    let _ = writeln!(out, "{seq_indent}</sequence>");
    if d.base.is_some() {
        out.push_str("      </extension>\n    </complexContent>\n");
    }
    out.push_str("  </complexType>\n");
}

fn simple_type(out: &mut String, e: &EnumType) {
    let _ = writeln!(
        out,
        r#"  <simpleType name="{}">
    <restriction base="xsd:string">"#,
        e.name
    );
    for v in e.values {
        let _ = writeln!(out, r#"      <enumeration value="{v}" />"#);
    }
    out.push_str("    </restriction>\n  </simpleType>\n");
}

/// `ArrayOf{T}`: the form an array takes in an `xsd:anyType` slot.
fn array_of(out: &mut String, name: &str, item_tag: &str, item_type: &str) {
    let _ = writeln!(
        out,
        r#"  <complexType name="ArrayOf{name}">
    <sequence>
      <element name="{item_tag}" type="{item_type}" minOccurs="0" maxOccurs="unbounded" />
    </sequence>
  </complexType>"#
    );
}

/// The primitives with an `ArrayOf` (`ArrayOfString` holds `<string>` items).
const PRIMITIVES: &[&str] = &[
    "string",
    "boolean",
    "byte",
    "short",
    "int",
    "long",
    "float",
    "double",
    "dateTime",
    "anyType",
    "anyURI",
    "base64Binary",
];

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn types(part: Part) -> String {
    let mut out = String::new();
    if part == Part::Core {
        out.push_str(
            r#"  <complexType name="ManagedObjectReference">
    <simpleContent>
      <extension base="xsd:string">
        <attribute name="type" type="xsd:string" />
      </extension>
    </simpleContent>
  </complexType>
"#,
        );
        array_of(
            &mut out,
            "ManagedObjectReference",
            "ManagedObjectReference",
            "vim25:ManagedObjectReference",
        );
        for p in PRIMITIVES {
            array_of(&mut out, &upper_first(p), p, &format!("xsd:{p}"));
        }
    }
    for d in schema::data_types().filter(|d| part_of(d.name) == part) {
        complex_type(&mut out, d);
        array_of(&mut out, d.name, d.name, &format!("vim25:{}", d.name));
    }
    for e in schema::enum_types().filter(|e| part_of(e.name) == part) {
        simple_type(&mut out, e);
        array_of(&mut out, e.name, e.name, &format!("vim25:{}", e.name));
    }
    out
}

/// `{Method}RequestType`: `_this`, then the parameters.
fn message_types() -> String {
    let mut out = String::new();
    for m in schema::METHODS {
        let _ = writeln!(
            out,
            r#"  <complexType name="{}RequestType">
    <sequence>
      <element name="_this" type="vim25:ManagedObjectReference" />"#,
            m.name
        );
        for p in m.params {
            element(&mut out, "      ", p);
        }
        out.push_str("    </sequence>\n  </complexType>\n");
    }
    out
}

/// Every declared fault type (the fault elements and messages).
fn fault_types() -> impl Iterator<Item = &'static DataType> {
    schema::data_types().filter(|d| d.is_a("MethodFault"))
}

/// The faults an operation lists: RuntimeFault, then its own.
fn faults_of(method: &str) -> impl Iterator<Item = &'static str> {
    std::iter::once("RuntimeFault").chain(schema::raises(method).iter().copied())
}

fn vim_wsdl() -> String {
    let mut out = format!(
        r#"{HEAD}
<definitions targetNamespace="urn:vim25" xmlns="{NS_WSDL}" xmlns:soap="{NS_WSDL_SOAP}" xmlns:vim25="urn:vim25" xmlns:xsd="{NS_XSD}">
  <types>
    <schema targetNamespace="urn:vim25" xmlns="{NS_XSD}" xmlns:vim25="urn:vim25" xmlns:xsd="{NS_XSD}" elementFormDefault="qualified">
      <include schemaLocation="vim-messagetypes.xsd" />
      <include schemaLocation="vim-types.xsd" />
"#
    );
    for f in fault_types() {
        let _ = writeln!(
            out,
            r#"      <element name="{0}Fault" type="vim25:{0}" />"#,
            f.name
        );
    }
    for m in schema::METHODS {
        let _ = writeln!(
            out,
            r#"      <element name="{0}" type="vim25:{0}RequestType" />
      <element name="{0}Response">
        <complexType>
          <sequence>"#,
            m.name
        );
        if let Some(r) = &m.returns {
            element(&mut out, "            ", r);
        }
        out.push_str("          </sequence>\n        </complexType>\n      </element>\n");
    }
    out.push_str("    </schema>\n  </types>\n");
    for f in fault_types() {
        let _ = writeln!(
            out,
            r#"  <message name="{0}FaultMsg">
    <part name="fault" element="vim25:{0}Fault" />
  </message>"#,
            f.name
        );
    }
    for m in schema::METHODS {
        let _ = writeln!(
            out,
            r#"  <message name="{0}RequestMsg">
    <part name="parameters" element="vim25:{0}" />
  </message>
  <message name="{0}ResponseMsg">
    <part name="parameters" element="vim25:{0}Response" />
  </message>"#,
            m.name
        );
    }
    out.push_str("  <portType name=\"VimPortType\">\n");
    for m in schema::METHODS {
        let _ = writeln!(
            out,
            r#"    <operation name="{0}">
      <input message="vim25:{0}RequestMsg" />
      <output message="vim25:{0}ResponseMsg" />"#,
            m.name
        );
        for f in faults_of(m.name) {
            let _ = writeln!(
                out,
                r#"      <fault name="{f}Fault" message="vim25:{f}FaultMsg" />"#
            );
        }
        out.push_str("    </operation>\n");
    }
    out.push_str(
        r#"  </portType>
  <binding name="VimBinding" type="vim25:VimPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http" />
"#,
    );
    let action = release();
    for m in schema::METHODS {
        let _ = writeln!(
            out,
            r#"    <operation name="{}">
      <soap:operation soapAction="urn:vim25/{action}" style="document" />
      <input>
        <soap:body use="literal" />
      </input>
      <output>
        <soap:body use="literal" />
      </output>"#,
            m.name
        );
        for f in faults_of(m.name) {
            let _ = writeln!(
                out,
                r#"      <fault name="{f}Fault">
        <soap:fault use="literal" name="{f}Fault" />
      </fault>"#
            );
        }
        out.push_str("    </operation>\n");
    }
    out.push_str("  </binding>\n</definitions>\n");
    out
}

/// `GET /sdk/{file}` for each of [`FILES`], typed as XML.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    FILES.iter().fold(Router::new(), |r, name| {
        r.route(
            &format!("/sdk/{name}"),
            get(move |headers: HeaderMap| async move { serve(name, &headers) }),
        )
    })
}

fn serve(name: &str, headers: &HeaderMap) -> Response {
    // The address clients call is the one they fetched the WSDL from.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    match file(name, host) {
        Some(body) => ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use ferrocenter_http::soap::{parse, Element, Limits};

    use super::*;

    fn walk<'a>(e: &'a Element, f: &mut impl FnMut(&'a Element)) {
        f(e);
        for c in &e.children {
            walk(c, f);
        }
    }

    /// Every file parses, and every name a file refers to (types, bases, elements, messages,
    /// port type, binding, included files) is defined in one of them.
    #[test]
    fn every_reference_is_defined() {
        let limits = Limits {
            max_depth: 64,
            max_elements: 1_000_000,
        };
        let docs: Vec<(&str, Element)> = FILES
            .iter()
            .map(|n| {
                let text = file(n, "vc.example:443").unwrap();
                (
                    *n,
                    parse(text.as_bytes(), limits).unwrap_or_else(|e| panic!("{n}: {e}")),
                )
            })
            .collect();
        let mut defined: BTreeSet<(String, String)> = BTreeSet::new();
        for (_, d) in &docs {
            walk(d, &mut |e| {
                if let Some(n) = e.attr("name") {
                    let kind = match e.name.as_str() {
                        "complexType" | "simpleType" => "type",
                        "element" => "element",
                        "message" => "message",
                        "portType" => "portType",
                        "binding" => "binding",
                        _ => return,
                    };
                    defined.insert((kind.into(), n.into()));
                }
            });
        }
        let mut missing = Vec::new();
        for (n, d) in &docs {
            walk(d, &mut |e| {
                for (attr, val) in &e.attrs {
                    let kind = match (e.name.as_str(), attr.as_str()) {
                        ("binding", "type") => "portType",
                        (_, "type" | "base") => "type",
                        ("part", "element") => "element",
                        (_, "message") => "message",
                        ("port", "binding") => "binding",
                        ("include", "schemaLocation") | ("import", "location") => {
                            if !FILES.contains(&val.as_str()) {
                                missing.push(format!("{n}: file {val}"));
                            }
                            continue;
                        }
                        _ => continue,
                    };
                    let ok = match val.split_once(':') {
                        Some(("xsd", t)) => PRIMITIVES.contains(&t),
                        Some(("vim25" | "interface", t)) => {
                            defined.contains(&(kind.to_string(), t.to_string()))
                        }
                        _ => false,
                    };
                    if !ok {
                        missing.push(format!("{n}: {}/@{attr}={val}", e.name));
                    }
                }
            });
        }
        assert!(missing.is_empty(), "{missing:#?}");
        for m in schema::METHODS {
            for kind in ["element", "message"] {
                assert!(defined.contains(&(kind.into(), m.name.into())) || kind == "message");
            }
            assert!(defined.contains(&("message".into(), format!("{}RequestMsg", m.name))));
            assert!(defined.contains(&("type".into(), format!("{}RequestType", m.name))));
        }
        for t in [
            "ArrayOfString",
            "ArrayOfManagedObjectReference",
            "ArrayOfInt",
            "ArrayOfCustomFieldDef",
        ] {
            assert!(defined.contains(&("type".into(), t.into())), "{t}");
        }
    }

    #[test]
    fn the_service_is_at_the_address_asked() {
        let s = file("vimService.wsdl", "vc.example:8443").unwrap();
        assert!(
            s.contains(r#"<soap:address location="https://vc.example:8443/sdk" />"#),
            "{s}"
        );
        assert!(s.contains(r#"<service name="VimService">"#));
        assert!(s.contains(r#"name="VimPort""#));
        let v = file("vim.wsdl", "x").unwrap();
        assert!(v.contains(&format!(r#"soapAction="urn:vim25/{}""#, release())));
        assert!(v.contains(
            r#"<fault name="InvalidLoginFault" message="vim25:InvalidLoginFaultMsg" />"#
        ));
        let t = file("vim-messagetypes.xsd", "x").unwrap();
        assert!(
            t.contains(r#"<element name="locale" type="xsd:string" minOccurs="0" />"#),
            "{t}"
        );
        assert!(t.contains(
            r#"<element name="specSet" type="vim25:PropertyFilterSpec" maxOccurs="unbounded" />"#
        ));
    }
}
