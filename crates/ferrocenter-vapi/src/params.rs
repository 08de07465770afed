//! Reading named fields of a JSON request body, with errors that name the field.
use ferrocenter_core::CoreError;
use serde_json::{Map, Value};

pub struct Params<'a> {
    obj: &'a Map<String, Value>,
}

impl<'a> Params<'a> {
    /// The body must be an object whose keys are all in `known`.
    pub fn new(body: &'a Value, known: &[&str]) -> Result<Self, CoreError> {
        let obj = body
            .as_object()
            .ok_or_else(|| CoreError::invalid("body", "must be a JSON object"))?;
        if let Some(unknown) = obj.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(CoreError::invalid(
                unknown.as_str(),
                format!("unknown field (expected one of: {})", known.join(", ")),
            ));
        }
        Ok(Params { obj })
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    pub fn u64(&self, name: &str) -> Result<Option<u64>, CoreError> {
        self.get(name)
            .map(|v| {
                v.as_u64()
                    .ok_or_else(|| CoreError::invalid(name, "must be a non-negative integer"))
            })
            .transpose()
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, CoreError> {
        self.get(name)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| CoreError::invalid(name, "must be a boolean"))
            })
            .transpose()
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, CoreError> {
        self.get(name)
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| CoreError::invalid(name, "must be a string"))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_name_the_field() {
        let body = json!({"a": "x", "b": -1});
        let p = Params::new(&body, &["a", "b"]).unwrap();
        assert!(
            matches!(p.u64("b"), Err(CoreError::InvalidArgument { field, .. }) if field == "b")
        );
        assert!(
            matches!(p.bool("a"), Err(CoreError::InvalidArgument { field, .. }) if field == "a")
        );
        assert_eq!(p.string("a").unwrap().as_deref(), Some("x"));
        assert_eq!(p.u64("missing").unwrap(), None);
        let e = Params::new(&body, &["a"]).err().unwrap();
        assert!(matches!(e, CoreError::InvalidArgument { field, .. } if field == "b"));
    }
}
