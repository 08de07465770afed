//! One authenticated VI/JSON call: who calls, on what, with which parameters.
use ferrocenter_core::auth::Caller;
use ferrocenter_core::CoreError;
use serde_json::{Map, Value};

use super::faults::VimFault;
use super::state::VimState;

pub struct Ctx<'a> {
    pub state: &'a VimState,
    pub caller: Caller,
    /// Identifies the session (its public key, never the token) for session-private objects
    /// such as property filters.
    pub session_key: String,
    pub params: &'a Map<String, Value>,
}

fn missing(name: &str) -> VimFault {
    CoreError::invalid(name, "is required").into()
}

fn wrong(name: &str, what: &str) -> VimFault {
    CoreError::invalid(name, format!("must be {what}")).into()
}

/// Absent and JSON null both mean "unset".
fn get<'v>(params: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    params.get(name).filter(|v| !v.is_null())
}

impl Ctx<'_> {
    pub fn opt_str(&self, name: &str) -> Result<Option<&str>, VimFault> {
        opt_str(self.params, name)
    }

    pub fn req_str(&self, name: &str) -> Result<&str, VimFault> {
        self.opt_str(name)?.ok_or_else(|| missing(name))
    }

    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, VimFault> {
        opt_bool(self.params, name)
    }

    pub fn req_bool(&self, name: &str) -> Result<bool, VimFault> {
        self.opt_bool(name)?.ok_or_else(|| missing(name))
    }

    pub fn opt_int(&self, name: &str) -> Result<Option<i64>, VimFault> {
        opt_int(self.params, name)
    }

    pub fn req_int(&self, name: &str) -> Result<i64, VimFault> {
        self.opt_int(name)?.ok_or_else(|| missing(name))
    }

    pub fn opt_obj(&self, name: &str) -> Result<Option<&Map<String, Value>>, VimFault> {
        opt_obj(self.params, name)
    }

    pub fn req_obj(&self, name: &str) -> Result<&Map<String, Value>, VimFault> {
        self.opt_obj(name)?.ok_or_else(|| missing(name))
    }

    pub fn req_moref(&self, name: &str) -> Result<(String, String), VimFault> {
        moref_of(self.req_obj(name)?, name)
    }

    pub fn opt_moref(&self, name: &str) -> Result<Option<(String, String)>, VimFault> {
        self.opt_obj(name)?.map(|o| moref_of(o, name)).transpose()
    }
}

pub fn opt_str<'v>(
    params: &'v Map<String, Value>,
    name: &str,
) -> Result<Option<&'v str>, VimFault> {
    match get(params, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(wrong(name, "a string")),
    }
}

pub fn opt_bool(params: &Map<String, Value>, name: &str) -> Result<Option<bool>, VimFault> {
    match get(params, name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(wrong(name, "a boolean")),
    }
}

pub fn opt_int(params: &Map<String, Value>, name: &str) -> Result<Option<i64>, VimFault> {
    match get(params, name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| wrong(name, "an integer")),
    }
}

pub fn opt_obj<'v>(
    params: &'v Map<String, Value>,
    name: &str,
) -> Result<Option<&'v Map<String, Value>>, VimFault> {
    match get(params, name) {
        None => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(wrong(name, "an object")),
    }
}

/// A ManagedObjectReference, inline (`{type, value}`) or in the `_value` wrapper one docs page
/// shows.
pub fn moref_of(o: &Map<String, Value>, name: &str) -> Result<(String, String), VimFault> {
    let o = match o.get("_value") {
        Some(Value::Object(inner)) => inner,
        _ => o,
    };
    match (o.get("type"), o.get("value")) {
        (Some(Value::String(t)), Some(Value::String(v))) => Ok((t.clone(), v.clone())),
        _ => Err(wrong(name, "a ManagedObjectReference with type and value")),
    }
}
