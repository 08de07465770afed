//! vAPI value forms shared by the REST flavours.
use serde_json::{json, Value};

pub use ferrocenter_http::time::datetime;

/// `com.vmware.vapi.std.localizable_message`.
pub fn loc_msg(id: &str, default_message: &str, args: &[&str]) -> Value {
    json!({ "id": id, "default_message": default_message, "args": args })
}

/// The core's localizable text as a `LocalizableMessage`.
pub fn text_msg(t: &ferrocenter_core::appliance::health::Text) -> Value {
    let args: Vec<&str> = t.args.iter().map(String::as_str).collect();
    loc_msg(&t.id, &t.default_message, &args)
}

/// Which REST flavour a request came through: `/api` answers bare values, `/rest` wraps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Api,
    Rest,
}

impl Flavor {
    pub fn wrap(self, v: Value) -> Value {
        match self {
            Flavor::Api => v,
            Flavor::Rest => json!({ "value": v }),
        }
    }
}
