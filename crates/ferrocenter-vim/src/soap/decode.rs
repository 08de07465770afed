//! A SOAP body element → the method, its `_this` and its parameters in the binding's value
//! shape (the one VI/JSON carries: data objects with `_typeName`, MoRefs inline, `Any` values
//! boxed). Values are typed by the declarations in `schema`: SOAP names a value's type
//! (`xsi:type`) only where it differs from the declared one. An element the declarations do not
//! know is read by its shape (text, or children), which is how the binding reads fields it
//! ignores.
use ferrocenter_http::soap::{Element, NS_XSD};
use serde_json::{json, Map, Value};

use crate::faults::VimFault;
use crate::schema::{self, Field, Ty};

/// One decoded call: the method's name, its object, and its parameters by name.
pub struct Decoded {
    pub name: String,
    pub mo_type: String,
    pub mo_id: String,
    pub params: Map<String, Value>,
}

fn bad(path: &str, why: impl std::fmt::Display) -> VimFault {
    VimFault::invalid_request(format!("{path}: {why}"))
}

pub fn decode(body: &Element) -> Result<Decoded, VimFault> {
    let name = body.name.clone();
    let this = body.child("_this").ok_or_else(|| {
        bad(
            &name,
            "the method element has no _this (the object it is called on)",
        )
    })?;
    let mo_type = this
        .attr("type")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad(&format!("{name}._this"), "the type attribute is required"))?
        .to_string();
    let mo_id = this.text.trim().to_string();
    let sig = schema::method(&name);
    let mut params = Map::new();
    for child in body.children.iter().filter(|c| c.name != "_this") {
        let field = sig.and_then(|m| m.param(&child.name));
        put(&mut params, child, field, &child.name)?;
    }
    Ok(Decoded {
        name,
        mo_type,
        mo_id,
        params,
    })
}

/// Decodes `el` as `field` (or by its shape when undeclared) into `into[el.name]`: repeated
/// elements of an array field gather into one JSON array.
fn put(
    into: &mut Map<String, Value>,
    el: &Element,
    field: Option<&Field>,
    path: &str,
) -> Result<(), VimFault> {
    if el.is_nil() {
        return Ok(());
    }
    let v = match field {
        Some(f) => value(el, f.ty, path)?,
        None => shaped(el, path)?,
    };
    let array = field.is_some_and(|f| f.array);
    match into.get_mut(&el.name) {
        Some(Value::Array(a)) if array => a.push(v),
        Some(prev) if field.is_none() => {
            // An undeclared name seen twice is an array.
            match prev {
                Value::Array(a) => a.push(v),
                other => *other = Value::Array(vec![other.take(), v]),
            }
        }
        Some(_) => return Err(bad(path, "appears more than once but is not an array")),
        None if array => {
            into.insert(el.name.clone(), Value::Array(vec![v]));
        }
        None => {
            into.insert(el.name.clone(), v);
        }
    }
    Ok(())
}

/// The type `xsi:type` names, if any.
fn named_type(el: &Element, path: &str) -> Result<Option<Named>, VimFault> {
    let Some((ns, local)) = &el.xsi_type else {
        return Ok(None);
    };
    if ns == NS_XSD {
        return Ty::from_xsd(local)
            .map(|t| Some(Named::Ty(t)))
            .ok_or_else(|| bad(path, format!("xsi:type xsd:{local} is not a type vim uses")));
    }
    if let Some(item) = local.strip_prefix("ArrayOf") {
        return Ok(Some(Named::Array(local.clone(), item.to_string())));
    }
    Ty::from_vim(local)
        .map(|t| Some(Named::Ty(t)))
        .ok_or_else(|| {
            bad(
                path,
                format!("xsi:type {local} is not a type ferrocenter knows"),
            )
        })
}

enum Named {
    Ty(Ty),
    /// `ArrayOfX` (in an `Any` slot): its name and the item type's name.
    Array(String, String),
}

fn value(el: &Element, declared: Ty, path: &str) -> Result<Value, VimFault> {
    let ty = match named_type(el, path)? {
        None => declared,
        Some(Named::Array(name, item)) => {
            if declared != Ty::Any {
                return Err(bad(
                    path,
                    format!(
                        "xsi:type {name} where a {} is declared",
                        declared.xsd_name().1
                    ),
                ));
            }
            return any_array(el, &name, &item, path);
        }
        Some(Named::Ty(t)) => {
            let fits = match (declared, t) {
                (Ty::Any, _) => true,
                (Ty::Data(d), Ty::Data(actual)) => {
                    schema::data_type(actual).is_some_and(|a| a.is_a(d))
                }
                (Ty::Enum(_), Ty::Str) | (Ty::Str, Ty::Enum(_)) => true,
                (Ty::Int, Ty::Long) | (Ty::Long, Ty::Int) => true,
                (d, t) => d == t,
            };
            if !fits {
                return Err(bad(
                    path,
                    format!(
                        "xsi:type {} where a {} is declared",
                        t.xsd_name().1,
                        declared.xsd_name().1
                    ),
                ));
            }
            if declared == Ty::Any {
                return boxed(el, t, path);
            }
            t
        }
    };
    typed(el, ty, path)
}

/// A value of a known type.
fn typed(el: &Element, ty: Ty, path: &str) -> Result<Value, VimFault> {
    let text = el.text.trim();
    Ok(match ty {
        Ty::Str | Ty::DateTime | Ty::Binary => json!(el.text),
        Ty::Enum(e) => {
            let known = schema::enum_type(e).is_some_and(|t| t.values.contains(&text));
            if !known {
                return Err(bad(path, format!("'{text}' is not a value of {e}")));
            }
            json!(text)
        }
        Ty::Bool => match text {
            "true" | "1" => json!(true),
            "false" | "0" => json!(false),
            _ => return Err(bad(path, format!("'{text}' is not a boolean"))),
        },
        Ty::Int | Ty::Long => json!(text
            .parse::<i64>()
            .map_err(|_| bad(path, format!("'{text}' is not an integer")))?),
        Ty::Double => json!(text
            .parse::<f64>()
            .map_err(|_| bad(path, format!("'{text}' is not a number")))?),
        Ty::MoRef => {
            let t = el
                .attr("type")
                .filter(|t| !t.is_empty())
                .ok_or_else(|| bad(path, "a ManagedObjectReference needs its type attribute"))?;
            json!({"_typeName": "ManagedObjectReference", "type": t, "value": text})
        }
        Ty::Data(d) => {
            let decl = schema::data_type(d).ok_or_else(|| bad(path, format!("no type {d}")))?;
            let mut o = Map::new();
            o.insert("_typeName".into(), json!(d));
            for c in &el.children {
                let p = format!("{path}.{}", c.name);
                put(&mut o, c, decl.field(&c.name), &p)?;
            }
            Value::Object(o)
        }
        Ty::Any => shaped(el, path)?,
    })
}

/// A value in an `Any` slot, boxed as the binding expects (`{"_typeName", "_value"}` for
/// primitives and enums; data objects and MoRefs carry their own type).
fn boxed(el: &Element, ty: Ty, path: &str) -> Result<Value, VimFault> {
    let v = typed(el, ty, path)?;
    Ok(match ty {
        Ty::Data(_) | Ty::MoRef => v,
        other => json!({"_typeName": other.xsd_name().1, "_value": v}),
    })
}

fn any_array(el: &Element, name: &str, item: &str, path: &str) -> Result<Value, VimFault> {
    let item_ty = Ty::from_xsd(&lower_first(item))
        .or_else(|| Ty::from_vim(item))
        .ok_or_else(|| bad(path, format!("xsi:type {name}: no item type {item}")))?;
    let items = el
        .children
        .iter()
        .enumerate()
        .map(|(i, c)| value(c, item_ty, &format!("{path}[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({"_typeName": name, "_value": items}))
}

/// `ArrayOfString` names its items `String`; XML Schema's names start lower-case.
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// An undeclared element, read by its shape: a named type if it says one, text if it has no
/// children, an object of its children otherwise.
fn shaped(el: &Element, path: &str) -> Result<Value, VimFault> {
    if let Some(n) = named_type(el, path)? {
        return match n {
            Named::Ty(t) => typed(el, t, path),
            Named::Array(name, item) => any_array(el, &name, &item, path),
        };
    }
    if el.children.is_empty() {
        if let Some(t) = el.attr("type") {
            return Ok(
                json!({"_typeName": "ManagedObjectReference", "type": t, "value": el.text.trim()}),
            );
        }
        return Ok(json!(el.text));
    }
    let mut o = Map::new();
    for c in &el.children {
        put(&mut o, c, None, &format!("{path}.{}", c.name))?;
    }
    Ok(Value::Object(o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocenter_http::soap::{parse, Limits};

    fn body(xml: &str) -> Element {
        parse(xml.as_bytes(), Limits::default()).unwrap()
    }

    const NS: &str = r#"xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema""#;

    #[test]
    fn a_property_collector_request_decodes_as_vi_json_carries_it() {
        let xml = format!(
            r#"<RetrievePropertiesEx {NS}><_this type="PropertyCollector">propertyCollector</_this>
<specSet><propSet><type>HostSystem</type><all>false</all><pathSet>name</pathSet></propSet>
<objectSet><obj type="ContainerView">session[1]view-1</obj><skip>true</skip>
<selectSet xsi:type="TraversalSpec"><name>t</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet>
</objectSet></specSet><options><maxObjects>100</maxObjects></options></RetrievePropertiesEx>"#
        );
        let d = decode(&body(&xml)).unwrap();
        assert_eq!(
            (d.mo_type.as_str(), d.mo_id.as_str()),
            ("PropertyCollector", "propertyCollector")
        );
        let v = Value::Object(d.params);
        assert_eq!(v["specSet"][0]["_typeName"], "PropertyFilterSpec");
        assert_eq!(v["specSet"][0]["propSet"][0]["pathSet"], json!(["name"]));
        assert_eq!(v["specSet"][0]["propSet"][0]["all"], false);
        let o = &v["specSet"][0]["objectSet"][0];
        assert_eq!(o["obj"]["type"], "ContainerView");
        assert_eq!(o["selectSet"][0]["_typeName"], "TraversalSpec");
        assert_eq!(o["selectSet"][0]["path"], "view");
        assert_eq!(v["options"]["maxObjects"], 100);
    }

    #[test]
    fn wrong_types_and_values_name_the_parameter() {
        let e = |xml: String| decode(&body(&xml)).err().unwrap().message;
        let m = e(format!(
            r#"<EnterMaintenanceMode_Task {NS}><_this type="HostSystem">host-1</_this><timeout>soon</timeout></EnterMaintenanceMode_Task>"#
        ));
        assert!(m.contains("timeout") && m.contains("not an integer"), "{m}");
        let m = e(format!(
            r#"<CreateFilter {NS}><_this type="PropertyCollector">propertyCollector</_this><spec xsi:type="HostConnectSpec"/></CreateFilter>"#
        ));
        assert!(m.contains("spec") && m.contains("HostConnectSpec"), "{m}");
        let m = e(format!(
            r#"<CreateFilter {NS}><_this type="PropertyCollector">propertyCollector</_this><spec xsi:type="NoSuchType"/></CreateFilter>"#
        ));
        assert!(m.contains("NoSuchType"), "{m}");
        let m = e(format!(r#"<Logout {NS}/>"#));
        assert!(m.contains("_this"), "{m}");
        let m = e(format!(
            r#"<CreateClusterEx {NS}><_this type="Folder">group-h3</_this><name>c</name><spec><drsConfig><defaultVmBehavior>sometimes</defaultVmBehavior></drsConfig></spec></CreateClusterEx>"#
        ));
        assert!(m.contains("spec.drsConfig.defaultVmBehavior"), "{m}");
    }

    #[test]
    fn any_values_are_boxed() {
        let xml = format!(
            r#"<X {NS}><_this type="T">t</_this><o><key>k</key><value xsi:type="xsd:int">5</value></o><a xsi:type="ArrayOfString"><string>x</string></a></X>"#
        );
        let d = decode(&body(&xml)).unwrap();
        assert_eq!(
            d.params["o"]["value"], 5,
            "undeclared: read by shape and xsi:type"
        );
        let f = schema::data_type("OptionValue")
            .unwrap()
            .field("value")
            .unwrap();
        let el = &body(&xml).children[1].children[1];
        assert_eq!(
            value(el, f.ty, "v").unwrap(),
            json!({"_typeName": "int", "_value": 5})
        );
        assert_eq!(
            d.params["a"],
            json!({"_typeName": "ArrayOfString", "_value": ["x"]})
        );
    }
}
