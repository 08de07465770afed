//! The DNS host-name grammar (RFC 1123), written once for the server, the agent and the client
//! library, which all depend on this crate.

/// [`is_dns_name`]'s labels as an ECMA-262 regular expression, for API schemas (the 253
/// characters in all are the schema's `maxLength`).
pub const DNS_NAME_PATTERN: &str =
    "^[0-9A-Za-z]([-0-9A-Za-z]{0,61}[0-9A-Za-z])?(\\.[0-9A-Za-z]([-0-9A-Za-z]{0,61}[0-9A-Za-z])?)*$";

/// Whether `h` is a DNS host name: dot-separated labels of 1 to 63 letters, digits and `-`,
/// none starting or ending with `-`, at most 253 characters in all.
pub fn is_dns_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::is_dns_name;

    #[test]
    fn rfc_1123_labels() {
        for good in ["kvm-1", "a.b-c.d", "1host", "x", &"a".repeat(63)] {
            assert!(is_dns_name(good), "{good}");
        }
        let long = format!("{}.{}", "a".repeat(63), "b".repeat(63)).repeat(2);
        for bad in [
            "",
            "-a",
            "a-",
            "kvm-.lab",
            "a..b",
            "a_b",
            "a b",
            ".a",
            "a.",
            &"a".repeat(64),
            &long,
        ] {
            assert!(!is_dns_name(bad), "{bad}");
        }
    }
}
