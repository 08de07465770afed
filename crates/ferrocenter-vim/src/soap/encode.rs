//! The binding's answers → SOAP: a result as `returnval` elements, faults as `soapenv:Fault`
//! with the vim fault in `detail`. Values carry their own types (data objects `_typeName`,
//! `Any` values boxed), so the encoder needs no declarations: every data object and MoRef is
//! written with its `xsi:type`, which clients accept where the type is the declared one too.
use std::fmt::Write;

use ferrocenter_http::soap::{escape, fault_envelope};
use serde_json::Value;

use crate::faults::VimFault;
use crate::reply::Reply;
use crate::schema::Ty;

pub const NS_VIM: &str = "urn:vim25";

/// `<{method}Response xmlns="urn:vim25">…</…>`.
pub fn response(method: &str, reply: &Reply) -> String {
    let mut out = format!(r#"<{method}Response xmlns="{NS_VIM}">"#);
    if let Reply::Value(v) = reply {
        element(&mut out, "returnval", v);
    }
    let _ = write!(out, "</{method}Response>");
    out
}

/// A vim fault as SOAP 1.1 puts it: the fault code (vim's `ServerFaultCode` for its own
/// faults), the message, and `<{Type}Fault>` in the detail carrying the fault's fields.
pub fn fault(f: &VimFault, code: &str) -> String {
    let body = f.body();
    let mut detail = format!(
        r#"<{t}Fault xmlns="{NS_VIM}" xsi:type="{t}">"#,
        t = f.type_name
    );
    if let Value::Object(o) = &body {
        for (k, v) in in_sequence(o) {
            element(&mut detail, k, v);
        }
    }
    let _ = write!(detail, "</{}Fault>", f.type_name);
    fault_envelope(code, &f.message, Some(&detail))
}

/// Writes `v` as element(s) named `tag`: an array as repeated elements, null as nothing.
pub fn element(out: &mut String, tag: &str, v: &Value) {
    match v {
        Value::Null => {}
        Value::Array(a) => {
            for item in a {
                element(out, tag, item);
            }
        }
        Value::Object(o) => {
            let t = o.get("_typeName").and_then(Value::as_str);
            match (t, o.get("_value")) {
                (Some("ManagedObjectReference"), _) if o.contains_key("type") => {
                    let (mt, mv) = (str_of(o.get("type")), str_of(o.get("value")));
                    let _ = write!(
                        out,
                        r#"<{tag} xsi:type="ManagedObjectReference" type="{}">{}</{tag}>"#,
                        escape(&mt),
                        escape(&mv)
                    );
                }
                (Some(t), Some(inner)) => boxed(out, tag, t, inner),
                // A fault inside a data object (TaskInfo.error, MissingProperty.fault) goes on
                // the wire as a LocalizedMethodFault wrapping it. Every fault the binding
                // renders is `VimFault::body`, which always carries faultMessage.
                (Some(_), None) if o.contains_key("faultMessage") => {
                    localized_fault(out, tag, v);
                }
                _ => {
                    match t {
                        Some(t) => {
                            let _ = write!(out, r#"<{tag} xsi:type="{}">"#, escape(t));
                        }
                        None => {
                            let _ = write!(out, "<{tag}>");
                        }
                    }
                    for (k, val) in in_sequence(o) {
                        element(out, k, val);
                    }
                    let _ = write!(out, "</{tag}>");
                }
            }
        }
        scalar => {
            let _ = write!(out, "<{tag}>{}</{tag}>", escape(&text(scalar)));
        }
    }
}

/// A data object's fields in its declared type's sequence order (the WSDL's), which strict
/// clients require; fields of an undeclared type keep their order.
fn in_sequence(o: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut fields: Vec<(&String, &Value)> = o.iter().filter(|(k, _)| *k != "_typeName").collect();
    let declared = o
        .get("_typeName")
        .and_then(Value::as_str)
        .and_then(crate::schema::data_type);
    if let Some(d) = declared {
        fields.sort_by_key(|(k, _)| d.position(k).unwrap_or(usize::MAX));
    }
    fields
}

fn localized_fault(out: &mut String, tag: &str, fault: &Value) {
    let message = fault["faultMessage"][0]["message"]
        .as_str()
        .unwrap_or_default();
    let _ = write!(out, r#"<{tag} xsi:type="LocalizedMethodFault">"#);
    if let Value::Object(o) = fault {
        let t = o
            .get("_typeName")
            .and_then(Value::as_str)
            .unwrap_or("MethodFault");
        let _ = write!(out, r#"<fault xsi:type="{}">"#, escape(t));
        for (k, val) in in_sequence(o) {
            element(out, k, val);
        }
        out.push_str("</fault>");
    }
    let _ = write!(
        out,
        "<localizedMessage>{}</localizedMessage></{tag}>",
        escape(message)
    );
}

/// A boxed `Any` value: `{"_typeName": T, "_value": v}`.
fn boxed(out: &mut String, tag: &str, t: &str, inner: &Value) {
    if let Some(item) = t.strip_prefix("ArrayOf") {
        let item_tag = if item == "ManagedObjectReference" {
            item.to_string()
        } else {
            match Ty::from_xsd(&lower_first(item)) {
                Some(_) => lower_first(item),
                None => item.to_string(),
            }
        };
        let _ = write!(out, r#"<{tag} xsi:type="{t}">"#);
        if let Value::Array(items) = inner {
            for i in items {
                match i {
                    // Primitive items of a typed array need no type of their own.
                    Value::Object(_) => element(out, &item_tag, i),
                    other => {
                        let _ = write!(out, "<{item_tag}>{}</{item_tag}>", escape(&text(other)));
                    }
                }
            }
        }
        let _ = write!(out, "</{tag}>");
        return;
    }
    let qualified = match Ty::from_xsd(t) {
        Some(_) => format!("xsd:{t}"),
        None => t.to_string(),
    };
    if let Value::Object(_) = inner {
        // A boxed data object: write it as itself.
        element(out, tag, inner);
        return;
    }
    let _ = write!(
        out,
        r#"<{tag} xsi:type="{qualified}">{}</{tag}>"#,
        escape(&text(inner))
    );
}

fn str_of(v: Option<&Value>) -> String {
    v.map(text).unwrap_or_default()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_written_with_their_types() {
        let mut out = String::new();
        let v = json!({
            "_typeName": "ObjectContent",
            "obj": {"_typeName": "ManagedObjectReference", "type": "HostSystem", "value": "host-1"},
            "propSet": [
                {"_typeName": "DynamicProperty", "name": "name", "val": {"_typeName": "string", "_value": "a&b"}},
                {"_typeName": "DynamicProperty", "name": "vm", "val": {"_typeName": "ArrayOfManagedObjectReference", "_value": [
                    {"_typeName": "ManagedObjectReference", "type": "VirtualMachine", "value": "vm-1"}]}},
                {"_typeName": "DynamicProperty", "name": "n", "val": {"_typeName": "ArrayOfInt", "_value": [1, 2]}},
            ],
        });
        element(&mut out, "returnval", &v);
        assert!(
            out.starts_with(r#"<returnval xsi:type="ObjectContent">"#),
            "{out}"
        );
        assert!(out
            .contains(r#"<obj xsi:type="ManagedObjectReference" type="HostSystem">host-1</obj>"#));
        assert!(out.contains(r#"<val xsi:type="xsd:string">a&amp;b</val>"#));
        assert!(out.contains(r#"<val xsi:type="ArrayOfManagedObjectReference"><ManagedObjectReference xsi:type="ManagedObjectReference" type="VirtualMachine">vm-1</ManagedObjectReference></val>"#), "{out}");
        assert!(
            out.contains(r#"<val xsi:type="ArrayOfInt"><int>1</int><int>2</int></val>"#),
            "{out}"
        );
    }

    #[test]
    fn fields_go_in_the_declared_order() {
        let mut out = String::new();
        let v = json!({"_typeName": "TaskReasonUser", "userName": "u", "dynamicType": "x"});
        element(&mut out, "reason", &v);
        assert!(
            out.find("<dynamicType>").unwrap() < out.find("<userName>").unwrap(),
            "{out}"
        );
        let mut out = String::new();
        let v = json!({"_typeName": "AboutInfo", "apiType": "VirtualCenter", "name": "n", "version": "1"});
        element(&mut out, "about", &v);
        let at = |t: &str| out.find(t).unwrap();
        assert!(
            at("<name>") < at("<version>") && at("<version>") < at("<apiType>"),
            "{out}"
        );
    }

    #[test]
    fn a_fault_inside_a_value_is_a_localized_method_fault() {
        let mut out = String::new();
        let f = VimFault::new("SSLVerifyFault", "bad cert").with("thumbprint", json!("AB"));
        element(&mut out, "error", &f.body());
        assert!(
            out.starts_with(
                r#"<error xsi:type="LocalizedMethodFault"><fault xsi:type="SSLVerifyFault">"#
            ),
            "{out}"
        );
        assert!(out.contains("<thumbprint>AB</thumbprint>"));
        assert!(
            out.ends_with("<localizedMessage>bad cert</localizedMessage></error>"),
            "{out}"
        );
    }

    #[test]
    fn a_fault_carries_its_fields_in_detail() {
        let f = VimFault::new("SSLVerifyFault", "bad cert").with("thumbprint", json!("AB:CD"));
        let x = fault(&f, "ServerFaultCode");
        assert!(x.contains("<faultcode>ServerFaultCode</faultcode>"));
        assert!(
            x.contains(r#"<SSLVerifyFaultFault xmlns="urn:vim25" xsi:type="SSLVerifyFault">"#),
            "{x}"
        );
        assert!(x.contains("<thumbprint>AB:CD</thumbprint>"));
    }
}
