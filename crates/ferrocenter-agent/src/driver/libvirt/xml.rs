//! The little XML the driver reads (libvirt's capabilities, domain, pool and network
//! descriptions) as a tree, and the text escaping of what it writes.
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

#[derive(Debug, Default, Clone)]
pub struct Node {
    /// The local name (a namespace prefix dropped).
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    match s.rsplit_once(':') {
        Some((_, l)) => l.to_string(),
        None => s.into_owned(),
    }
}

fn open(e: &BytesStart<'_>) -> Node {
    Node {
        name: local(e.name().as_ref()),
        attrs: e
            .attributes()
            .flatten()
            .map(|a| {
                (
                    local(a.key.as_ref()),
                    a.unescape_value()
                        .map(std::borrow::Cow::into_owned)
                        .unwrap_or_default(),
                )
            })
            .collect(),
        ..Node::default()
    }
}

/// Parses a document into its root element.
pub fn parse(text: &str) -> Result<Node, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Node> = vec![Node::default()];
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => stack.push(open(&e)),
            Event::Empty(e) => {
                let n = open(&e);
                stack
                    .last_mut()
                    .ok_or("unbalanced document")?
                    .children
                    .push(n);
            }
            Event::End(_) => {
                // The bottom of the stack is the document itself, never closed by an end tag.
                if stack.len() < 2 {
                    return Err("unbalanced document".into());
                }
                let n = stack.pop().ok_or("unbalanced document")?;
                stack
                    .last_mut()
                    .ok_or("unbalanced document")?
                    .children
                    .push(n);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::GeneralRef(r) => {
                // Entities in text (`&amp;`): the five predefined ones are all libvirt writes.
                let name = r.decode().map_err(|e| e.to_string())?;
                let ch = match name.as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(ch);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut root = stack.pop().ok_or("empty document")?;
    root.children.pop().ok_or_else(|| "empty document".into())
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The descendant at a `/`-separated path of child names.
    pub fn at(&self, path: &str) -> Option<&Node> {
        path.split('/').try_fold(self, |n, p| n.child(p))
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text_at(&self, path: &str) -> Option<String> {
        self.at(path).map(|n| n.text.trim().to_string())
    }
}

/// Text or an attribute value, escaped for XML.
pub fn esc(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elements_attributes_text_and_namespaced_names() {
        let n = parse(
            r#"<domain type='kvm'><name>a&amp;b</name><metadata><fc:vm xmlns:fc="x"><fc:instance-uuid>u</fc:instance-uuid></fc:vm></metadata><devices><disk type='volume'/><disk type='file'/></devices></domain>"#,
        )
        .unwrap();
        assert_eq!(n.name, "domain");
        assert_eq!(n.attr("type"), Some("kvm"));
        assert_eq!(n.text_at("name").as_deref(), Some("a&b"));
        assert_eq!(n.text_at("metadata/vm/instance-uuid").as_deref(), Some("u"));
        assert_eq!(n.child("devices").unwrap().children("disk").count(), 2);
        assert_eq!(esc("a<'b'>"), "a&lt;&apos;b&apos;&gt;");
    }
}
