//! The inbound firewall (`appliance.networking.firewall.inbound`): an ordered list of rules
//! {address, prefix, policy, interface_name?} that every listener of the server consults for
//! each new connection, before the TLS handshake. The first rule whose network holds the
//! peer's address (and whose interface, when named, holds the connection's local address)
//! decides; no match accepts.
//!
//! Policies, as the management guide defines them for the appliance's own packet filter:
//! ACCEPT lets the connection in; IGNORE drops it without an answer; REJECT refuses it;
//! RETURN stops evaluating these rules and applies the defaults — ferrocenter has no
//! port-specific rules, so its default, accept. What a userspace server can do differs from a
//! packet filter, as the kernel has completed the TCP handshake before any rule is consulted:
//! IGNORE closes the accepted connection silently (FIN, nothing sent), REJECT resets it (RST).
//! Neither reaches the TLS handshake.
//!
//! The rules persist as one setting of the store, loaded at start ([`Core::load_firewall`]);
//! the listeners read a compiled copy that a change swaps whole, so a connection sees either
//! the old rules or the new ones.
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::auth::{Caller, Privilege};
use crate::{Core, CoreError};

const KEY: &str = "appliance.firewall.inbound";

/// The longest interface name Linux allows (IFNAMSIZ less the terminating NUL).
pub const INTERFACE_NAME_MAX_CHARS: usize = 15;
/// At most this many rules; more is a mistake, not a policy.
pub const RULES_MAX: usize = 1024;
/// The widest prefix of each family.
pub const IPV4_PREFIX_MAX: u32 = 32;
pub const IPV6_PREFIX_MAX: u32 = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Policy {
    Ignore,
    Accept,
    Reject,
    Return,
}

impl Policy {
    pub const ALL: [Policy; 4] = [
        Policy::Ignore,
        Policy::Accept,
        Policy::Reject,
        Policy::Return,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Ignore => "IGNORE",
            Policy::Accept => "ACCEPT",
            Policy::Reject => "REJECT",
            Policy::Return => "RETURN",
        }
    }

    pub fn parse(s: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// One rule as given (and as answered by `get`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallRule {
    pub address: String,
    pub prefix: i64,
    pub policy: Policy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_name: Option<String>,
}

/// What a listener does with a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// Close without a word.
    Ignore,
    /// Refuse (reset).
    Reject,
}

/// Which interface holds a local address (the machine's; `None` when not known).
pub type InterfaceOf<'a> = &'a dyn Fn(IpAddr) -> Option<String>;

#[derive(Debug, Clone)]
struct Compiled {
    /// The network, as an IPv6 address (IPv4 as IPv4-mapped), masked.
    net: u128,
    mask: u128,
    /// An IPv4 rule (only IPv4 peers match it).
    v4: bool,
    /// An IPv6 rule inside the IPv4-mapped range (`::ffff:0:0/96`), which IPv4 peers match.
    mapped: bool,
    policy: Policy,
    interface: Option<String>,
}

/// Validated rules, ready for the accept path.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<FirewallRule>,
    compiled: Vec<Compiled>,
}

/// The address as 128 bits (IPv4 as IPv4-mapped) and whether it is IPv4.
fn bits(ip: IpAddr) -> (u128, bool) {
    match ip {
        IpAddr::V4(v4) => (u128::from(v4.to_ipv6_mapped()), true),
        IpAddr::V6(v6) => (u128::from(v6), false),
    }
}

fn mask(prefix: u32, v4: bool) -> u128 {
    // An IPv4 network lives in the last 32 bits of its mapped form.
    let len = if v4 { 96 + prefix } else { prefix };
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    }
}

fn invalid(i: usize, field: &str, reason: impl Into<String>) -> CoreError {
    CoreError::invalid(format!("rules[{i}].{field}"), reason)
}

impl RuleSet {
    /// Checks every rule, naming the first bad field (`rules[2].prefix`).
    pub fn compile(rules: Vec<FirewallRule>) -> Result<RuleSet, CoreError> {
        if rules.len() > RULES_MAX {
            return Err(CoreError::invalid(
                "rules",
                format!("at most {RULES_MAX} rules"),
            ));
        }
        let mut compiled = Vec::with_capacity(rules.len());
        for (i, r) in rules.iter().enumerate() {
            let ip: IpAddr = r.address.parse().map_err(|_| {
                invalid(
                    i,
                    "address",
                    format!("'{}' is not an IPv4 or IPv6 address", r.address),
                )
            })?;
            let (addr, v4) = bits(ip);
            let max = if v4 { IPV4_PREFIX_MAX } else { IPV6_PREFIX_MAX };
            let prefix = u32::try_from(r.prefix)
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| {
                    invalid(
                        i,
                        "prefix",
                        format!(
                            "{} is not a prefix length of an {} address (0 to {max})",
                            r.prefix,
                            if v4 { "IPv4" } else { "IPv6" }
                        ),
                    )
                })?;
            if let Some(name) = &r.interface_name {
                interface_name(name).map_err(|reason| invalid(i, "interface_name", reason))?;
            }
            let m = mask(prefix, v4);
            compiled.push(Compiled {
                net: addr & m,
                mask: m,
                v4,
                mapped: !v4 && prefix >= 96 && (addr >> 32) == 0xffff,
                policy: r.policy,
                interface: r
                    .interface_name
                    .clone()
                    .filter(|n| !all_interfaces(Some(n))),
            });
        }
        Ok(RuleSet { rules, compiled })
    }

    pub fn rules(&self) -> &[FirewallRule] {
        &self.rules
    }

    /// The verdict on a connection from `peer` to `local`, and the index of the rule that gave
    /// it (`None`: no rule matched). The first matching rule decides.
    pub fn verdict(
        &self,
        peer: IpAddr,
        local: Option<IpAddr>,
        interface_of: InterfaceOf<'_>,
    ) -> (Verdict, Option<usize>) {
        // A dual-stack socket shows an IPv4 peer as IPv4-mapped: it is the same peer.
        let (addr, peer_v4) = bits(peer.to_canonical());
        // Looked up once, and only if a rule names an interface.
        let mut local_interface: Option<Option<String>> = None;
        for (i, c) in self.compiled.iter().enumerate() {
            // As with iptables and ip6tables, each family has its own rules; an IPv6 rule
            // holds IPv4 peers only when written in the IPv4-mapped range.
            let family = c.v4 == peer_v4 || (peer_v4 && c.mapped);
            if !family || addr & c.mask != c.net {
                continue;
            }
            if let Some(want) = &c.interface {
                let have = local_interface.get_or_insert_with(|| local.and_then(interface_of));
                if have.as_deref() != Some(want.as_str()) {
                    continue;
                }
            }
            let v = match c.policy {
                Policy::Accept | Policy::Return => Verdict::Accept,
                Policy::Ignore => Verdict::Ignore,
                Policy::Reject => Verdict::Reject,
            };
            return (v, Some(i));
        }
        (Verdict::Accept, None)
    }
}

/// Whether a rule's `interface_name` means every interface: unset, empty (the SDK: "an empty
/// string indicates that the rule applies to all interfaces") or `*` (its example table).
fn all_interfaces(name: Option<&str>) -> bool {
    matches!(name, None | Some("" | "*"))
}

/// An interface name as `ip link` names them: 1 to 15 of the characters letters, digits, `_`,
/// `.` and `-` (Linux allows more, but nothing that an administrator types into a rule); or
/// empty or `*` for every interface.
pub fn interface_name(name: &str) -> Result<(), String> {
    if all_interfaces(Some(name)) {
        return Ok(());
    }
    let n = name.chars().count();
    if n > INTERFACE_NAME_MAX_CHARS {
        return Err(format!(
            "an interface name has at most {INTERFACE_NAME_MAX_CHARS} characters"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(format!(
            "'{name}' is not an interface name (letters, digits, '_', '.' and '-'; empty or '*' \
             for every interface)"
        ));
    }
    Ok(())
}

/// The pattern of [`interface_name`], for documents.
pub const INTERFACE_NAME_PATTERN: &str = r"^(|\*|[A-Za-z0-9_.-]{1,15})$";

/// The rules in force, swapped whole by a change.
#[derive(Default)]
pub struct FirewallState {
    current: RwLock<Arc<RuleSet>>,
    /// Serialises changes, so a refused change never races an accepted one.
    writes: tokio::sync::Mutex<()>,
}

/// Where a `set` call came from: the lock-out check asks whether the new rules would refuse it.
#[derive(Debug, Clone, Copy)]
pub struct CallOrigin {
    pub peer: Option<IpAddr>,
    pub local: Option<IpAddr>,
}

impl Core {
    /// Reads the stored rules into the accept path; called once at start, before listening.
    pub async fn load_firewall(&self) -> Result<(), CoreError> {
        let rules = self.read_firewall().await?;
        let set = RuleSet::compile(rules).map_err(|e| {
            CoreError::internal(format!("the stored setting {KEY} is not valid: {e}"))
        })?;
        *self.firewall.current.write() = Arc::new(set);
        Ok(())
    }

    async fn read_firewall(&self) -> Result<Vec<FirewallRule>, CoreError> {
        match self.store.get_setting(KEY).await? {
            None => Ok(Vec::new()),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                CoreError::internal(format!("the stored setting {KEY} is unreadable: {e}"))
            }),
        }
    }

    /// The rules in force, for the accept path (no store access, no lock held after).
    pub fn firewall_rules(&self) -> Arc<RuleSet> {
        self.firewall.current.read().clone()
    }

    /// The verdict on a new connection, with the machine's interfaces.
    pub fn firewall_verdict(&self, peer: IpAddr, local: Option<IpAddr>) -> Verdict {
        let probe = self.machine.probe.clone();
        self.firewall_rules()
            .verdict(peer, local, &|ip| probe.interface_of(ip))
            .0
    }

    pub async fn firewall_inbound(&self, caller: &Caller) -> Result<Vec<FirewallRule>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(self.firewall_rules().rules().to_vec())
    }

    /// Replaces the rules. Refused whole, naming the field or the rule, when a rule is not
    /// valid or when the new rules would refuse the caller's own connection.
    pub async fn set_firewall_inbound(
        &self,
        caller: &Caller,
        origin: CallOrigin,
        rules: Vec<FirewallRule>,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let set = RuleSet::compile(rules)?;
        if let Some(peer) = origin.peer {
            let probe = self.machine.probe.clone();
            if let (Verdict::Ignore | Verdict::Reject, Some(i)) =
                set.verdict(peer, origin.local, &|ip| probe.interface_of(ip))
            {
                let r = &set.rules()[i];
                return Err(CoreError::invalid_state(format!(
                    "rules[{i}] ({} {}/{}) would refuse your own address {peer} on the listener \
                     this call came through: the change would lock you out",
                    r.policy.as_str(),
                    r.address,
                    r.prefix
                )));
            }
        }
        let text = serde_json::to_string(set.rules())
            .map_err(|e| CoreError::internal(format!("{KEY} could not be written: {e}")))?;
        let _one_at_a_time = self.firewall.writes.lock().await;
        self.store.put_setting(KEY, &text).await?;
        *self.firewall.current.write() = Arc::new(set);
        tracing::info!(
            user = %caller.user,
            rules = self.firewall_rules().rules().len(),
            "inbound firewall rules replaced"
        );
        Ok(())
    }
}

/// An address with no interface, for callers that have none to look up.
pub fn no_interface(_: IpAddr) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(address: &str, prefix: i64, policy: Policy) -> FirewallRule {
        FirewallRule {
            address: address.into(),
            prefix,
            policy,
            interface_name: None,
        }
    }

    fn v(set: &RuleSet, peer: &str) -> (Verdict, Option<usize>) {
        set.verdict(peer.parse().unwrap(), None, &no_interface)
    }

    #[test]
    fn first_matching_rule_decides_and_no_match_accepts() {
        let set = RuleSet::compile(vec![
            rule("10.0.0.5", 32, Policy::Accept),
            rule("10.0.0.0", 8, Policy::Reject),
            rule("192.168.1.0", 24, Policy::Return),
            rule("192.168.0.0", 16, Policy::Ignore),
        ])
        .unwrap();
        assert_eq!(v(&set, "10.0.0.5"), (Verdict::Accept, Some(0)));
        assert_eq!(v(&set, "10.9.9.9"), (Verdict::Reject, Some(1)));
        assert_eq!(v(&set, "192.168.1.7"), (Verdict::Accept, Some(2)));
        assert_eq!(v(&set, "192.168.2.7"), (Verdict::Ignore, Some(3)));
        assert_eq!(v(&set, "172.16.0.1"), (Verdict::Accept, None));
        // An IPv4 peer seen by a dual-stack socket is the same peer.
        assert_eq!(v(&set, "::ffff:10.9.9.9"), (Verdict::Reject, Some(1)));
    }

    #[test]
    fn ipv6_rules_and_prefix_zero() {
        let set = RuleSet::compile(vec![
            rule("2001:db8::", 32, Policy::Reject),
            rule("::", 0, Policy::Ignore),
        ])
        .unwrap();
        assert_eq!(v(&set, "2001:db8::1"), (Verdict::Reject, Some(0)));
        assert_eq!(v(&set, "2001:db9::1"), (Verdict::Ignore, Some(1)));
        // ::/0 is every IPv6 address; IPv4 peers have rules of their own.
        assert_eq!(v(&set, "127.0.0.1"), (Verdict::Accept, None));
        let mapped = RuleSet::compile(vec![rule("::ffff:127.0.0.2", 128, Policy::Reject)]).unwrap();
        assert_eq!(v(&mapped, "127.0.0.2"), (Verdict::Reject, Some(0)));
        assert_eq!(v(&mapped, "127.0.0.1"), (Verdict::Accept, None));
        let v4_all = RuleSet::compile(vec![rule("0.0.0.0", 0, Policy::Reject)]).unwrap();
        assert_eq!(v(&v4_all, "8.8.8.8"), (Verdict::Reject, Some(0)));
        assert_eq!(v(&v4_all, "2001:db8::1"), (Verdict::Accept, None));
    }

    #[test]
    fn bad_fields_are_named() {
        let err = |rules| RuleSet::compile(rules).unwrap_err().to_string();
        let e = err(vec![
            rule("10.0.0.1", 32, Policy::Accept),
            rule("10.0.0.2", 32, Policy::Accept),
            rule("10.0.0.3", 33, Policy::Accept),
        ]);
        assert!(e.contains("rules[2].prefix"), "{e}");
        assert!(err(vec![rule("10.0.0.300", 8, Policy::Accept)]).contains("rules[0].address"));
        assert!(err(vec![rule("fe80::", 129, Policy::Accept)]).contains("rules[0].prefix"));
        assert!(err(vec![rule("fe80::", -1, Policy::Accept)]).contains("rules[0].prefix"));
        assert!(RuleSet::compile(vec![rule("fe80::", 128, Policy::Accept)]).is_ok());
        let mut named = rule("10.0.0.1", 32, Policy::Accept);
        named.interface_name = Some("eth 0".into());
        assert!(err(vec![named.clone()]).contains("rules[0].interface_name"));
        // Empty and `*` name every interface.
        for all in ["", "*"] {
            named.interface_name = Some(all.into());
            let set = RuleSet::compile(vec![named.clone()]).unwrap();
            assert_eq!(v(&set, "10.0.0.1"), (Verdict::Accept, Some(0)));
        }
    }

    #[test]
    fn an_interface_rule_matches_only_on_that_interface() {
        let mut r = rule("0.0.0.0", 0, Policy::Reject);
        r.interface_name = Some("eth0".into());
        let set = RuleSet::compile(vec![r]).unwrap();
        let lookup =
            |ip: IpAddr| (ip == "192.0.2.1".parse::<IpAddr>().unwrap()).then(|| "eth0".to_string());
        let peer = "198.51.100.7".parse().unwrap();
        assert_eq!(
            set.verdict(peer, Some("192.0.2.1".parse().unwrap()), &lookup)
                .0,
            Verdict::Reject
        );
        assert_eq!(
            set.verdict(peer, Some("127.0.0.1".parse().unwrap()), &lookup)
                .0,
            Verdict::Accept
        );
    }
}
