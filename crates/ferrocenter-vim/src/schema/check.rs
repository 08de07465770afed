//! The check that the declarations tell the truth about what the binding renders: every
//! `_typeName` declared, every field a declared field of its type (or a base's), with the
//! declared array-ness and a value of the declared kind, and every required field there. Tests walk rendered answers with it.
use serde_json::{Map, Value};

use super::decl::{Field, Ty};
use super::tables::{data_type, enum_type};

/// `Type.field: why` for each part of a rendered value (an answer, a property value, a fault
/// body) the declarations do not describe; empty when they describe all of it.
pub fn undeclared(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match value {
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                any(v, &format!("[{i}]"), &mut out);
            }
        }
        v => any(v, "", &mut out),
    }
    out.sort();
    out.dedup();
    out
}

/// A value that names its own type: a data object, a MoRef or a boxed value.
fn any(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(o) if o.contains_key("_value") => boxed(o, at, out),
        Value::Object(o) if is_moref(o) => {}
        Value::Object(_) => data(v, None, at, out),
        Value::Null => {}
        other => out.push(format!(
            "{at}: {other} carries no type in an xsd:anyType slot"
        )),
    }
}

fn is_moref(o: &Map<String, Value>) -> bool {
    o.get("_typeName").and_then(Value::as_str) == Some("ManagedObjectReference")
}

/// `{"_typeName": T, "_value": v}`: T a primitive, an enum or `ArrayOf{T}`.
fn boxed(o: &Map<String, Value>, at: &str, out: &mut Vec<String>) {
    let t = o.get("_typeName").and_then(Value::as_str).unwrap_or("");
    let inner = &o["_value"];
    let at = format!("{at}<{t}>");
    if let Some(item) = t.strip_prefix("ArrayOf") {
        let Some(ty) = item_type(item) else {
            out.push(format!("{at}: no type {item}"));
            return;
        };
        match inner {
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    scalar_or_object(v, ty, &format!("{at}[{i}]"), out);
                }
            }
            _ => out.push(format!("{at}: not an array")),
        }
        return;
    }
    match Ty::from_xsd(t).or_else(|| enum_type(t).map(|e| Ty::Enum(e.name))) {
        Some(ty) => scalar_or_object(inner, ty, &at, out),
        None => out.push(format!("{at}: no primitive or enum {t}")),
    }
}

/// The item type of `ArrayOf{item}`: `String` is xsd:string, `ManagedObjectReference` a MoRef,
/// otherwise a declared data type or enum.
fn item_type(item: &str) -> Option<Ty> {
    if item == "ManagedObjectReference" {
        return Some(Ty::MoRef);
    }
    let mut c = item.chars();
    let lower: String = c
        .next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default();
    if let Some(p) = Ty::from_xsd(&lower) {
        return Some(p);
    }
    if let Some(d) = data_type(item) {
        return Some(Ty::Data(d.name));
    }
    enum_type(item).map(|e| Ty::Enum(e.name))
}

/// A data object, as `expected` or a type derived from it.
fn data(v: &Value, expected: Option<&str>, at: &str, out: &mut Vec<String>) {
    let Value::Object(o) = v else {
        out.push(format!("{at}: {v} is not a data object"));
        return;
    };
    let Some(t) = o.get("_typeName").and_then(Value::as_str).or(expected) else {
        out.push(format!("{at}: a data object without _typeName"));
        return;
    };
    let Some(d) = data_type(t) else {
        out.push(format!("{t}: not declared (at {at})"));
        return;
    };
    if let Some(e) = expected {
        if !d.is_a(e) {
            out.push(format!("{at}: {t} is not a {e}"));
        }
    }
    for (k, val) in o.iter().filter(|(k, _)| *k != "_typeName") {
        match d.field(k) {
            Some(f) => field(val, f, &format!("{t}.{k}"), out),
            None => out.push(format!("{t}.{k}: not declared")),
        }
    } // A field declared required (minOccurs 1 in the WSDL) must be there.
    let mut base = Some(d);
    while let Some(b) = base {
        for f in b.fields.iter().filter(|f| f.required) {
            if o.get(f.name).is_none_or(Value::is_null) {
                out.push(format!("{t}.{}: declared required, not rendered", f.name));
            }
        }
        base = b.base.and_then(data_type);
    }
}

fn field(v: &Value, f: &Field, at: &str, out: &mut Vec<String>) {
    if v.is_null() {
        return;
    }
    match (f.array, v) {
        (true, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                scalar_or_object(item, f.ty, &format!("{at}[{i}]"), out);
            }
        }
        (true, _) => out.push(format!("{at}: declared an array, rendered {v}")),
        (false, Value::Array(_)) => {
            out.push(format!("{at}: rendered an array, declared a single value"));
        }
        (false, _) => scalar_or_object(v, f.ty, at, out),
    }
}

/// One value of a declared type.
fn scalar_or_object(v: &Value, ty: Ty, at: &str, out: &mut Vec<String>) {
    let ok = match ty {
        Ty::Str | Ty::DateTime | Ty::Binary => v.is_string(),
        Ty::Bool => v.is_boolean(),
        Ty::Int | Ty::Long => v.is_i64() || v.is_u64(),
        Ty::Double => v.is_number(),
        Ty::MoRef => matches!(v, Value::Object(o) if is_moref(o)),
        Ty::Enum(e) => {
            let known =
                enum_type(e).is_some_and(|d| v.as_str().is_some_and(|s| d.values.contains(&s)));
            if !known {
                out.push(format!("{at}: {v} is not a value of {e}"));
            }
            true
        }
        Ty::Any => {
            any(v, at, out);
            true
        }
        // A fault in a LocalizedMethodFault slot is rendered as the fault itself; the SOAP
        // encoder wraps it.
        Ty::Data("LocalizedMethodFault")
            if v.get("faultMessage").is_some() && v.get("fault").is_none() =>
        {
            data(v, Some("MethodFault"), at, out);
            true
        }
        Ty::Data(d) => {
            data(v, Some(d), at, out);
            true
        }
    };
    if !ok {
        let (_, name) = ty.xsd_name();
        out.push(format!("{at}: {v} is not a {name}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn declared_values_pass_and_the_rest_is_named() {
        let good = json!({"_typeName": "ObjectContent",
            "obj": {"_typeName": "ManagedObjectReference", "type": "Folder", "value": "group-d1"},
            "propSet": [{"_typeName": "DynamicProperty", "name": "name", "val": {"_typeName": "string", "_value": "x"}}]});
        assert_eq!(undeclared(&good), Vec::<String>::new());
        let bad = json!({"_typeName": "ObjectContent", "colour": "red",
            "obj": {"_typeName": "ManagedObjectReference", "type": "Folder", "value": "group-d1"},
            "propSet": {"_typeName": "DynamicProperty", "name": "n", "val": {"_typeName": "ArrayOfNothing", "_value": []}}});
        let found = undeclared(&bad);
        assert!(
            found.iter().any(|m| m.starts_with("ObjectContent.colour")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|m| m.starts_with("ObjectContent.propSet: declared an array")),
            "{found:?}"
        );
        let wrong_enum = json!({"_typeName": "HostRuntimeInfo", "connectionState": "sleepy",
            "powerState": "poweredOn", "inMaintenanceMode": false});
        assert_eq!(undeclared(&wrong_enum).len(), 1);
        assert_eq!(undeclared(&json!({"_typeName": "NoSuchThing"})).len(), 1);
    }

    /// Every fault type the binding raises, found where it raises them: `VimFault::new("T"`.
    #[test]
    fn every_fault_the_binding_raises_is_declared() {
        let sources = [
            include_str!("../faults.rs"),
            include_str!("../methods.rs"),
            include_str!("../props.rs"),
            include_str!("../collector.rs"),
            include_str!("../service.rs"),
            include_str!("../tasks.rs"),
            include_str!("../views.rs"),
            include_str!("../filters.rs"),
            include_str!("../ctx.rs"),
            include_str!("../soap/mod.rs"),
            include_str!("../json/mod.rs"),
        ];
        let mut found = 0;
        for src in sources {
            for (i, _) in src.match_indices("VimFault::new(") {
                let rest = src[i + "VimFault::new(".len()..].trim_start();
                let Some(name) = rest.strip_prefix('"').and_then(|r| r.split('"').next()) else {
                    continue;
                };
                found += 1;
                let d = data_type(name).unwrap_or_else(|| panic!("{name} is raised, not declared"));
                assert!(d.is_a("MethodFault"), "{name} is not a fault");
            }
        }
        assert!(
            found > 20,
            "only {found} faults found: has the constructor moved?"
        );
    }

    /// The core's errors as the binding renders them, fields and all.
    #[test]
    fn every_core_error_renders_as_a_declared_fault() {
        use crate::faults::VimFault;
        use ferrocenter_core::CoreError;
        let errors = [
            CoreError::invalid("spec.hostName", "bad"),
            CoreError::not_supported("X.y"),
            CoreError::already_in_state("on"),
            CoreError::internal("boom"),
            CoreError::Unauthenticated,
            CoreError::InvalidLogin,
            CoreError::SslVerify {
                thumbprint: "AB".into(),
                self_signed: true,
            },
            CoreError::AlreadyBeingManaged {
                ip_address: "10.0.0.1".into(),
            },
            CoreError::NotSupportedHost {
                product: "p".into(),
                version: "1".into(),
            },
            CoreError::AlreadyConnected { name: "h".into() },
            CoreError::AlreadyExists {
                what: "Folder".into(),
                name: "f".into(),
            },
            CoreError::NoPermission {
                privilege: "Host.Config".into(),
            },
            CoreError::NoHost {
                name: "h".into(),
                reason: "r".into(),
            },
            CoreError::HostConnect {
                name: "h".into(),
                reason: "r".into(),
            },
            CoreError::Timeout {
                message: "m".into(),
            },
            CoreError::Cancelled {
                message: "m".into(),
            },
            CoreError::NotFound {
                what: "Host".into(),
                id: "h".into(),
            },
        ];
        for e in errors {
            let body = VimFault::from(e).body();
            assert_eq!(undeclared(&body), Vec::<String>::new(), "{body}");
        }
        let f = VimFault::method_not_found("HostSystem", "host-1", "Nope").body();
        assert_eq!(undeclared(&f), Vec::<String>::new());
        let f = VimFault::not_found("HostSystem", "host-1").body();
        assert_eq!(undeclared(&f), Vec::<String>::new());
    }

    /// Core kinds vim25 names otherwise, or not at all, reach vim clients as vim25 types, and
    /// a client's filter by the vim25 name finds the core's kind.
    #[test]
    fn core_event_kinds_map_to_vim25_types_and_back() {
        use crate::render::{core_event_kind, vim_event_type};
        assert_eq!(
            vim_event_type("HostNotRespondingEvent"),
            ("HostConnectionLostEvent", None)
        );
        assert_eq!(
            core_event_kind("HostConnectionLostEvent"),
            "HostNotRespondingEvent"
        );
        assert_eq!(
            vim_event_type("HostSensorChangedEvent"),
            ("EventEx", Some("HostSensorChangedEvent"))
        );
        assert_eq!(
            core_event_kind("HostSensorChangedEvent"),
            "HostSensorChangedEvent"
        );
        assert_eq!(
            vim_event_type("HostConnectedEvent"),
            ("HostConnectedEvent", None)
        );
        assert_eq!(vim_event_type("EventEx"), ("EventEx", Some("EventEx")));
    }

    /// Every declared event kind, as the binding renders it, is what its declaration says.
    #[test]
    fn every_declared_event_renders_as_declared() {
        use super::super::data_types;
        let mut found = Vec::new();
        // The declared kinds (EventEx is what other kinds become) and the core's kinds that
        // vim25 names otherwise or not at all.
        let kinds = data_types()
            .filter(|d| d.is_a("Event") && d.name != "EventEx")
            .map(|d| d.name)
            .chain(["HostNotRespondingEvent", "HostSensorChangedEvent"]);
        for kind in kinds {
            let e = ferrocenter_core::inventory::Event {
                seq: 7,
                time: time::OffsetDateTime::UNIX_EPOCH,
                kind: kind.to_string(),
                entity_kind: "host".into(),
                entity_id: "h".into(),
                entity_name: "h".into(),
                user: "u".into(),
                message: "m".into(),
                data: Value::Null,
            };
            found.extend(undeclared(&crate::render::event(
                &e,
                None,
                Some(("DC0", "datacenter-1")),
            )));
        }
        assert!(found.is_empty(), "{found:#?}");
    }
}
