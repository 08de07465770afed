//! Turning what an operator types (a name, or an id such as `host-12`) into a moId.
use ferrocenter_client::Connection;
use serde_json::Value;

use super::{refused, usage, CliError};

/// An inventory kind a command names.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Datacenter,
    Cluster,
    Host,
    Vm,
}

impl Kind {
    /// The vAPI listing, its id field, and the moId prefix of the kind.
    fn parts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Kind::Datacenter => ("datacenter", "datacenter", "datacenter-"),
            Kind::Cluster => ("cluster", "cluster", "domain-c"),
            Kind::Host => ("host", "host", "host-"),
            Kind::Vm => ("vm", "vm", "vm-"),
        }
    }
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The moId of the entity named `arg`. Names come first: an entity whose name looks like an id
/// is still found by its name; otherwise an id-shaped argument is taken as the id (the server
/// says if nothing has it).
pub async fn resolve(c: &Connection, kind: Kind, arg: &str) -> Result<String, CliError> {
    let (service, id_field, prefix) = kind.parts();
    let found = c
        .api(
            "GET",
            &format!("/vcenter/{service}?names={}", encode(arg)),
            None,
        )
        .await?;
    let ids: Vec<&str> = found
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|v: &Value| v[id_field].as_str())
        .collect();
    match ids.as_slice() {
        [one] => Ok(one.to_string()),
        [] if arg.starts_with(prefix) => Ok(arg.to_string()),
        [] => Err(refused(format!("NOT_FOUND: no {service} is named '{arg}'"))),
        many => Err(usage(format!(
            "{} {service}s are named '{arg}' ({}); give the id",
            many.len(),
            many.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_encoded() {
        assert_eq!(super::encode("kvm 1&x=é"), "kvm%201%26x%3D%C3%A9");
        assert_eq!(super::encode("10.0.0.1"), "10.0.0.1");
    }
}
