//! Where to connect: the host-name forms HostConnect accepts (seeds/002) —
//! `https://host:port/sdk`, `https://host/sdk`, `host:port`, `host`, IPv4 and IPv6 — with the
//! `https://` and `/sdk` parts optional and port 443 when none is given.
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::ClientError;

/// What answers at the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostType {
    /// A ferrocenter server (VI/JSON under `/sdk`), port 443 by default.
    ManagementServer,
    /// A ferrocenter host agent directly (its API under `/api/v1`), port 8444 by default.
    HostAgent,
}

impl HostType {
    pub fn default_port(self) -> u16 {
        match self {
            HostType::ManagementServer => 443,
            HostType::HostAgent => 8444,
        }
    }

    pub fn default_path(self) -> &'static str {
        match self {
            HostType::ManagementServer => "/sdk",
            HostType::HostAgent => "/api/v1",
        }
    }
}

/// A parsed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: String,
    /// A DNS name, an IPv4 address, or an IPv6 address (without brackets).
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Target {
    pub fn parse(input: &str, host_type: HostType) -> Result<Target, ClientError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ClientError::invalid("host name", "is empty"));
        }
        let (scheme, rest) = match s.split_once("://") {
            Some((sch, rest)) => {
                let sch = sch.to_ascii_lowercase();
                if sch != "https" && sch != "http" {
                    return Err(ClientError::invalid(
                        "host name",
                        format!("scheme '{sch}' is not https or http"),
                    ));
                }
                (sch, rest)
            }
            None => ("https".to_string(), s),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let path = match path.trim_end_matches('/') {
            "" => host_type.default_path().to_string(),
            p => p.to_string(),
        };
        let (host, port) = split_authority(authority)?;
        let port =
            match port {
                Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                    ClientError::invalid("port", format!("'{p}' is not 1 to 65535"))
                })?,
                None => host_type.default_port(),
            };
        Ok(Target {
            scheme,
            host,
            port,
            path,
        })
    }

    /// `https://host:port/path`, with IPv6 addresses in brackets.
    pub fn url(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{}://{host}:{}{}", self.scheme, self.port, self.path)
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address.
fn split_authority(a: &str) -> Result<(String, Option<&str>), ClientError> {
    if a.is_empty() {
        return Err(ClientError::invalid("host name", "has no host"));
    }
    if let Some(rest) = a.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| ClientError::invalid("host name", "'[' without ']'"))?;
        h.parse::<Ipv6Addr>().map_err(|_| {
            ClientError::invalid("host name", format!("'{h}' is not an IPv6 address"))
        })?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| ClientError::invalid("host name", "junk after ']'"))?,
            ),
        };
        return Ok((h.to_string(), port));
    }
    // Two or more colons without brackets: a bare IPv6 address (no port possible).
    if a.matches(':').count() >= 2 {
        a.parse::<Ipv6Addr>().map_err(|_| {
            ClientError::invalid("host name", format!("'{a}' is not an IPv6 address"))
        })?;
        return Ok((a.to_string(), None));
    }
    let (h, port) = match a.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (a, None),
    };
    if h.parse::<Ipv4Addr>().is_err() && !ferrocenter_agent_client::is_dns_name(h) {
        return Err(ClientError::invalid(
            "host name",
            format!("'{h}' is neither an IP address nor a DNS name"),
        ));
    }
    Ok((h.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    /// Input, host type → scheme, host, port, path.
    type Case<'a> = (&'a str, HostType, (&'a str, &'a str, u16, &'a str));

    #[test]
    fn every_host_name_form() {
        use HostType::*;
        let cases: &[Case] = &[
            (
                "https://vc.example.com:8443/sdk",
                ManagementServer,
                ("https", "vc.example.com", 8443, "/sdk"),
            ),
            (
                "https://vc.example.com/sdk",
                ManagementServer,
                ("https", "vc.example.com", 443, "/sdk"),
            ),
            (
                "https://vc.example.com",
                ManagementServer,
                ("https", "vc.example.com", 443, "/sdk"),
            ),
            (
                "https://vc.example.com/",
                ManagementServer,
                ("https", "vc.example.com", 443, "/sdk"),
            ),
            (
                "vc.example.com:8443",
                ManagementServer,
                ("https", "vc.example.com", 8443, "/sdk"),
            ),
            (
                "vc.example.com",
                ManagementServer,
                ("https", "vc.example.com", 443, "/sdk"),
            ),
            (
                "VC.Example.COM",
                ManagementServer,
                ("https", "vc.example.com", 443, "/sdk"),
            ),
            (
                "vc.example.com/sdk",
                ManagementServer,
                ("https", "vc.example.com", 443, "/sdk"),
            ),
            (
                "10.0.0.5",
                ManagementServer,
                ("https", "10.0.0.5", 443, "/sdk"),
            ),
            (
                "10.0.0.5:8443",
                ManagementServer,
                ("https", "10.0.0.5", 8443, "/sdk"),
            ),
            (
                "https://10.0.0.5:8443/sdk",
                ManagementServer,
                ("https", "10.0.0.5", 8443, "/sdk"),
            ),
            ("::1", ManagementServer, ("https", "::1", 443, "/sdk")),
            (
                "fe80::1:2",
                ManagementServer,
                ("https", "fe80::1:2", 443, "/sdk"),
            ),
            ("[::1]", ManagementServer, ("https", "::1", 443, "/sdk")),
            (
                "[::1]:8443",
                ManagementServer,
                ("https", "::1", 8443, "/sdk"),
            ),
            (
                "https://[2001:db8::7]:8443/sdk",
                ManagementServer,
                ("https", "2001:db8::7", 8443, "/sdk"),
            ),
            (
                "https://[2001:db8::7]/sdk",
                ManagementServer,
                ("https", "2001:db8::7", 443, "/sdk"),
            ),
            (
                "HTTPS://vc/sdk",
                ManagementServer,
                ("https", "vc", 443, "/sdk"),
            ),
            (
                "http://vc:8080/sdk",
                ManagementServer,
                ("http", "vc", 8080, "/sdk"),
            ),
            ("esx-01", HostAgent, ("https", "esx-01", 8444, "/api/v1")),
            (
                "https://esx-01:9000",
                HostAgent,
                ("https", "esx-01", 9000, "/api/v1"),
            ),
        ];
        for (input, ty, (scheme, host, port, path)) in cases {
            let t = Target::parse(input, *ty).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(
                (t.scheme.as_str(), t.host.as_str(), t.port, t.path.as_str()),
                (*scheme, *host, *port, *path),
                "{input}"
            );
        }
        assert_eq!(
            Target::parse("[::1]:8443", ManagementServer).unwrap().url(),
            "https://[::1]:8443/sdk"
        );
    }

    #[test]
    fn unusable_names_are_invalid_arguments() {
        for bad in [
            "",
            "ftp://vc/sdk",
            "vc:0",
            "vc:99999",
            "vc:port",
            "bad host",
            "-vc",
            "[::1",
            "[vc]:443",
            "[::1]x",
            "1:2:3",
            "https:///sdk",
        ] {
            let e = Target::parse(bad, HostType::ManagementServer).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidArgument, "{bad}: {e}");
        }
    }
}
