//! Parsing untrusted XML into libxml2's tree, and the few reads the other modules share.
use libxml::parser::{Parser, ParserOptions};
use libxml::tree::{Document, Node, NodeType};

pub const NS_SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const NS_SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const NS_WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
pub const NS_WSU: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
pub const NS_WST: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
pub const NS_WST14: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200802";
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// Parses without recovery, network access or a document type: a `DOCTYPE` (entity
/// expansion, external subsets) is refused before libxml2 sees it.
pub fn parse(xml: &str) -> Result<Document, String> {
    if xml
        .as_bytes()
        .windows(9)
        .any(|w| w.eq_ignore_ascii_case(b"<!doctype"))
    {
        return Err("a document type declaration is not accepted".into());
    }
    let options = ParserOptions {
        recover: false,
        no_net: true,
        no_def_dtd: true,
        ..Default::default()
    };
    Parser::default()
        .parse_string_with_options(xml, options)
        .map_err(|e| format!("not well-formed XML: {e:?}"))
}

/// `node` is the element `{ns}name`.
pub fn is(node: &Node, ns: &str, name: &str) -> bool {
    node.get_type() == Some(NodeType::ElementNode)
        && node.get_name() == name
        && node.get_namespace().map(|n| n.get_href()).as_deref() == Some(ns)
}

/// The element children named `{ns}name`.
pub fn children(node: &Node, ns: &str, name: &str) -> Vec<Node> {
    node.get_child_elements()
        .into_iter()
        .filter(|c| is(c, ns, name))
        .collect()
}

/// The one child `{ns}name`; none or several is an error naming it.
pub fn only_child(node: &Node, ns: &str, name: &str) -> Result<Node, String> {
    let mut found = children(node, ns, name);
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!("{name} is missing")),
        _ => Err(format!("{name} appears more than once")),
    }
}

pub fn optional_child(node: &Node, ns: &str, name: &str) -> Result<Option<Node>, String> {
    let mut found = children(node, ns, name);
    match found.len() {
        0 => Ok(None),
        1 => Ok(Some(found.remove(0))),
        _ => Err(format!("{name} appears more than once")),
    }
}

/// The text of an element that must hold only text: a comment, processing instruction or
/// element inside is refused, so that no reader sees a different value than the signature
/// covered (exclusive C14N drops comments: `admin<!---->@evil` would sign as `admin@evil`).
pub fn text(node: &Node) -> Result<String, String> {
    let mut out = String::new();
    for c in node.get_child_nodes() {
        match c.get_type() {
            Some(NodeType::TextNode) | Some(NodeType::CDataSectionNode) => {
                out.push_str(&c.get_content());
            }
            _ => return Err(format!("{} must hold only text", node.get_name())),
        }
    }
    Ok(out.trim().to_string())
}

/// Refuses comments and processing instructions anywhere under `node`: they are not signed.
pub fn refuse_unsigned_nodes(node: &Node) -> Result<(), String> {
    for c in node.get_child_nodes() {
        match c.get_type() {
            Some(NodeType::CommentNode) => return Err("a comment is not accepted".into()),
            Some(NodeType::PiNode) => return Err("a processing instruction is not accepted".into()),
            Some(NodeType::EntityRefNode) | Some(NodeType::EntityNode) => {
                return Err("an entity is not accepted".into())
            }
            Some(NodeType::ElementNode) => refuse_unsigned_nodes(&c)?,
            _ => {}
        }
    }
    Ok(())
}

/// Escapes text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}
