//! vAPI types as data, and the conversions between the three wire forms of a value:
//!
//! - *native*: the `/api` REST form, which handlers read and write (structures as objects,
//!   unset optionals omitted, maps as objects, secrets and datetimes as strings);
//! - *JSON-RPC*: the typed form of the official SDK (`STRUCTURE`, `OPTIONAL`, `SECRET`,
//!   `map-entry` arrays; reference §2);
//! - *legacy REST*: `/rest`, where maps are `[{"key","value"}]` arrays.
//!
//! Every decoder validates as it goes and names the offending field by its path.
use ferrocenter_core::CoreError;
use serde_json::{json, Map, Value};

use crate::rules::Rule;

/// A vAPI type. `&'static` links keep declarations `const`.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    String,
    /// An identifier (a moId such as `host-12`, or a task id).
    Id,
    Long,
    Double,
    Bool,
    Secret,
    /// Bytes: base64 text natively, `{"BINARY":"<base64>"}` in JSON-RPC.
    Binary,
    /// RFC 3339.
    DateTime,
    Void,
    /// Any value, passed as is.
    Opaque,
    Enum(&'static [&'static str]),
    Optional(&'static Ty),
    List(&'static Ty),
    Set(&'static Ty),
    /// Keys are strings on every wire ferrocenter serves.
    Map(&'static Ty),
    Struct(&'static StructDef),
    /// A string or integer the core's rule checks (names, host names, ports, thumbprints).
    Rule(Rule),
}

#[derive(Debug)]
pub struct StructDef {
    /// The canonical structure id (`com.vmware.vcenter.host.summary`).
    pub name: &'static str,
    pub fields: &'static [Field],
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
}

pub const fn field(name: &'static str, ty: Ty) -> Field {
    Field { name, ty }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn bad(path: &str, what: &str) -> CoreError {
    CoreError::invalid(if path.is_empty() { "input" } else { path }, what)
}

/// A union rule of a structure (the SDK's `UnionValidator`): when `discriminant` has a case's
/// value, the fields that case lists must be set if marked required, and the fields only other
/// cases list must be unset. The SDK rejects a reply that breaks one.
#[derive(Debug)]
pub struct Union {
    pub structure: &'static str,
    pub discriminant: &'static str,
    pub cases: &'static [(&'static str, &'static [(&'static str, bool)])],
}

/// A value that breaks a union rule: the field (its path in the value), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionBreak {
    pub structure: &'static str,
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for UnionBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} {}", self.structure, self.field, self.reason)
    }
}

/// Checks every union rule in `unions` that applies to `v` or to a structure inside it; the
/// error names the structure, the field (by its path under `path`) and the case.
pub fn check_unions(ty: &Ty, v: &Value, unions: &[&Union]) -> Result<(), UnionBreak> {
    unions_at(ty, v, unions, "")
}

/// The union rules on an operation's input: a break is the caller's argument error, naming the
/// field.
pub fn check_input_unions(
    fields: &[Field],
    given: &Map<String, Value>,
    unions: &[&Union],
) -> Result<(), CoreError> {
    for f in fields {
        if let Some(v) = given.get(f.name) {
            unions_at(&f.ty, v, unions, f.name).map_err(|b| bad(&b.field, &b.reason))?;
        }
    }
    Ok(())
}

fn unions_at(ty: &Ty, v: &Value, unions: &[&Union], path: &str) -> Result<(), UnionBreak> {
    match ty {
        Ty::Optional(inner) => {
            if v.is_null() {
                Ok(())
            } else {
                unions_at(inner, v, unions, path)
            }
        }
        Ty::List(inner) | Ty::Set(inner) => v
            .as_array()
            .map(|a| {
                a.iter()
                    .enumerate()
                    .try_for_each(|(i, x)| unions_at(inner, x, unions, &format!("{path}[{i}]")))
            })
            .unwrap_or(Ok(())),
        Ty::Map(inner) => v
            .as_object()
            .map(|o| {
                o.iter()
                    .try_for_each(|(k, x)| unions_at(inner, x, unions, &join(path, k)))
            })
            .unwrap_or(Ok(())),
        Ty::Struct(def) => {
            for u in unions.iter().filter(|u| u.structure == def.name) {
                let d = v.get(u.discriminant).and_then(Value::as_str).unwrap_or("");
                let own: &[(&str, bool)] = u
                    .cases
                    .iter()
                    .find(|(c, _)| *c == d)
                    .map(|(_, f)| *f)
                    .unwrap_or(&[]);
                let set = |f: &str| v.get(f).is_some_and(|x| !x.is_null());
                let broken = |f: &str, reason: &str| UnionBreak {
                    structure: def.name,
                    field: join(path, f),
                    reason: format!("{reason} with {} {d}", u.discriminant),
                };
                for (f, required) in own {
                    if *required && !set(f) {
                        return Err(broken(f, "is required"));
                    }
                }
                for (_, fields) in u.cases.iter().filter(|(c, _)| *c != d) {
                    for (f, _) in *fields {
                        if set(f) && !own.iter().any(|(o, _)| o == f) {
                            return Err(broken(f, "must be unset"));
                        }
                    }
                }
            }
            for f in def.fields {
                if let Some(x) = v.get(f.name) {
                    unions_at(&f.ty, x, unions, &join(path, f.name))?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Which encoded form a decoder reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `/api`: strict (an unknown structure field is an error, naming it).
    Native,
    /// `/rest`: as native, but maps are `[{"key","value"}]`.
    Legacy,
    /// JSON-RPC: typed wrappers; unknown structure fields are ignored, as the SDK's runtime
    /// ignores them (a newer client may send fields this server does not know).
    Rpc,
}

/// A value a core rule checks, type-checked only: the rule itself is applied by the operation,
/// after it has authorized the caller (so a caller without the privilege learns nothing about
/// its input); the error names the field by `path`.
fn decode_rule(rule: Rule, v: &Value, form: Form, path: &str) -> Result<Value, CoreError> {
    let path = if path.is_empty() { "input" } else { path };
    let (typed, want) = match rule {
        Rule::Port
        | Rule::PasswordDays
        | Rule::CharCount
        | Rule::MinimumLength
        | Rule::PrefixLength
        | Rule::ShutdownDelay
        | Rule::IterationSize
        | Rule::Hour
        | Rule::Minute => (v.is_i64(), "an integer"),
        // A secret, in JSON-RPC wrapped as `{"SECRET": …}`.
        Rule::Password => return decode(&Ty::Secret, v, form, path),
        Rule::ApiReleases | Rule::AccountRoles | Rule::LcmDeployments => (
            v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            "a list of strings",
        ),
        _ => (v.is_string(), "a string"),
    };
    if typed {
        Ok(v.clone())
    } else {
        Err(CoreError::invalid(path, format!("must be {want}")))
    }
}

/// Reads a value of type `ty` in `form` into the native form.
pub fn decode(ty: &Ty, v: &Value, form: Form, path: &str) -> Result<Value, CoreError> {
    match ty {
        Ty::Optional(inner) => {
            let v = if form == Form::Rpc {
                match v.as_object().and_then(|o| o.get("OPTIONAL")) {
                    Some(x) => x,
                    None => v,
                }
            } else {
                v
            };
            if v.is_null() {
                Ok(Value::Null)
            } else {
                decode(inner, v, form, path)
            }
        }
        Ty::String | Ty::Id | Ty::DateTime => match v {
            Value::String(_) => {
                if matches!(ty, Ty::DateTime) {
                    check_datetime(v.as_str().unwrap_or(""), path)?;
                }
                Ok(v.clone())
            }
            _ => Err(bad(path, "must be a string")),
        },
        Ty::Secret => {
            let inner = match v.as_object().and_then(|o| o.get("SECRET")) {
                Some(x) => x,
                None => v,
            };
            match inner {
                Value::String(_) => Ok(inner.clone()),
                _ => Err(bad(path, "must be a secret string")),
            }
        }
        Ty::Binary => {
            let inner = match v.as_object().and_then(|o| o.get("BINARY")) {
                Some(x) => x,
                None => v,
            };
            match inner.as_str() {
                Some(s) if base64_ok(s) => Ok(inner.clone()),
                _ => Err(bad(path, "must be base64 bytes")),
            }
        }
        Ty::Long => match v.as_i64() {
            Some(n) => Ok(json!(n)),
            None => Err(bad(path, "must be an integer")),
        },
        Ty::Double => match v.as_f64() {
            Some(n) => Ok(json!(n)),
            None => Err(bad(path, "must be a number")),
        },
        Ty::Bool => match v {
            Value::Bool(_) => Ok(v.clone()),
            _ => Err(bad(path, "must be a boolean")),
        },
        Ty::Void => Ok(Value::Null),
        Ty::Opaque => Ok(v.clone()),
        Ty::Rule(r) => decode_rule(*r, v, form, path),
        Ty::Enum(values) => match v.as_str() {
            Some(s) if values.contains(&s) => Ok(v.clone()),
            Some(s) => Err(bad(
                path,
                &format!("'{s}' is not one of {}", values.join(", ")),
            )),
            None => Err(bad(path, "must be a string")),
        },
        Ty::List(inner) | Ty::Set(inner) => match v {
            Value::Array(items) => {
                let items = items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| decode(inner, x, form, &format!("{path}[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                if matches!(ty, Ty::Set(_)) {
                    unique(&items, path)?;
                }
                Ok(Value::Array(items))
            }
            _ => Err(bad(path, "must be a list")),
        },
        Ty::Map(inner) => {
            let mut out = Map::new();
            match (form, v) {
                (Form::Native, Value::Object(o)) => {
                    for (k, x) in o {
                        out.insert(k.clone(), decode(inner, x, form, &join(path, k))?);
                    }
                }
                (Form::Legacy | Form::Rpc, Value::Array(entries)) => {
                    for e in entries {
                        let entry = if form == Form::Rpc {
                            e.get("STRUCTURE").and_then(|s| s.get("map-entry"))
                        } else {
                            Some(e)
                        };
                        let (Some(k), Some(x)) = (
                            entry.and_then(|e| e.get("key")).and_then(Value::as_str),
                            entry.and_then(|e| e.get("value")),
                        ) else {
                            return Err(bad(path, "map entries need a string key and a value"));
                        };
                        out.insert(k.to_string(), decode(inner, x, form, &join(path, k))?);
                    }
                }
                _ => return Err(bad(path, "must be a map")),
            }
            Ok(Value::Object(out))
        }
        Ty::Struct(def) => {
            let fields = match (form, v) {
                (Form::Rpc, Value::Object(o)) => match o.get("STRUCTURE") {
                    Some(Value::Object(s)) if s.len() == 1 => s.values().next(),
                    _ => None,
                },
                (_, Value::Object(_)) => Some(v),
                _ => None,
            };
            let Some(Value::Object(fields)) = fields else {
                return Err(bad(path, &format!("must be a {} structure", def.name)));
            };
            if form != Form::Rpc {
                if let Some(k) = fields
                    .keys()
                    .find(|k| !def.fields.iter().any(|f| f.name == k.as_str()))
                {
                    return Err(bad(
                        &join(path, k),
                        &format!("is not a field of {}", def.name),
                    ));
                }
            }
            decode_fields(def.fields, fields, form, path).map(Value::Object)
        }
    }
}

/// A set holds each element once: the vAPI runtime refuses a list with a repeated element where a
/// set is declared ("List contains duplicate element … Cannot convert to a set"), and the OpenAPI
/// document says `uniqueItems`.
fn unique(items: &[Value], path: &str) -> Result<(), CoreError> {
    let mut seen = std::collections::HashSet::new();
    for x in items {
        if !seen.insert(x.to_string()) {
            return Err(bad(path, &format!("is a set and holds {x} more than once")));
        }
    }
    Ok(())
}

/// Decodes named fields (a structure's, or an operation's parameters).
pub fn decode_fields(
    declared: &[Field],
    given: &Map<String, Value>,
    form: Form,
    path: &str,
) -> Result<Map<String, Value>, CoreError> {
    let mut out = Map::new();
    for f in declared {
        let p = join(path, f.name);
        match given.get(f.name) {
            None if matches!(f.ty, Ty::Optional(_)) => {}
            None | Some(Value::Null) if !matches!(f.ty, Ty::Optional(_)) => {
                return Err(bad(&p, "is required"))
            }
            Some(x) => {
                let d = decode(&f.ty, x, form, &p)?;
                if !d.is_null() {
                    out.insert(f.name.to_string(), d);
                }
            }
            None => {}
        }
    }
    Ok(out)
}

fn base64_ok(s: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).is_ok()
}

fn check_datetime(s: &str, path: &str) -> Result<(), CoreError> {
    parse_datetime(s, path).map(|_| ())
}

/// A `DateTime` value as the core takes it; the error names the field by `path`.
pub fn parse_datetime(s: &str, path: &str) -> Result<time::OffsetDateTime, CoreError> {
    // RFC 3339 separates date and time with `T` (the time crate also takes a space; vAPI not).
    let t_separated = matches!(s.as_bytes().get(10), Some(b'T' | b't'));
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .filter(|_| t_separated)
        .ok_or_else(|| bad(path, "must be an RFC 3339 date and time"))
}

/// Writes a native value of type `ty` in `form` (JSON-RPC or legacy REST; native is itself).
pub fn encode(ty: &Ty, v: &Value, form: Form) -> Value {
    match ty {
        Ty::Optional(inner) => {
            let x = if v.is_null() {
                Value::Null
            } else {
                encode(inner, v, form)
            };
            if form == Form::Rpc {
                json!({ "OPTIONAL": x })
            } else {
                x
            }
        }
        Ty::Secret if form == Form::Rpc => json!({ "SECRET": v }),
        Ty::Binary if form == Form::Rpc => json!({ "BINARY": v }),
        Ty::Void => Value::Null,
        Ty::List(inner) | Ty::Set(inner) => Value::Array(
            v.as_array()
                .map(|a| a.iter().map(|x| encode(inner, x, form)).collect())
                .unwrap_or_default(),
        ),
        Ty::Map(inner) => {
            let entries = v.as_object().cloned().unwrap_or_default();
            match form {
                Form::Native => Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, x)| {
                            let e = encode(inner, &x, form);
                            (k, e)
                        })
                        .collect(),
                ),
                Form::Legacy => Value::Array(
                    entries
                        .iter()
                        .map(|(k, x)| json!({"key": k, "value": encode(inner, x, form)}))
                        .collect(),
                ),
                Form::Rpc => Value::Array(
                    entries
                        .iter()
                        .map(|(k, x)| {
                            json!({"STRUCTURE": {"map-entry": {"key": k, "value": encode(inner, x, form)}}})
                        })
                        .collect(),
                ),
            }
        }
        Ty::Struct(def) => {
            let mut out = Map::new();
            for f in def.fields {
                let x = v.get(f.name).unwrap_or(&Value::Null);
                if form != Form::Rpc && x.is_null() {
                    continue;
                }
                out.insert(f.name.to_string(), encode(&f.ty, x, form));
            }
            if form == Form::Rpc {
                json!({ "STRUCTURE": { def.name: out } })
            } else {
                Value::Object(out)
            }
        }
        _ => v.clone(),
    }
}

/// Whether a value of `ty` can be given in a query string: a scalar, or a list or set of
/// scalars (one `key=value` pair per element). [`from_query`] refuses the others, and the OpenAPI
/// document leaves them out of an operation's query parameters.
pub fn given_as_text(ty: &Ty) -> bool {
    match ty {
        Ty::Optional(inner) => given_as_text(inner),
        Ty::List(e) | Ty::Set(e) => !matches!(e, Ty::List(_) | Ty::Set(_)) && given_as_text(e),
        _ => scalar_text(ty),
    }
}

fn scalar_text(ty: &Ty) -> bool {
    match ty {
        Ty::Optional(inner) => scalar_text(inner),
        Ty::Long
        | Ty::Double
        | Ty::Bool
        | Ty::Enum(_)
        | Ty::String
        | Ty::Id
        | Ty::Secret
        | Ty::DateTime
        | Ty::Binary => true,
        Ty::Rule(r) => r.is_scalar(),
        Ty::Void | Ty::Opaque | Ty::List(_) | Ty::Set(_) | Ty::Map(_) | Ty::Struct(_) => false,
    }
}

/// A scalar given as text (a path variable or a query-string value), typed.
pub fn from_text(ty: &Ty, s: &str, path: &str) -> Result<Value, CoreError> {
    match ty {
        Ty::Optional(inner) => from_text(inner, s, path),
        Ty::Long => s
            .parse::<i64>()
            .map(|n| json!(n))
            .map_err(|_| bad(path, "must be an integer")),
        Ty::Double => s
            .parse::<f64>()
            .map(|n| json!(n))
            .map_err(|_| bad(path, "must be a number")),
        Ty::Bool => match s {
            "true" => Ok(json!(true)),
            "false" => Ok(json!(false)),
            _ => Err(bad(path, "must be true or false")),
        },
        Ty::Enum(_) | Ty::String | Ty::Id | Ty::Secret | Ty::DateTime | Ty::Binary => {
            decode(ty, &json!(s), Form::Native, path)
        }
        Ty::Rule(Rule::Port | Rule::ShutdownDelay | Rule::IterationSize) => s
            .parse::<i64>()
            .map_err(|_| bad(path, "must be an integer"))
            .and_then(|n| decode(ty, &json!(n), Form::Native, path)),
        Ty::Rule(_) => decode(ty, &json!(s), Form::Native, path),
        _ => Err(bad(path, "cannot be given as text")),
    }
}

/// Operation parameters from a query string. `/api` flattens a structure parameter onto its
/// fields (`?names=a&names=b`); `/rest` names them `param.field` and indexes lists
/// (`filter.names.1=a`). Both spellings are read; a key that fits no parameter is an error.
pub fn from_query(
    params: &[Field],
    pairs: &[(String, String)],
    skip: &[&str],
) -> Result<Map<String, Value>, CoreError> {
    let mut given = Map::new();
    for (key, value) in pairs {
        if skip.contains(&key.as_str()) {
            continue;
        }
        // `param.field[.N]` or a bare `field`/`param`.
        let mut parts = key.split('.');
        let first = parts.next().unwrap_or("");
        let (param, field_name) = match params.iter().find(|p| p.name == first) {
            Some(p) => (p, parts.next()),
            None => match params.iter().find(|p| {
                struct_of(&p.ty).is_some_and(|d| d.fields.iter().any(|f| f.name == first))
            }) {
                Some(p) => (p, Some(first)),
                None => return Err(bad(key, "is not a parameter of this operation")),
            },
        };
        match (struct_of(&param.ty), field_name) {
            (Some(def), Some(fname)) => {
                let f = def
                    .fields
                    .iter()
                    .find(|f| f.name == fname)
                    .ok_or_else(|| bad(key, &format!("is not a field of {}", def.name)))?;
                let obj = given
                    .entry(param.name.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                // Only this arm writes a structure parameter's entry, always as an object.
                let Some(obj) = obj.as_object_mut() else {
                    return Err(bad(key, "is not a parameter of this operation"));
                };
                push_text(obj, f, value, key)?;
            }
            (None, None) => {
                push_text(&mut given, param, value, key)?;
            }
            _ => return Err(bad(key, "is not a parameter of this operation")),
        }
    }
    // A structure all of whose fields may be left out leaves no trace in a query string when
    // it is empty (the SDK's REST form of `filter_spec` with nothing set): it is given, empty.
    for p in params {
        if let Ty::Struct(def) = p.ty {
            let nothing_required = def
                .fields
                .iter()
                .all(|f| matches!(f.ty, Ty::Optional(_) | Ty::List(_) | Ty::Set(_)));
            if nothing_required && !given.contains_key(p.name) {
                given.insert(p.name.to_string(), Value::Object(Map::new()));
            }
        }
    }
    Ok(given)
}

/// Adds one text value to `obj[f.name]`, as an element when `f` is a list or set.
fn push_text(
    obj: &mut Map<String, Value>,
    f: &Field,
    value: &str,
    key: &str,
) -> Result<(), CoreError> {
    match collection_of(&f.ty) {
        Some(elem) => {
            let x = from_text(elem, value, key)?;
            let entry = obj
                .entry(f.name.to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            match entry {
                Value::Array(a) => a.push(x),
                _ => return Err(bad(key, "is given twice")),
            }
        }
        None => {
            if obj.contains_key(f.name) {
                return Err(bad(key, "is given twice"));
            }
            obj.insert(f.name.to_string(), from_text(&f.ty, value, key)?);
        }
    }
    Ok(())
}

fn struct_of(ty: &Ty) -> Option<&'static StructDef> {
    match ty {
        Ty::Struct(d) => Some(d),
        Ty::Optional(inner) => struct_of(inner),
        _ => None,
    }
}

fn collection_of(ty: &Ty) -> Option<&'static Ty> {
    match ty {
        Ty::List(e) | Ty::Set(e) => Some(e),
        Ty::Optional(inner) => collection_of(inner),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: &[&str] = &["CONNECTED", "DISCONNECTED"];
    const SUMMARY: StructDef = StructDef {
        name: "com.example.summary",
        fields: &[
            field("host", Ty::Id),
            field("state", Ty::Enum(STATES)),
            field("power", Ty::Optional(&Ty::Enum(&["ON", "OFF"]))),
            field("tags", Ty::Map(&Ty::Long)),
            field("password", Ty::Optional(&Ty::Secret)),
        ],
    };
    const FILTER: StructDef = StructDef {
        name: "com.example.filter_spec",
        fields: &[
            field("names", Ty::Optional(&Ty::Set(&Ty::String))),
            field("standalone", Ty::Optional(&Ty::Bool)),
        ],
    };

    #[test]
    fn rpc_and_native_forms_round_trip() {
        let native =
            json!({"host": "host-1", "state": "CONNECTED", "tags": {"a": 1}, "password": "pw"});
        let ty = Ty::Struct(&SUMMARY);
        let rpc = encode(&ty, &native, Form::Rpc);
        assert_eq!(
            rpc,
            json!({"STRUCTURE": {"com.example.summary": {
                "host": "host-1", "state": "CONNECTED", "power": {"OPTIONAL": null},
                "tags": [{"STRUCTURE": {"map-entry": {"key": "a", "value": 1}}}],
                "password": {"OPTIONAL": {"SECRET": "pw"}}}}})
        );
        assert_eq!(decode(&ty, &rpc, Form::Rpc, "").unwrap(), native);
        let legacy = encode(&ty, &native, Form::Legacy);
        assert_eq!(legacy["tags"], json!([{"key": "a", "value": 1}]));
        assert_eq!(decode(&ty, &legacy, Form::Legacy, "").unwrap(), native);
        assert_eq!(decode(&ty, &native, Form::Native, "").unwrap(), native);
    }

    #[test]
    fn union_rules_are_checked_in_nested_values() {
        const RULE: Union = Union {
            structure: "com.example.summary",
            discriminant: "state",
            cases: &[("CONNECTED", &[("power", true)]), ("DISCONNECTED", &[])],
        };
        let ty = Ty::List(&Ty::Struct(&SUMMARY));
        let ok = json!([{"host": "h", "state": "CONNECTED", "power": "ON", "tags": {}},
                        {"host": "h", "state": "DISCONNECTED", "tags": {}}]);
        assert!(check_unions(&ty, &ok, &[&RULE]).is_ok());
        let missing = json!([{"host": "h", "state": "CONNECTED", "tags": {}}]);
        let b = check_unions(&ty, &missing, &[&RULE]).unwrap_err();
        assert_eq!(
            (b.field.as_str(), b.reason.as_str()),
            ("[0].power", "is required with state CONNECTED")
        );
        let extra = json!([{"host": "h", "state": "DISCONNECTED", "power": "ON", "tags": {}}]);
        let b = check_unions(&ty, &extra, &[&RULE]).unwrap_err();
        assert_eq!(
            (b.field.as_str(), b.reason.as_str()),
            ("[0].power", "must be unset with state DISCONNECTED")
        );
        // On an input, a break is an argument error naming the field by its path.
        let params = [field("spec", Ty::Struct(&SUMMARY))];
        let mut given = Map::new();
        given.insert("spec".into(), missing[0].clone());
        assert_eq!(
            check_input_unions(&params, &given, &[&RULE]).unwrap_err(),
            CoreError::invalid("spec.power", "is required with state CONNECTED")
        );
    }

    #[test]
    fn binary_values_are_base64() {
        let native = json!("aGVsbG8=");
        let rpc = encode(&Ty::Binary, &native, Form::Rpc);
        assert_eq!(rpc, json!({"BINARY": "aGVsbG8="}));
        assert_eq!(decode(&Ty::Binary, &rpc, Form::Rpc, "b").unwrap(), native);
        assert!(decode(&Ty::Binary, &json!("not base64!"), Form::Native, "b").is_err());
    }

    #[test]
    fn decoding_errors_name_the_field() {
        let ty = Ty::Struct(&SUMMARY);
        let field_of = |v: Value, form| match decode(&ty, &v, form, "spec") {
            Err(CoreError::InvalidArgument { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field_of(json!({"state": "CONNECTED", "tags": {}}), Form::Native),
            "spec.host"
        );
        assert_eq!(
            field_of(
                json!({"host": "h", "state": "GONE", "tags": {}}),
                Form::Native
            ),
            "spec.state"
        );
        assert_eq!(
            field_of(
                json!({"host": "h", "state": "CONNECTED", "tags": {"x": "y"}}),
                Form::Native
            ),
            "spec.tags.x"
        );
        assert_eq!(
            field_of(
                json!({"host": "h", "state": "CONNECTED", "tags": {}, "hots": 1}),
                Form::Native
            ),
            "spec.hots"
        );
        // JSON-RPC ignores fields it does not know, as the SDK's runtime does.
        let rpc =
            json!({"STRUCTURE": {"x": {"host": "h", "state": "CONNECTED", "tags": [], "new": 1}}});
        assert!(decode(&ty, &rpc, Form::Rpc, "spec").is_ok());
        assert!(matches!(
            decode(
                &Ty::DateTime,
                &json!("2025-01-01 00:00:00Z"),
                Form::Native,
                "t"
            ),
            Err(CoreError::InvalidArgument { .. })
        ));
        assert!(decode(
            &Ty::DateTime,
            &json!("2025-01-01T01:02:03.456Z"),
            Form::Native,
            "t"
        )
        .is_ok());
    }

    /// A set holds each element once, in every form (the vAPI runtime refuses a repeated one);
    /// a list may repeat.
    #[test]
    fn sets_refuse_repeated_elements() {
        let set = Ty::Set(&Ty::String);
        for form in [Form::Native, Form::Legacy, Form::Rpc] {
            assert!(matches!(
                decode(&set, &json!(["a", "b", "a"]), form, "filter.names"),
                Err(CoreError::InvalidArgument { field, .. }) if field == "filter.names"
            ));
            assert!(decode(&set, &json!(["a", "b"]), form, "f").is_ok());
            assert!(decode(&Ty::List(&Ty::String), &json!(["a", "a"]), form, "f").is_ok());
        }
        let params = [field("filter", Ty::Optional(&Ty::Struct(&FILTER)))];
        let given = from_query(
            &params,
            &[("names".into(), "a".into()), ("names".into(), "a".into())],
            &[],
        )
        .unwrap();
        assert!(matches!(
            decode_fields(&params, &given, Form::Native, ""),
            Err(CoreError::InvalidArgument { field, .. }) if field == "filter.names"
        ));
    }

    /// What `given_as_text` calls text is what `from_text` reads, element by element for a list.
    #[test]
    fn text_forms_are_the_ones_read_from_text() {
        static ENUM: [&str; 1] = ["A"];
        static SCALARS: [(Ty, &str); 8] = [
            (Ty::String, "x"),
            (Ty::Id, "x"),
            (Ty::Long, "1"),
            (Ty::Double, "1.5"),
            (Ty::Bool, "true"),
            (Ty::Enum(&ENUM), "A"),
            (Ty::Rule(Rule::Port), "443"),
            (Ty::Rule(Rule::EntityName), "x"),
        ];
        for (ty, text) in &SCALARS {
            assert!(given_as_text(ty), "{ty:?}");
            assert!(from_text(ty, text, "p").is_ok(), "{ty:?}");
            assert!(given_as_text(&Ty::Set(ty)) && given_as_text(&Ty::Optional(ty)));
        }
        for ty in [
            Ty::Struct(&FILTER),
            Ty::List(&Ty::Struct(&FILTER)),
            Ty::Map(&Ty::String),
            Ty::List(&Ty::List(&Ty::String)),
            Ty::Rule(Rule::ApiReleases),
            Ty::Opaque,
        ] {
            assert!(!given_as_text(&ty), "{ty:?}");
            let elem = match ty {
                Ty::List(e) => e,
                _ => &ty,
            };
            assert!(from_text(elem, "x", "p").is_err(), "{ty:?}");
        }
    }

    #[test]
    fn query_strings_flatten_structures() {
        let params = [field("filter", Ty::Optional(&Ty::Struct(&FILTER)))];
        let pairs = |p: &[(&str, &str)]| {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        // `/api` flattens; `/rest` uses dotted, indexed keys.
        let api = from_query(
            &params,
            &pairs(&[("names", "a"), ("names", "b"), ("standalone", "true")]),
            &[],
        )
        .unwrap();
        let rest = from_query(
            &params,
            &pairs(&[
                ("filter.names.1", "a"),
                ("filter.names.2", "b"),
                ("filter.standalone", "true"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(api, rest);
        assert_eq!(
            api["filter"],
            json!({"names": ["a", "b"], "standalone": true})
        );
        assert!(matches!(
            from_query(&params, &pairs(&[("nmes", "a")]), &[]),
            Err(CoreError::InvalidArgument { field, .. }) if field == "nmes"
        ));
        assert!(matches!(
            from_query(&params, &pairs(&[("standalone", "yes")]), &[]),
            Err(CoreError::InvalidArgument { field, .. }) if field == "standalone"
        ));
        assert!(
            from_query(&params, &pairs(&[("vmw-task", "true")]), &["vmw-task"])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_empty_structure_with_nothing_required_is_given_empty() {
        const NEEDS_NAME: StructDef = StructDef {
            name: "t.needs_name",
            fields: &[field("name", Ty::String)],
        };
        let params = [
            field("filter", Ty::Struct(&FILTER)),
            field("spec", Ty::Struct(&NEEDS_NAME)),
        ];
        let given = from_query(&params, &[], &[]).unwrap();
        // Nothing in the query: the filter (every field optional) is there, empty; the spec,
        // which needs a name, is not, so decoding says it is required.
        assert_eq!(given.get("filter"), Some(&json!({})));
        assert!(!given.contains_key("spec"));
        let e = decode_fields(&params, &given, Form::Native, "").unwrap_err();
        assert!(e.to_string().contains("spec"), "{e}");
    }
}
