//! Syslog forwarding (`appliance.logging.forwarding`): up to three remote receivers
//! {hostname, port, protocol} that get every record the server writes to its own log, as
//! RFC 5424 messages. The receivers persist as one setting of the store and are handed to the
//! `LogForwarder` port at start ([`Core::load_log_forwarding`]) and on each change; the
//! adapter delivers without ever holding up a request.
//!
//! Protocols: the SDK's UDP, TCP and TLS, and RELP, which the management guide lists and the
//! SDK's enumeration lacks — accepted on every binding as a documented extension.
use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::auth::{Caller, Privilege};
use crate::ports::{ForwardCounters, LogForwarder};
use crate::{Core, CoreError};

const KEY: &str = "appliance.logging.forwarding";

/// The guide: "You can forward logs to up to three remote syslog servers".
pub const TARGETS_MAX: usize = 3;

/// The event a change records.
pub const CHANGED_EVENT: &str = "com.ferrocenter.appliance.logging.forwarding.changed";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tls,
    Udp,
    Tcp,
    /// Beyond the SDK's enumeration (the guide lists it).
    Relp,
}

impl Protocol {
    pub const ALL: [Protocol; 4] = [Protocol::Tls, Protocol::Udp, Protocol::Tcp, Protocol::Relp];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tls => "TLS",
            Protocol::Udp => "UDP",
            Protocol::Tcp => "TCP",
            Protocol::Relp => "RELP",
        }
    }

    pub fn parse(s: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// A receiver, validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ForwardTarget {
    pub hostname: String,
    pub port: u16,
    pub protocol: Protocol,
}

impl ForwardTarget {
    /// `host:port` (IPv6 literals bracketed), as messages name the receiver.
    pub fn address(&self) -> String {
        match self.hostname.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => format!("[{}]:{}", self.hostname, self.port),
            _ => format!("{}:{}", self.hostname, self.port),
        }
    }
}

/// A receiver as given by a caller, before the rules.
#[derive(Debug, Clone)]
pub struct ForwardTargetSpec {
    pub hostname: String,
    pub port: i64,
    pub protocol: String,
}

/// What a connection test found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    Up,
    /// Why not, naming the receiver's address.
    Down(String),
    /// UDP: nothing answers a datagram.
    Unknown,
}

/// One receiver's test result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionStatus {
    pub hostname: String,
    pub state: ConnectionState,
}

/// Checks every receiver, naming the first bad field (`cfg_list[1].port`).
pub fn validate(specs: Vec<ForwardTargetSpec>) -> Result<Vec<ForwardTarget>, CoreError> {
    if specs.len() > TARGETS_MAX {
        return Err(CoreError::invalid(
            "cfg_list",
            format!(
                "at most {TARGETS_MAX} syslog servers, {} given",
                specs.len()
            ),
        ));
    }
    let bad = |i: usize, f: &str, reason: String| {
        CoreError::invalid(format!("cfg_list[{i}].{f}"), reason)
    };
    let mut targets: Vec<ForwardTarget> = Vec::with_capacity(specs.len());
    for (i, s) in specs.into_iter().enumerate() {
        crate::validate::host_name(&format!("cfg_list[{i}].hostname"), &s.hostname)?;
        let port = crate::validate::port(&format!("cfg_list[{i}].port"), s.port)?;
        let protocol = Protocol::parse(&s.protocol).ok_or_else(|| {
            bad(
                i,
                "protocol",
                format!("'{}' is not one of TLS, UDP, TCP, RELP", s.protocol),
            )
        })?;
        let t = ForwardTarget {
            hostname: s.hostname,
            port,
            protocol,
        };
        if targets.contains(&t) {
            return Err(bad(
                i,
                "hostname",
                format!("{} over {} is listed twice", t.address(), protocol.as_str()),
            ));
        }
        targets.push(t);
    }
    Ok(targets)
}

/// The receiver port and the serialised changes.
pub struct LogForwardingState {
    forwarder: Arc<dyn LogForwarder>,
    writes: tokio::sync::Mutex<()>,
}

impl LogForwardingState {
    pub fn new(forwarder: Arc<dyn LogForwarder>) -> LogForwardingState {
        LogForwardingState {
            forwarder,
            writes: tokio::sync::Mutex::new(()),
        }
    }
}

impl Core {
    async fn read_log_forwarding(&self) -> Result<Vec<ForwardTarget>, CoreError> {
        match self.store.get_setting(KEY).await? {
            None => Ok(Vec::new()),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                CoreError::internal(format!("the stored setting {KEY} is unreadable: {e}"))
            }),
        }
    }

    /// Hands the stored receivers to the forwarder; called once at start.
    pub async fn load_log_forwarding(&self) -> Result<(), CoreError> {
        let targets = self.read_log_forwarding().await?;
        self.log_forwarding.forwarder.apply(&targets);
        Ok(())
    }

    /// The receivers configured.
    pub async fn log_forwarding(&self, caller: &Caller) -> Result<Vec<ForwardTarget>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        self.read_log_forwarding().await
    }

    /// Replaces the receivers (an empty list turns forwarding off). Refused whole, naming the
    /// field, when one is not valid.
    pub async fn set_log_forwarding(
        &self,
        caller: &Caller,
        specs: Vec<ForwardTargetSpec>,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let targets = validate(specs)?;
        let text = serde_json::to_string(&targets)
            .map_err(|e| CoreError::internal(format!("{KEY} could not be written: {e}")))?;
        let _one_at_a_time = self.log_forwarding.writes.lock().await;
        self.store.put_setting(KEY, &text).await?;
        self.log_forwarding.forwarder.apply(&targets);
        let listed = targets
            .iter()
            .map(|t| format!("{} {}", t.protocol.as_str(), t.address()))
            .collect::<Vec<_>>();
        tracing::info!(user = %caller.user, targets = %listed.join(", "), "syslog forwarding changed");
        self.record_event(
            CHANGED_EVENT,
            "appliance",
            "logging.forwarding",
            "syslog forwarding",
            &caller.user,
            if listed.is_empty() {
                "Syslog forwarding turned off".into()
            } else {
                format!("Syslog forwarding set to {}", listed.join(", "))
            },
            serde_json::to_value(&targets).unwrap_or_default(),
        )
        .await;
        Ok(())
    }

    /// Tests each configured receiver, in the order of `get`.
    pub async fn test_log_forwarding(
        &self,
        caller: &Caller,
        send_test_message: bool,
    ) -> Result<Vec<ConnectionStatus>, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let targets = self.read_log_forwarding().await?;
        let states = self
            .log_forwarding
            .forwarder
            .test(&targets, send_test_message)
            .await;
        Ok(targets
            .into_iter()
            .zip(states)
            .map(|(t, state)| ConnectionStatus {
                hostname: t.hostname,
                state,
            })
            .collect())
    }

    /// Delivery figures of the receivers in force, for the metrics (counts only).
    pub fn log_forwarding_counters(&self) -> Vec<ForwardCounters> {
        self.log_forwarding.forwarder.counters()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(h: &str, port: i64, p: &str) -> ForwardTargetSpec {
        ForwardTargetSpec {
            hostname: h.into(),
            port,
            protocol: p.into(),
        }
    }

    fn field_of(e: CoreError) -> String {
        match e {
            CoreError::InvalidArgument { field, .. } => field,
            other => panic!("not invalid_argument: {other:?}"),
        }
    }

    #[test]
    fn each_rule_names_its_field() {
        let ok = validate(vec![
            spec("10.0.0.1", 514, "UDP"),
            spec("logs.example.com", 6514, "TLS"),
            spec("::1", 2514, "RELP"),
        ])
        .unwrap();
        assert_eq!(ok[2].protocol, Protocol::Relp);
        assert_eq!(ok[2].address(), "[::1]:2514");
        let four = vec![
            spec("a", 1, "TCP"),
            spec("b", 1, "TCP"),
            spec("c", 1, "TCP"),
            spec("d", 1, "TCP"),
        ];
        assert_eq!(field_of(validate(four).unwrap_err()), "cfg_list");
        for (s, f) in [
            (spec("h", 0, "TCP"), "cfg_list[1].port"),
            (spec("h", 70000, "TCP"), "cfg_list[1].port"),
            (spec("h", 514, "SCTP"), "cfg_list[1].protocol"),
            (spec("bad host", 514, "TCP"), "cfg_list[1].hostname"),
            (spec("a", 514, "TCP"), "cfg_list[1].hostname"),
        ] {
            let e = validate(vec![spec("a", 514, "TCP"), s]).unwrap_err();
            assert_eq!(field_of(e), f);
        }
    }
}
