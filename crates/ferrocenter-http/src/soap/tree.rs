//! A namespace-resolved element tree read with limits on depth and element count. Names are
//! kept as (namespace, local name); an attribute whose value is a qualified name (`xsi:type`)
//! is resolved against the namespaces in scope where it appears.
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{QName, ResolveResult};
use quick_xml::NsReader;

use super::namespaces::NS_XSI;

/// Bounds a document must keep (its size is bounded by the listener's body limit).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_depth: usize,
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // vim's deepest legitimate request (a TraversalSpec tree in a PropertyFilterSpec) is
        // well under 40 levels; 100,000 elements is a 10,000-object ListView.
        Limits {
            max_depth: 64,
            max_elements: 200_000,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    #[error("the request is not well-formed XML: {0}")]
    Malformed(String),
    #[error("document type declarations are not accepted")]
    Doctype,
    #[error("the entity &{0}; is not defined (only XML's five predefined entities are)")]
    UndefinedEntity(String),
    #[error("the document nests deeper than {0} elements")]
    TooDeep(usize),
    #[error("the document has more than {0} elements")]
    TooManyElements(usize),
    #[error("the prefix {0} is not bound to a namespace")]
    UnboundPrefix(String),
}

/// One element: its resolved name, its attributes by local name (namespace-qualified ones
/// such as `xsi:type` by `{namespace}local`), its text and its child elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub ns: String,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
    /// `xsi:type`, resolved to (namespace, local name).
    pub xsi_type: Option<(String, String)>,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// `xsi:nil="true"`.
    pub fn is_nil(&self) -> bool {
        self.attr(&format!("{{{NS_XSI}}}nil"))
            .is_some_and(|v| v == "true" || v == "1")
    }
}

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

fn namespace(r: ResolveResult<'_>) -> Result<String, XmlError> {
    match r {
        ResolveResult::Bound(ns) => Ok(String::from_utf8_lossy(ns.as_ref()).into_owned()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(p) => Err(XmlError::UnboundPrefix(
            String::from_utf8_lossy(&p).into_owned(),
        )),
    }
}

fn open(reader: &NsReader<&[u8]>, e: &BytesStart<'_>) -> Result<Element, XmlError> {
    let (ns, local) = reader.resolve_element(e.name());
    let mut el = Element {
        ns: namespace(ns)?,
        name: String::from_utf8_lossy(local.as_ref()).into_owned(),
        ..Default::default()
    };
    for a in e.attributes() {
        let a = a.map_err(malformed)?;
        if a.key.as_ref() == b"xmlns" || a.key.as_ref().starts_with(b"xmlns:") {
            continue;
        }
        let (ans, alocal) = reader.resolve_attribute(a.key);
        let ans = namespace(ans)?;
        let local = String::from_utf8_lossy(alocal.as_ref()).into_owned();
        let value = a.unescape_value().map_err(|e| match e {
            quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(_, n)) => {
                XmlError::UndefinedEntity(n)
            }
            other => malformed(other),
        })?;
        let value = value.into_owned();
        if ans == NS_XSI && local == "type" {
            let (tns, tlocal) = reader.resolve_element(QName(value.as_bytes()));
            el.xsi_type = Some((
                namespace(tns)?,
                String::from_utf8_lossy(tlocal.as_ref()).into_owned(),
            ));
        }
        let key = if ans.is_empty() {
            local
        } else {
            format!("{{{ans}}}{local}")
        };
        el.attrs.push((key, value));
    }
    Ok(el)
}

fn entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

/// Parses a whole document into its root element.
pub fn parse(xml: &[u8], limits: Limits) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_reader(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut count = 0usize;
    let mut root: Option<Element> = None;
    loop {
        let ev = reader.read_event().map_err(malformed)?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if root.is_some() {
                    return Err(malformed("content after the root element"));
                }
                count += 1;
                if count > limits.max_elements {
                    return Err(XmlError::TooManyElements(limits.max_elements));
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                let el = open(&reader, e)?;
                if matches!(ev, Event::Empty(_)) {
                    close(&mut stack, &mut root, el);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| malformed("an unmatched end tag"))?;
                close(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                let s = t.xml_content().map_err(malformed)?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(malformed("text outside the root element")),
                }
            }
            Event::CData(c) => {
                let s = c.decode().map_err(malformed)?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&s),
                    None => return Err(malformed("CDATA outside the root element")),
                }
            }
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref().map_err(malformed)?
                } else {
                    let name = r.decode().map_err(malformed)?;
                    Some(
                        entity(&name)
                            .ok_or_else(|| XmlError::UndefinedEntity(name.into_owned()))?,
                    )
                };
                let c = c.ok_or_else(|| malformed("an empty character reference"))?;
                match stack.last_mut() {
                    Some(top) => top.text.push(c),
                    None => return Err(malformed("a reference outside the root element")),
                }
            }
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed("the document ends inside an element"));
    }
    root.ok_or_else(|| malformed("the document has no element"))
}

fn close(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_attributes_and_xsi_types_are_resolved() {
        let doc = br#"<?xml version="1.0"?>
<a:root xmlns:a="urn:a" xmlns="urn:d" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <child type="HostSystem" xsi:type="a:Spec">host-1 &amp; &#65;<![CDATA[<x>]]></child>
  <empty/>
</a:root>"#;
        let r = parse(doc, Limits::default()).unwrap();
        assert_eq!((r.ns.as_str(), r.name.as_str()), ("urn:a", "root"));
        let c = r.child("child").unwrap();
        assert_eq!(c.ns, "urn:d");
        assert_eq!(c.attr("type"), Some("HostSystem"));
        assert_eq!(c.xsi_type, Some(("urn:a".into(), "Spec".into())));
        assert_eq!(c.text, "host-1 & A<x>");
        assert!(r.child("empty").is_some());
    }

    #[test]
    fn bombs_depth_and_garbage_are_refused() {
        let bomb = br#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><r>&b;</r>"#;
        assert_eq!(parse(bomb, Limits::default()), Err(XmlError::Doctype));
        assert_eq!(
            parse(b"<r>&b;</r>", Limits::default()),
            Err(XmlError::UndefinedEntity("b".into()))
        );
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(
            parse(deep.as_bytes(), Limits::default()),
            Err(XmlError::TooDeep(64))
        );
        let wide = format!("<r>{}</r>", "<a/>".repeat(20));
        let few = Limits {
            max_depth: 8,
            max_elements: 10,
        };
        assert_eq!(
            parse(wide.as_bytes(), few),
            Err(XmlError::TooManyElements(10))
        );
        for bad in [
            &b"<r><a></r>"[..],
            b"<r>",
            b"",
            b"text",
            b"<r/><r/>",
            b"<p:r/>",
            b"<r a='&zz;'/>",
        ] {
            assert!(parse(bad, Limits::default()).is_err(), "{bad:?}");
        }
    }
}
