//! Writing values as the schema declares them: fields in declared order (bases first), only
//! declared fields, required ones present. An answer the table does not allow is an encoding
//! error (a defect of this crate, answered as a SystemError fault), never a malformed reply.
use ferrocenter_http::soap::escape;

use crate::schema::{all_fields, data_type, Field, Ty};

/// A value to write: text, a managed object reference, a data object of a declared type (its
/// fields by name), or the occurrences of a repeated field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    MoRef(String, String),
    Data(&'static str, Vec<(&'static str, Value)>),
    List(Vec<Value>),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub fn moref((type_, value): (&str, &str)) -> Value {
        Value::MoRef(type_.into(), value.into())
    }
}

/// An answer the schema does not allow (a defect of this crate).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EncodeError(pub String);

fn err(msg: String) -> EncodeError {
    EncodeError(msg)
}

/// Writes `value` as the element `field` declares (all occurrences of a repeated one).
pub fn write_field(out: &mut String, field: &Field, value: &Value) -> Result<(), EncodeError> {
    match (field.many, value) {
        (true, Value::List(items)) => {
            for v in items {
                write_one(out, field, v)?;
            }
            Ok(())
        }
        (true, _) => Err(err(format!("{} is repeated: give a list", field.name))),
        (false, Value::List(_)) => Err(err(format!("{} is not repeated", field.name))),
        (false, v) => write_one(out, field, v),
    }
}

fn write_one(out: &mut String, field: &Field, value: &Value) -> Result<(), EncodeError> {
    let name = field.name;
    match (field.ty, value) {
        (Ty::String | Ty::AnyUri, Value::Str(s)) => {
            out.push_str(&format!("<{name}>{}</{name}>", escape(s)));
        }
        (Ty::MoRef, Value::MoRef(t, v)) => {
            out.push_str(&format!(
                r#"<{name} type="{}">{}</{name}>"#,
                escape(t),
                escape(v)
            ));
        }
        (Ty::Data(declared), Value::Data(actual, fields)) => {
            // A subtype travels with its xsi:type, as vim's data objects do.
            let xsi = if *actual == declared {
                String::new()
            } else {
                format!(r#" xsi:type="{actual}""#)
            };
            out.push_str(&format!("<{name}{xsi}>"));
            write_fields(out, actual, fields)?;
            out.push_str(&format!("</{name}>"));
        }
        (ty, v) => {
            return Err(err(format!(
                "{name} is declared {ty:?}, not given as {}",
                match v {
                    Value::Str(_) => "text",
                    Value::MoRef(..) => "a reference",
                    Value::Data(t, _) => t,
                    Value::List(_) => "a list",
                }
            )))
        }
    }
    Ok(())
}

/// The fields of a data object of type `type_name`, in the declared order.
pub fn write_fields(
    out: &mut String,
    type_name: &str,
    fields: &[(&'static str, Value)],
) -> Result<(), EncodeError> {
    let t = data_type(type_name).ok_or_else(|| err(format!("{type_name} is not declared")))?;
    let declared = all_fields(t);
    if let Some((n, _)) = fields
        .iter()
        .find(|(n, _)| !declared.iter().any(|f| f.name == *n))
    {
        return Err(err(format!("{type_name} declares no field {n}")));
    }
    for f in &declared {
        match fields.iter().find(|(n, _)| *n == f.name) {
            Some((_, v)) => write_field(out, f, v)?,
            None if f.optional => {}
            None => return Err(err(format!("{type_name}.{} is required", f.name))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::operation;

    #[test]
    fn fields_are_written_in_declared_order_and_checked() {
        let mut out = String::new();
        write_fields(
            &mut out,
            "LookupServiceRegistrationServiceType",
            &[
                ("type", Value::str("cs.vapi")),
                ("product", Value::str("a&b")),
            ],
        )
        .unwrap();
        assert_eq!(
            out, "<product>a&amp;b</product><type>cs.vapi</type>",
            "declared order, escaped"
        );
        let bad = |fields: Vec<(&'static str, Value)>| {
            write_fields(
                &mut String::new(),
                "LookupServiceRegistrationServiceType",
                &fields,
            )
            .unwrap_err()
            .0
        };
        assert!(bad(vec![("product", Value::str("p"))]).contains("type is required"));
        assert!(bad(vec![("nope", Value::str("p"))]).contains("no field nope"));
        let list = operation("List").unwrap().returns.unwrap();
        assert!(write_field(&mut String::new(), &list, &Value::str("x")).is_err());
        let mut out = String::new();
        write_field(&mut out, &list, &Value::List(vec![])).unwrap();
        assert_eq!(out, "");
    }
}
