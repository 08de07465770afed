//! The Lookup Service's rules (seeds/003 chapter 2): which endpoints this server registers, as
//! table 2-2 names them, and what a `LookupServiceRegistrationFilter` matches. Clients call it
//! before they log in, so nothing here needs a caller.
//!
//! The registrations are this server's own and are derived, not stored: the node id is the
//! server's persisted instance uuid ([`crate::SERVER_UUID_KEY`]) and the URLs name the address
//! clients should use ([`ExternalAddress`]), never the address the listener is bound to.
use std::net::IpAddr;

use crate::{Core, CoreError};

/// The site every registration belongs to (a vCenter's default SSO site).
pub const SITE_ID: &str = "default-first-site";
/// The service attribute that names a vCenter Server instance (the seed finds node ids by it).
pub const INSTANCE_NAME_ATTRIBUTE: &str = "com.vmware.vim.vcenter.instanceName";
/// The product namespace of the vCenter services of table 2-2.
pub const PRODUCT_CIS: &str = "com.vmware.cis";
/// The longest service id `Get` looks up (ids are uuids with a suffix); a longer one is refused
/// rather than echoed back in a not-found fault.
pub const MAX_SERVICE_ID_CHARS: usize = 256;

/// The address clients reach this server at: a DNS name or an IP address, and the port when it
/// is not the main listener's. URLs leave out `:443`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalAddress {
    pub host: String,
    pub port: Option<u16>,
}

impl ExternalAddress {
    /// `host`, `host:port`, an IPv4 address or a bracketed IPv6 address (`[::1]:8443`; a bare
    /// IPv6 address has no port). A wildcard address is refused: clients cannot connect to it.
    pub fn parse(s: &str) -> Result<ExternalAddress, CoreError> {
        let bad = |reason: &str| CoreError::invalid("external_address", reason.to_string());
        let s = s.trim();
        if s.is_empty() {
            return Err(bad("must not be empty"));
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (h, after) = rest
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 address opened with [ must close with ]"))?;
            match after {
                "" => (h, None),
                p => (
                    h,
                    Some(
                        p.strip_prefix(':')
                            .ok_or_else(|| bad("expected :PORT after the IPv6 address"))?,
                    ),
                ),
            }
        } else if s.parse::<std::net::Ipv6Addr>().is_ok() {
            (s, None)
        } else {
            match s.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (s, None),
            }
        };
        let port = match port {
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| bad(&format!("'{p}' is not a port in 1..=65535")))?,
            ),
            None => None,
        };
        match host.parse::<IpAddr>() {
            Ok(ip) if ip.is_unspecified() => Err(bad(&format!(
                "{ip} is a wildcard address: name the host name or address clients connect to"
            ))),
            Ok(ip) => Ok(ExternalAddress {
                host: ip.to_string(),
                port,
            }),
            Err(_) if crate::agent_door::is_dns_name(host) => Ok(ExternalAddress {
                host: host.to_ascii_lowercase(),
                port,
            }),
            Err(_) => Err(bad(&format!(
                "'{host}' is neither a DNS host name nor an IP address"
            ))),
        }
    }

    /// The address with `port` where none was given.
    pub fn with_default_port(&self, port: u16) -> ExternalAddress {
        ExternalAddress {
            host: self.host.clone(),
            port: self.port.or(Some(port)),
        }
    }

    /// `https://host[:port]` (IPv6 bracketed, `:443` left out).
    pub fn https_origin(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            None | Some(443) => format!("https://{host}"),
            Some(p) => format!("https://{host}:{p}"),
        }
    }
}

/// What the registrations advertise: where clients connect and the certificate they will meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertised {
    pub address: ExternalAddress,
    /// The server certificate, base64 DER (the `sslTrust` of every endpoint); empty if unknown.
    pub ssl_trust: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceType {
    pub product: String,
    pub type_: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointType {
    pub protocol: String,
    pub type_: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub endpoint_type: EndpointType,
    pub ssl_trust: Vec<String>,
    pub attributes: Vec<Attribute>,
}

/// One registered service (`LookupServiceRegistrationInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub service_id: String,
    pub site_id: String,
    pub node_id: String,
    pub owner_id: String,
    pub service_type: ServiceType,
    pub service_version: String,
    pub endpoints: Vec<Endpoint>,
    pub attributes: Vec<Attribute>,
    pub name: String,
    pub description: String,
}

/// A `LookupServiceRegistrationFilter`: every field set must match (an AND); an unset or empty
/// field matches anything, so an empty filter lists every registration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationFilter {
    pub site_id: Option<String>,
    pub node_id: Option<String>,
    pub service_type: Option<ServiceTypeFilter>,
    pub endpoint_type: Option<EndpointTypeFilter>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceTypeFilter {
    pub product: Option<String>,
    pub type_: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointTypeFilter {
    pub protocol: Option<String>,
    pub type_: Option<String>,
}

/// An unset or empty filter value matches anything.
fn field_matches(want: &Option<String>, have: &str) -> bool {
    match want.as_deref() {
        None | Some("") => true,
        Some(w) => w == have,
    }
}

impl EndpointTypeFilter {
    fn matches(&self, e: &EndpointType) -> bool {
        field_matches(&self.protocol, &e.protocol) && field_matches(&self.type_, &e.type_)
    }
}

impl RegistrationFilter {
    /// The registration as the filter lets it through, or `None`. With an endpoint type set, a
    /// registration matches when one of its endpoints does, and only those endpoints are kept:
    /// the seed's clients take `serviceEndpoints[0]` as the endpoint they asked for.
    pub fn apply(&self, r: &Registration) -> Option<Registration> {
        if !field_matches(&self.site_id, &r.site_id) || !field_matches(&self.node_id, &r.node_id) {
            return None;
        }
        if let Some(st) = &self.service_type {
            if !field_matches(&st.product, &r.service_type.product)
                || !field_matches(&st.type_, &r.service_type.type_)
            {
                return None;
            }
        }
        let mut r = r.clone();
        if let Some(et) = &self.endpoint_type {
            r.endpoints.retain(|e| et.matches(&e.endpoint_type));
            if r.endpoints.is_empty() {
                return None;
            }
        }
        Some(r)
    }
}

/// The service id of the vSphere Automation registration (the vCenter Server's is the instance
/// uuid itself, as `ServiceContent.about.instanceUuid` reads).
fn vapi_service_id(node_id: &str) -> String {
    format!("{node_id}:cs.vapi")
}

/// This server's registrations, as table 2-2 gives them, with the security token service as
/// vCenter registers it (`cs.identity`, endpoint type `wsTrust`).
pub fn registrations(node_id: &str, advertised: &Advertised) -> Vec<Registration> {
    let origin = advertised.address.https_origin();
    let endpoint = |path: &str, protocol: &str, type_: &str| Endpoint {
        url: format!("{origin}{path}"),
        endpoint_type: EndpointType {
            protocol: protocol.into(),
            type_: type_.into(),
        },
        ssl_trust: advertised.ssl_trust.clone(),
        attributes: vec![],
    };
    let version = env!("CARGO_PKG_VERSION").to_string();
    vec![
        Registration {
            service_id: node_id.to_string(),
            site_id: SITE_ID.into(),
            node_id: node_id.into(),
            owner_id: "ferrocenter".into(),
            service_type: ServiceType {
                product: PRODUCT_CIS.into(),
                type_: "vcenterserver".into(),
            },
            service_version: "8.0.3.0".into(),
            endpoints: vec![endpoint("/sdk", "vmomi", "com.vmware.vim")],
            attributes: vec![Attribute {
                key: INSTANCE_NAME_ATTRIBUTE.into(),
                value: advertised.address.host.clone(),
            }],
            name: "vCenter Server".into(),
            description: format!("ferrocenter {version}: vim25 (SOAP and VI/JSON)"),
        },
        Registration {
            service_id: vapi_service_id(node_id),
            site_id: SITE_ID.into(),
            node_id: node_id.into(),
            owner_id: "ferrocenter".into(),
            service_type: ServiceType {
                product: PRODUCT_CIS.into(),
                type_: "cs.vapi".into(),
            },
            service_version: "2.0".into(),
            endpoints: vec![endpoint(
                "/api",
                "vapi.json.https.public",
                "com.vmware.vapi.endpoint",
            )],
            attributes: vec![],
            name: "vSphere Automation".into(),
            description: format!("ferrocenter {version}: the vSphere Automation API"),
        },
        Registration {
            service_id: format!("{node_id}:cs.identity"),
            site_id: SITE_ID.into(),
            node_id: node_id.into(),
            owner_id: "ferrocenter".into(),
            service_type: ServiceType {
                product: PRODUCT_CIS.into(),
                type_: "cs.identity".into(),
            },
            service_version: "2.0".into(),
            endpoints: vec![endpoint(
                "/sts/STSService",
                "wsTrust",
                "com.vmware.cis.cs.identity.sso",
            )],
            attributes: vec![],
            name: "Security Token Service".into(),
            description: format!(
                "ferrocenter {version}: the SSO domain's security token service (WS-Trust 1.3)"
            ),
        },
    ]
}

impl Core {
    /// `List`: this server's registrations that `filter` lets through (all when it is absent).
    pub async fn lookup_list(
        &self,
        advertised: &Advertised,
        filter: Option<&RegistrationFilter>,
    ) -> Result<Vec<Registration>, CoreError> {
        let node_id = self.server_uuid().await?;
        let all = registrations(&node_id, advertised);
        Ok(match filter {
            None => all,
            Some(f) => all.iter().filter_map(|r| f.apply(r)).collect(),
        })
    }

    /// `Get`: one registration by service id; an unknown id is `NotFound` naming it.
    pub async fn lookup_get(
        &self,
        advertised: &Advertised,
        service_id: &str,
    ) -> Result<Registration, CoreError> {
        if service_id.chars().count() > MAX_SERVICE_ID_CHARS {
            return Err(CoreError::invalid(
                "serviceId",
                format!("is longer than {MAX_SERVICE_ID_CHARS} characters"),
            ));
        }
        let node_id = self.server_uuid().await?;
        registrations(&node_id, advertised)
            .into_iter()
            .find(|r| r.service_id == service_id)
            .ok_or_else(|| CoreError::not_found("service registration", service_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advertised() -> Advertised {
        Advertised {
            address: ExternalAddress::parse("vc.example.com").unwrap(),
            ssl_trust: vec!["MIIB".into()],
        }
    }

    fn filter(product: &str, type_: &str, protocol: &str, ep_type: &str) -> RegistrationFilter {
        let s = |v: &str| (!v.is_empty()).then(|| v.to_string());
        RegistrationFilter {
            service_type: Some(ServiceTypeFilter {
                product: s(product),
                type_: s(type_),
            }),
            endpoint_type: Some(EndpointTypeFilter {
                protocol: s(protocol),
                type_: s(ep_type),
            }),
            ..Default::default()
        }
    }

    fn list(f: &RegistrationFilter) -> Vec<Registration> {
        registrations("node-1", &advertised())
            .iter()
            .filter_map(|r| f.apply(r))
            .collect()
    }

    #[test]
    fn table_2_2_filters_find_one_registration_each() {
        let vapi = list(&filter(
            "com.vmware.cis",
            "cs.vapi",
            "vapi.json.https.public",
            "com.vmware.vapi.endpoint",
        ));
        assert_eq!(vapi.len(), 1);
        assert_eq!(vapi[0].endpoints[0].url, "https://vc.example.com/api");
        assert_eq!(vapi[0].node_id, "node-1");
        let vim = list(&filter(
            "com.vmware.cis",
            "vcenterserver",
            "vmomi",
            "com.vmware.vim",
        ));
        assert_eq!(vim.len(), 1);
        assert_eq!(vim[0].endpoints[0].url, "https://vc.example.com/sdk");
        assert_eq!(
            vim[0].attributes,
            vec![Attribute {
                key: INSTANCE_NAME_ATTRIBUTE.into(),
                value: "vc.example.com".into()
            }]
        );
        assert_eq!(vim[0].service_id, "node-1");
        let sso = list(&filter(
            "com.vmware.cis",
            "cs.identity",
            "wsTrust",
            "com.vmware.cis.cs.identity.sso",
        ));
        assert_eq!(sso.len(), 1);
        assert_eq!(
            sso[0].endpoints[0].url,
            "https://vc.example.com/sts/STSService"
        );
    }

    #[test]
    fn every_set_field_must_match_and_unset_fields_match_anything() {
        assert_eq!(list(&RegistrationFilter::default()).len(), 3);
        assert_eq!(list(&filter("com.vmware.cis", "", "", "")).len(), 3);
        assert_eq!(list(&filter("", "", "vmomi", "")).len(), 1);
        // One field wrong is enough to exclude: each field is part of the AND.
        assert!(list(&filter("com.vmware.cis", "cs.vapi", "vmomi", "")).is_empty());
        assert!(list(&filter("com.vmware.vim.sms", "cs.vapi", "", "")).is_empty());
        assert!(list(&filter("", "", "vapi.json.https.public", "com.vmware.vim")).is_empty());
        let node = |id: &str| RegistrationFilter {
            node_id: Some(id.into()),
            ..Default::default()
        };
        assert_eq!(list(&node("node-1")).len(), 3);
        assert!(list(&node("node-2")).is_empty());
        let site = |id: &str| RegistrationFilter {
            site_id: Some(id.into()),
            ..Default::default()
        };
        assert_eq!(list(&site(SITE_ID)).len(), 3);
        assert!(list(&site("elsewhere")).is_empty());
    }

    #[test]
    fn an_endpoint_type_filter_keeps_only_the_matching_endpoints() {
        let mut r = registrations("n", &advertised()).remove(0);
        r.endpoints.push(Endpoint {
            url: "https://vc.example.com/other".into(),
            endpoint_type: EndpointType {
                protocol: "https".into(),
                type_: "other".into(),
            },
            ssl_trust: vec![],
            attributes: vec![],
        });
        let kept = filter("", "", "https", "").apply(&r).unwrap();
        assert_eq!(kept.endpoints.len(), 1);
        assert_eq!(kept.endpoints[0].url, "https://vc.example.com/other");
        assert_eq!(
            RegistrationFilter::default()
                .apply(&r)
                .unwrap()
                .endpoints
                .len(),
            2
        );
    }

    #[test]
    fn external_addresses_parse_and_name_the_url() {
        let url = |s: &str| ExternalAddress::parse(s).unwrap().https_origin();
        assert_eq!(url("VC.Example.com"), "https://vc.example.com");
        assert_eq!(url("vc:443"), "https://vc");
        assert_eq!(url("10.0.0.5:8443"), "https://10.0.0.5:8443");
        assert_eq!(url("[fd00::5]:8443"), "https://[fd00::5]:8443");
        assert_eq!(url("fd00::5"), "https://[fd00::5]");
        assert_eq!(
            ExternalAddress::parse("vc")
                .unwrap()
                .with_default_port(9443)
                .https_origin(),
            "https://vc:9443"
        );
        for bad in [
            "", "0.0.0.0", "[::]:443", "vc:0", "vc:99999", "a_b", "vc:x", "[::1",
        ] {
            let e = ExternalAddress::parse(bad).unwrap_err().to_string();
            assert!(e.contains("external_address"), "{bad}: {e}");
        }
    }
}
