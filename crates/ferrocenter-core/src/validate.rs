//! Input rules every surface shares: entity names, host names, ports, thumbprints and ids.
//! Each error names the field as the caller spelled it, so a binding passes its own field name
//! and the message is the same whichever surface refused the value.
use std::net::IpAddr;

use crate::CoreError;

/// An inventory name: 1 to 80 characters, none of `/`, `\`, `%` or a control character.
pub fn entity_name(field: &str, name: &str) -> Result<(), CoreError> {
    if name.trim().is_empty() || name.chars().count() > 80 {
        return Err(CoreError::invalid(field, "must be 1 to 80 characters"));
    }
    if name.contains(['/', '\\', '%']) || name.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            field,
            "must not contain '/', '\\', '%' or control characters",
        ));
    }
    Ok(())
}

/// Host names as vSphere accepts them: an IP address or a DNS name (RFC 1123; the grammar is
/// shared with the agent and the client library).
pub fn host_name(field: &str, h: &str) -> Result<(), CoreError> {
    if h.parse::<IpAddr>().is_ok() || crate::agent_door::is_dns_name(h) {
        Ok(())
    } else {
        Err(CoreError::invalid(
            field,
            "must be an IP address or a DNS name",
        ))
    }
}

/// A TCP port: 1 to 65535.
pub fn port(field: &str, p: i64) -> Result<u16, CoreError> {
    u16::try_from(p)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| CoreError::invalid(field, "must be between 1 and 65535"))
}

/// An optional port already narrowed to u16: 0 is refused.
pub fn port_opt(field: &str, p: Option<u16>) -> Result<(), CoreError> {
    match p {
        Some(p) => port(field, i64::from(p)).map(|_| ()),
        None => Ok(()),
    }
}

/// An optional thumbprint in any common spelling, in canonical form; empty means none.
pub fn thumbprint(field: &str, t: Option<&str>) -> Result<Option<String>, CoreError> {
    match t {
        Some(t) if !t.is_empty() => crate::agent_door::normalize_thumbprint(t)
            .map(Some)
            .ok_or_else(|| {
                CoreError::invalid(field, "must be a SHA-256 thumbprint (32 hex bytes)")
            }),
        _ => Ok(None),
    }
}

/// The SHA-256 thumbprint of a PEM certificate (vAPI's `ssl_certificate`).
pub fn certificate_thumbprint(field: &str, pem: &str) -> Result<String, CoreError> {
    crate::agent_door::pem_thumbprint(pem)
        .ok_or_else(|| CoreError::invalid(field, "must be a PEM certificate"))
}

/// Whether `id` has the form of every ferrocenter id: 32 lower-case hex digits.
pub fn is_uuid(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A client-chosen id (ZStack resourceUuid, a task id): 32 lower-case hex digits.
pub fn uuid(field: &str, id: &str) -> Result<(), CoreError> {
    if is_uuid(id) {
        Ok(())
    } else {
        Err(CoreError::invalid(
            field,
            "must be 32 lower-case hex digits",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: Result<impl std::fmt::Debug, CoreError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn each_rule_names_the_field() {
        assert!(message(entity_name("newName", "a/b")).contains("newName"));
        assert!(message(host_name("hostName", "kvm-.lab")).contains("hostName"));
        assert!(message(port("spec.port", 70000)).contains("spec.port"));
        assert!(message(thumbprint("sslThumbprint", Some("zz"))).contains("sslThumbprint"));
        assert!(message(uuid("resourceUuid", "ABC")).contains("resourceUuid"));
    }

    #[test]
    fn good_values_pass() {
        entity_name("name", "kvm 1").unwrap();
        host_name("h", "10.0.0.1").unwrap();
        host_name("h", "::1").unwrap();
        host_name("h", "kvm-1.lab").unwrap();
        assert_eq!(port("p", 8444).unwrap(), 8444);
        assert!(port("p", 0).is_err());
        assert_eq!(thumbprint("t", Some("")).unwrap(), None);
        uuid("u", &"a".repeat(32)).unwrap();
        assert!(!is_uuid(&"A".repeat(32)));
    }
}
