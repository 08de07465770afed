//! Reading ZStack request bodies: creates carry `{"params": {…}, "systemTags": […],
//! "userTags": […]}`, actions `{"<action>": {…}}`. A body that is not JSON, or a field of the
//! wrong JSON type, is the REST layer's 400; a missing or invalid value is the API's error
//! (SYS.1007 inside the job), as ZStack checks them there.
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ferrocenter_core::CoreError;
use serde_json::{Map, Value};

use super::errors::ZsError;

/// The fields of one create or action.
pub struct Params {
    map: Map<String, Value>,
    pub system_tags: Vec<String>,
    pub user_tags: Vec<String>,
}

fn type_error(name: &str, want: &str) -> ZsError {
    ZsError::BadRequest(format!(
        "Invalid value for the field[{name}]: expected {want}"
    ))
}

fn strings(v: Option<&Value>, name: &str) -> Result<Vec<String>, ZsError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(String::from)
                    .ok_or_else(|| type_error(name, "a list of strings"))
            })
            .collect(),
        Some(_) => Err(type_error(name, "a list of strings")),
    }
}

pub fn json(body: &[u8]) -> Result<Value, ZsError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body)
        .map_err(|e| ZsError::BadRequest(format!("the body is not JSON: {e}")))
}

impl Params {
    /// A create body: the `params` object and the top-level tags.
    pub fn create(body: &[u8]) -> Result<Params, ZsError> {
        let v = json(body)?;
        let Value::Object(mut top) = v else {
            return Err(ZsError::BadRequest("the body must be a JSON object".into()));
        };
        let map = match top.remove("params") {
            Some(Value::Object(m)) => m,
            None | Some(Value::Null) => Map::new(),
            Some(_) => return Err(type_error("params", "an object")),
        };
        Ok(Params {
            system_tags: strings(top.get("systemTags"), "systemTags")?,
            user_tags: strings(top.get("userTags"), "userTags")?,
            map,
        })
    }

    /// An action body: the one action key and its fields; None when the body has no key.
    pub fn action(body: &[u8]) -> Result<Option<(String, Params)>, ZsError> {
        let v = json(body)?;
        let Value::Object(top) = v else {
            return Err(ZsError::BadRequest("the body must be a JSON object".into()));
        };
        let system_tags = strings(top.get("systemTags"), "systemTags")?;
        let user_tags = strings(top.get("userTags"), "userTags")?;
        let mut actions = top
            .into_iter()
            .filter(|(k, _)| k != "systemTags" && k != "userTags");
        let Some((name, fields)) = actions.next() else {
            return Ok(None);
        };
        // ZStack picks one handler by the key; a second key would be dropped unseen.
        if let Some((other, _)) = actions.next() {
            return Err(ZsError::BadRequest(format!(
                "the body holds more than one action: '{name}' and '{other}'; send one per request"
            )));
        }
        let map = match fields {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            _ => return Err(type_error(&name, "an object")),
        };
        Ok(Some((
            name,
            Params {
                map,
                system_tags,
                user_tags,
            },
        )))
    }

    /// Whether a field holds anything (not absent, null or an empty list).
    pub fn present(&self, name: &str) -> bool {
        match self.map.get(name) {
            None | Some(Value::Null) => false,
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        }
    }

    /// A text field; numbers and booleans are read as their text, as ZStack's JSON reader does.
    pub fn text(&self, name: &str) -> Result<Option<String>, ZsError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(type_error(name, "a string")),
        }
    }

    /// A name or description: JSON text only. ZStack's reader would store a number or boolean
    /// as its text ("1.8446744073709552e+19"), which nobody meant as a name.
    pub fn string(&self, name: &str) -> Result<Option<String>, ZsError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(type_error(name, "a string")),
        }
    }

    /// A required name: JSON text, not empty.
    pub fn required_string(&self, name: &str) -> Result<String, ZsError> {
        match self.string(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(CoreError::invalid(name, "is required").into()),
        }
    }

    /// A required text field: missing or empty is the API's invalid-argument error.
    pub fn required(&self, name: &str) -> Result<String, ZsError> {
        match self.text(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(CoreError::invalid(name, "is required").into()),
        }
    }

    /// A list of strings (uuids); absent is empty.
    pub fn list(&self, name: &str) -> Result<Vec<String>, ZsError> {
        strings(self.map.get(name), name)
    }

    /// A list of integers (sizes), each a number or a string of digits; absent is empty.
    pub fn ints(&self, name: &str) -> Result<Vec<i64>, ZsError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| match x {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                })
                .collect::<Option<Vec<i64>>>()
                .ok_or_else(|| type_error(name, "a list of integers")),
            Some(_) => Err(type_error(name, "a list of integers")),
        }
    }

    /// An integer field; a string of digits is read as the number (seeds/004's curl example
    /// sends `"sshPort":"22"`).
    pub fn int(&self, name: &str) -> Result<Option<i64>, ZsError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| type_error(name, "an integer")),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| type_error(name, "an integer")),
            Some(_) => Err(type_error(name, "an integer")),
        }
    }

    /// A port field: 1 to 65535.
    pub fn port(&self, name: &str) -> Result<Option<u16>, ZsError> {
        match self.int(name)? {
            None => Ok(None),
            Some(n) => Ok(Some(ferrocenter_core::validate::port(name, n)?)),
        }
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ZsError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(type_error(name, "a boolean")),
        }
    }

    /// The `stateEvent` of a change-state action, as enable (true) or disable (false).
    pub fn enable_or_disable(&self) -> Result<bool, ZsError> {
        match self.text("stateEvent")?.as_deref() {
            Some("enable") => Ok(true),
            Some("disable") => Ok(false),
            other => Err(CoreError::invalid(
                "stateEvent",
                format!("'{}' is not enable or disable", other.unwrap_or("")),
            )
            .into()),
        }
    }
}

/// A body the listener could not take: over its limit, ZStack's JSON error with 413 (the
/// REST layer's plain text would leave SDKs without an error code); broken, a 400.
pub fn body_refused(e: BytesRejection) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        let mut r = ZsError::api(
            "SYS.1007",
            "the request body exceeds the server's limit (setting max_body_bytes)",
        )
        .into_response();
        *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        r
    } else {
        ZsError::BadRequest(e.body_text()).into_response()
    }
}

/// A create body (`{"params": …, "systemTags": …, "userTags": …}`), as an extractor.
pub struct Create(pub Params);

impl<S: Send + Sync> FromRequest<S> for Create {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let body = Bytes::from_request(req, state)
            .await
            .map_err(body_refused)?;
        Params::create(&body)
            .map(Create)
            .map_err(IntoResponse::into_response)
    }
}

/// An action body (`{"<action>": {…}}`), as an extractor: the action's name and fields. A body
/// without an action key is ZStack's 400 naming the URL.
pub struct Action(pub String, pub Params);

impl<S: Send + Sync> FromRequest<S> for Action {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let path = req.uri().path().trim_start_matches("/zstack").to_string();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(body_refused)?;
        match Params::action(&body) {
            Ok(Some((name, p))) => Ok(Action(name, p)),
            Ok(None) => Err(no_action(&path)),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// ZStack's answer to an action it has no handler for at that URL.
pub fn no_action(path: &str) -> Response {
    ZsError::BadRequest(format!(
        "the body doesn't contain action mapping to the URL[{path}]"
    ))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_bodies_read_as_zstack_reads_them() {
        let p = Params::create(
            br#"{"params":{"name":"h","sshPort":"22","n":7,"b":"True"},"systemTags":["a::b"]}"#,
        )
        .unwrap();
        assert_eq!(p.text("name").unwrap().as_deref(), Some("h"));
        assert_eq!(p.port("sshPort").unwrap(), Some(22));
        assert_eq!(p.text("n").unwrap().as_deref(), Some("7"));
        assert_eq!(p.boolean("b").unwrap(), Some(true));
        assert_eq!(p.system_tags, vec!["a::b".to_string()]);
        assert!(p.user_tags.is_empty());
        // A missing field is the API's error, naming the field.
        match p.required("clusterUuid") {
            Err(e @ ZsError::Api { .. }) => {
                assert!(e.body()["error"]["details"]
                    .as_str()
                    .unwrap()
                    .contains("clusterUuid"));
            }
            _ => panic!("expected an API error"),
        }
        // A wrong JSON type is the REST layer's 400.
        let p = Params::create(br#"{"params":{"sshPort":"ssh"}}"#).unwrap();
        assert!(matches!(p.port("sshPort"), Err(ZsError::BadRequest(_))));
        let p = Params::create(br#"{"params":{"sshPort":70000}}"#).unwrap();
        assert!(matches!(p.port("sshPort"), Err(ZsError::Api { .. })));
        assert!(matches!(
            Params::create(b"{nope"),
            Err(ZsError::BadRequest(_))
        ));
        assert!(matches!(
            Params::create(br#"{"params":{},"systemTags":"x"}"#),
            Err(ZsError::BadRequest(_))
        ));
    }

    #[test]
    fn actions_have_one_key() {
        let (name, p) = Params::action(br#"{"changeZoneState":{"stateEvent":"disable"}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(name, "changeZoneState");
        assert!(!p.enable_or_disable().unwrap());
        assert!(Params::action(b"{}").unwrap().is_none());
        match Params::action(br#"{"a":{},"systemTags":[],"b":{}}"#) {
            Err(ZsError::BadRequest(m)) => assert!(m.contains("'a'") && m.contains("'b'"), "{m}"),
            _ => panic!("two actions must be refused"),
        }
    }

    #[test]
    fn names_are_text() {
        let p = Params::create(br#"{"params":{"name":1e19,"description":true,"ok":"x"}}"#).unwrap();
        assert!(matches!(p.string("name"), Err(ZsError::BadRequest(m)) if m.contains("name")));
        assert!(matches!(
            p.required_string("description"),
            Err(ZsError::BadRequest(_))
        ));
        assert_eq!(p.string("ok").unwrap().as_deref(), Some("x"));
    }
}
