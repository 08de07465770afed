//! Input rules every surface shares: entity names, host names, ports, thumbprints and ids.
//! Each error names the field as the caller spelled it, so a binding passes its own field name
//! and the message is the same whichever surface refused the value.
use std::net::IpAddr;

use crate::CoreError;

/// The longest inventory name, in characters.
pub const NAME_MAX_CHARS: usize = 80;

/// Characters no inventory name may hold: `/`, `\` and `%` (paths and escapes), control
/// characters (C0, DEL, C1), and the bidirectional embeddings, overrides and isolates
/// (U+202A–U+202E, U+2066–U+2069) that make a name display other than it is stored.
const NAME_FORBIDDEN: &[(char, char)] = &[
    ('/', '/'),
    ('\\', '\\'),
    ('%', '%'),
    ('\u{0}', '\u{1f}'),
    ('\u{7f}', '\u{9f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2066}', '\u{2069}'),
];

fn forbidden_in_name(c: char) -> bool {
    NAME_FORBIDDEN
        .iter()
        .any(|(lo, hi)| (*lo..=*hi).contains(&c))
}

/// An inventory name: 1 to [`NAME_MAX_CHARS`] characters, not only white space, none of
/// [`NAME_FORBIDDEN`].
pub fn entity_name(field: &str, name: &str) -> Result<(), CoreError> {
    if name.trim().is_empty() || name.chars().count() > NAME_MAX_CHARS {
        return Err(CoreError::invalid(
            field,
            format!("must be 1 to {NAME_MAX_CHARS} characters"),
        ));
    }
    if name.chars().any(forbidden_in_name) {
        return Err(CoreError::invalid(
            field,
            "must not contain '/', '\\', '%', control characters or bidirectional overrides",
        ));
    }
    Ok(())
}

/// The name rule as an ECMA-262 regular expression, for API schemas (length aside: that is
/// `maxLength`): at least one character that is neither white space nor forbidden, and no
/// forbidden one.
pub fn entity_name_pattern() -> String {
    let class: String = NAME_FORBIDDEN
        .iter()
        .map(|(lo, hi)| {
            if lo == hi {
                format!("\\u{:04x}", *lo as u32)
            } else {
                format!("\\u{:04x}-\\u{:04x}", *lo as u32, *hi as u32)
            }
        })
        .collect();
    format!("^[^{class}]*[^\\s{class}][^{class}]*$")
}

/// The longest disk image name, in bytes (a file name's limit on Linux, NAME_MAX).
pub const IMAGE_NAME_MAX_BYTES: usize = 255;

/// What [`disk_image`] accepts, as its refusals say it.
pub const IMAGE_NAME_RULE: &str = "must be the name of a file on the disk's datastore: 1 to 255 \
     bytes, without '/', '\\', '..' or control characters";

/// A disk image: the name of a file (a volume) directly on the disk's datastore, never a path,
/// so a caller reaches nothing outside the datastores it may use.
pub fn disk_image(field: &str, name: &str) -> Result<(), CoreError> {
    let ok = !name.trim().is_empty()
        && name.len() <= IMAGE_NAME_MAX_BYTES
        && !name.contains("..")
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(field, IMAGE_NAME_RULE))
    }
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

/// [`host_name`]'s DNS names as an ECMA-262 regular expression (an IP address is the other
/// form a schema allows).
pub const DNS_NAME_PATTERN: &str = ferrocenter_agent_client::DNS_NAME_PATTERN;

/// The fewest characters of a credential a host is added with (its user name and password):
/// one, as an empty one is no credential.
pub const CREDENTIAL_MIN_CHARS: usize = 1;

/// A credential a host is added with: at least [`CREDENTIAL_MIN_CHARS`] characters.
pub fn credential(field: &str, value: &str) -> Result<(), CoreError> {
    if value.chars().count() < CREDENTIAL_MIN_CHARS {
        return Err(CoreError::invalid(field, "is required"));
    }
    Ok(())
}

/// The lowest and highest TCP port.
pub const PORT_MIN: i64 = 1;
pub const PORT_MAX: i64 = 65_535;

/// A TCP port: [`PORT_MIN`] to [`PORT_MAX`].
pub fn port(field: &str, p: i64) -> Result<u16, CoreError> {
    u16::try_from(p)
        .ok()
        .filter(|p| i64::from(*p) >= PORT_MIN)
        .ok_or_else(|| {
            CoreError::invalid(field, format!("must be between {PORT_MIN} and {PORT_MAX}"))
        })
}

/// The longest host name: a DNS name has at most 253 characters (an IP address fewer).
pub const HOST_NAME_MAX_CHARS: usize = 253;

/// [`thumbprint`]'s spellings as an ECMA-262 regular expression, for API schemas: empty (none),
/// or 32 bytes of hex with `:`, ` ` or `-` anywhere between the digits.
pub const THUMBPRINT_PATTERN: &str = "^(|[-: ]*([0-9A-Fa-f][-: ]*){64})$";

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
    fn disk_images_are_names_on_the_datastore_never_paths() {
        for good in ["debian-12.qcow2", "base image.raw", "a.b.vmdk"] {
            assert!(disk_image("disks[0].image", good).is_ok(), "{good:?}");
        }
        let long = "x".repeat(IMAGE_NAME_MAX_BYTES + 1);
        for bad in [
            "",
            " ",
            "../etc/shadow",
            "..",
            "dir/base.qcow2",
            "/var/lib/x",
            "a\\b",
            "a\nb",
            long.as_str(),
        ] {
            let e = message(disk_image("disks[0].image", bad));
            assert!(e.contains("disks[0].image"), "{bad:?}: {e}");
            assert!(
                e.contains("name of a file on the disk's datastore"),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn names_refuse_bidirectional_overrides_and_the_pattern_says_so() {
        for bad in [
            "evil\u{202e}gnp.exe",
            "a\u{2066}b",
            "a\u{85}b",
            "a\tb",
            "  ",
        ] {
            assert!(entity_name("name", bad).is_err(), "{bad:?}");
        }
        entity_name("name", "Zürich rack 4 (α)").unwrap();
        let p = entity_name_pattern();
        assert!(
            p.contains("\\u202a-\\u202e") && p.contains("\\u002f"),
            "{p}"
        );
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
