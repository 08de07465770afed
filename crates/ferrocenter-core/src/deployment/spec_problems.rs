//! What is wrong with a setup's spec, the install's or the upgrade's: one reader finds every
//! problem, each named by the field's path as the caller spelled it, and the problems are
//! reported one way — as the errors of a check (the state unchanged), or on start as one
//! invalid-argument error naming the first field and listing them all.
use serde_json::Value;
use time::OffsetDateTime;

use super::{text, Notification};
use crate::CoreError;

/// One thing wrong with a spec, by the field's path as the caller spelled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub reason: String,
}

/// Reads a spec's JSON form field by field, collecting problems instead of stopping at the
/// first. Fields a spec does not have are reported after the others, by their full path.
pub(crate) struct SpecReader {
    /// "install" or "upgrade": whose spec an unknown field is not part of.
    operation: &'static str,
    problems: Vec<Problem>,
    unknown: Vec<Problem>,
}

impl SpecReader {
    pub(crate) fn new(operation: &'static str) -> SpecReader {
        SpecReader {
            operation,
            problems: vec![],
            unknown: vec![],
        }
    }

    pub(crate) fn problem(&mut self, field: &str, reason: impl Into<String>) {
        self.problems.push(Problem {
            field: field.to_string(),
            reason: reason.into(),
        });
    }

    fn unknown_fields(&mut self, v: &Value, prefix: &str, known: &[&str]) {
        for k in v
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys())
            .filter(|k| !known.contains(&k.as_str()))
        {
            self.unknown.push(Problem {
                field: format!("{prefix}{k}"),
                reason: format!("is not a field of the {} spec", self.operation),
            });
        }
    }

    /// The spec itself: an object holding only `known` fields. `false` when it is not an
    /// object (then nothing else can be read).
    pub(crate) fn top(&mut self, spec: &Value, known: &[&str]) -> bool {
        if !spec.is_object() {
            let why = format!("must be an {} spec (an object)", self.operation);
            self.problem("spec", why);
            return false;
        }
        self.unknown_fields(spec, "", known);
        true
    }

    /// The object at `path` (dotted; its last part is its key in `parent`), holding only
    /// `known` fields; `None` when absent, null or not an object.
    pub(crate) fn object<'a>(
        &mut self,
        parent: &'a Value,
        path: &str,
        known: &[&str],
    ) -> Option<&'a Value> {
        match parent.get(path.rsplit('.').next().unwrap_or(path)) {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => {
                self.unknown_fields(v, &format!("{path}."), known);
                Some(v)
            }
            Some(_) => {
                self.problem(path, "must be an object");
                None
            }
        }
    }

    /// The string at `key` in `v`, whose path is `path`.
    pub(crate) fn string(
        &mut self,
        v: &Value,
        key: &str,
        path: &str,
        required: bool,
    ) -> Option<String> {
        match v.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.problem(path, "is required");
                }
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.problem(path, "must be a string");
                None
            }
        }
    }

    /// The boolean at `key` in `v`, whose path is `path`.
    pub(crate) fn boolean(&mut self, v: &Value, key: &str, path: &str) -> Option<bool> {
        match v.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.problem(path, "must be true or false");
                None
            }
        }
    }

    /// Whether `key` in `v` holds anything but null.
    pub(crate) fn given(v: &Value, key: &str) -> bool {
        v.get(key).is_some_and(|v| !v.is_null())
    }

    /// The value read, or every problem found (unknown fields last).
    pub(crate) fn finish<T>(mut self, value: impl FnOnce() -> T) -> Result<T, Vec<Problem>> {
        self.problems.append(&mut self.unknown);
        if self.problems.is_empty() {
            Ok(value())
        } else {
            Err(self.problems)
        }
    }
}

/// A core validation's reason, for a problem of the field it checked.
pub(crate) fn reason(e: CoreError) -> String {
    match e {
        CoreError::InvalidArgument { reason, .. } => reason,
        e => e.to_string(),
    }
}

/// A problem as an error of `operation`'s check.
pub(crate) fn field_error(operation: &str, p: &Problem, now: OffsetDateTime) -> Notification {
    let id = format!("com.ferrocenter.deployment.{operation}.invalid_field");
    Notification {
        time: Some(now),
        message: text(
            &id,
            format!("{}: {}", p.field, p.reason),
            vec![p.field.clone(), p.reason.clone()],
        ),
        resolution: None,
        id,
    }
}

/// The problems of a spec given to `start`, as one invalid-argument error naming the first
/// field and listing every problem.
pub(crate) fn invalid_spec(problems: &[Problem]) -> CoreError {
    CoreError::InvalidArgument {
        field: format!("spec.{}", problems.first().map_or("", |p| p.field.as_str())),
        reason: problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.reason))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_come_last_with_their_paths() {
        let v = json!({"a": {"b": 1, "x": 2}, "y": 3, "c": 4});
        let mut r = SpecReader::new("install");
        assert!(r.top(&v, &["a", "c"]));
        let a = r.object(&v, "a", &["b"]).unwrap();
        r.string(a, "b", "a.b", true);
        r.boolean(&v, "c", "c");
        let got = r.finish(|| ()).unwrap_err();
        let fields: Vec<&str> = got.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["a.b", "c", "y", "a.x"]);
        assert_eq!(got[2].reason, "is not a field of the install spec");
        let e = invalid_spec(&got);
        assert!(matches!(&e, CoreError::InvalidArgument { field, .. } if field == "spec.a.b"));
    }

    #[test]
    fn a_spec_that_is_not_an_object_is_named_spec() {
        let mut r = SpecReader::new("upgrade");
        assert!(!r.top(&json!([1]), &[]));
        let got = r.finish(|| ()).unwrap_err();
        assert_eq!(got[0].field, "spec");
        assert_eq!(got[0].reason, "must be an upgrade spec (an object)");
    }
}
