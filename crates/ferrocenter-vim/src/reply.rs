//! What the binding answers, whichever door rendered it: a value, an unset value, or nothing
//! (a void method). VI/JSON renders these as 200 with a JSON body, 200 with an empty body and
//! 204; SOAP as a `returnval`, an empty response element, and an empty response element.
use serde_json::Value;

#[derive(Debug)]
pub enum Reply {
    Value(Value),
    Unset,
    Void,
}

pub fn ok(v: Value) -> Reply {
    Reply::Value(v)
}

/// An unset value or a null result, which clients read as "none".
pub fn unset() -> Reply {
    Reply::Unset
}

pub fn no_content() -> Reply {
    Reply::Void
}

/// A reply and, after a login or a session clone, the new session's token, which each door
/// hands back its own way (VI/JSON: the `vmware-api-session-id` header; SOAP: the
/// `vmware_soap_session` cookie). The token is a secret: it is never logged.
pub struct Answer {
    pub reply: Reply,
    pub new_session: Option<String>,
}

impl From<Reply> for Answer {
    fn from(reply: Reply) -> Self {
        Answer {
            reply,
            new_session: None,
        }
    }
}
