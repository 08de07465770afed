//! `upgrade.upgrade_spec`, read from its JSON form with every problem named by its field.
//!
//! What ferrocenter makes of the SDK's fields: `source_appliance` is the server moved from
//! (its main listener; `ssl_thumbprint`, or `ssl_certificate` whose thumbprint is taken, is
//! required: the source is never trusted on first use, and `ssl_verify` false is refused);
//! `source_location` (vCenter's ESXi or vCenter hosting the source VM) is required by the SDK
//! and accepted, but ferrocenter does not drive the source's machine, so it is not used;
//! `ssh_verify`/`ssh_thumbprint` and `export_directory` are accepted and not used (no SSH, and
//! the source exports into its own work directory); `psc` and `replicated_partner_hostname`
//! are refused (ferrocenter has no external PSC and shares no SSO domain).
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::deployment::spec_problems::{reason, Problem, SpecReader};
use crate::validate;

/// `history_migration_option`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DataSet {
    EventsTasks,
    All,
}

impl DataSet {
    pub fn as_str(self) -> &'static str {
        match self {
            DataSet::EventsTasks => "EVENTS_TASKS",
            DataSet::All => "ALL",
        }
    }
}

/// `history_migration_spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub data_set: DataSet,
    pub defer_import: bool,
}

/// `upgrade.upgrade_spec`, read. The passwords are never stored nor shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeSpec {
    pub hostname: String,
    pub https_port: u16,
    /// Canonical `AB:CD:…`.
    pub ssl_thumbprint: String,
    pub sso_admin_username: String,
    #[serde(skip)]
    pub sso_admin_password: String,
    #[serde(skip)]
    pub root_password: String,
    /// `source_location`'s host name and user, kept only to be shown by `upgrade.get`.
    pub location_hostname: String,
    pub location_username: String,
    pub history: Option<History>,
    pub ceip_enabled: bool,
    pub auto_answer: bool,
}

const TOP: &[&str] = &[
    "source_appliance",
    "source_location",
    "history",
    "vcsa_embedded",
    "psc",
    "replicated_partner_hostname",
    "export_directory",
    "auto_answer",
    "skip_products_prechecks",
];
const SOURCE: &[&str] = &[
    "hostname",
    "https_port",
    "ssl_thumbprint",
    "ssl_certificate",
    "ssl_verify",
    "sso_admin_username",
    "sso_admin_password",
    "root_password",
    "ssh_verify",
    "ssh_thumbprint",
];
const LOCATION: &[&str] = &[
    "hostname",
    "https_port",
    "ssl_thumbprint",
    "ssl_certificate",
    "ssl_verify",
    "username",
    "password",
];
const HISTORY: &[&str] = &["data_set", "defer_import"];
const EMBEDDED: &[&str] = &["ceip_enabled"];

/// The main listener's port when the spec names none.
pub const DEFAULT_PORT: u16 = 443;

impl UpgradeSpec {
    /// Reads `spec` (its JSON form), naming every field that is wrong.
    pub fn parse(spec: &Value) -> Result<UpgradeSpec, Vec<Problem>> {
        let mut r = SpecReader::new("upgrade");
        if !r.top(spec, TOP) {
            return r.finish(|| unreachable!("a spec that is not an object has a problem"));
        }
        let auto_answer = r
            .boolean(spec, "auto_answer", "auto_answer")
            .unwrap_or(false);
        r.boolean(spec, "skip_products_prechecks", "skip_products_prechecks");
        r.string(spec, "export_directory", "export_directory", false);
        if SpecReader::given(spec, "psc") {
            r.problem(
                "psc",
                "ferrocenter has no external Platform Services Controller: upgrade an \
                 embedded deployment (vcsa_embedded)",
            );
        }
        if SpecReader::given(spec, "replicated_partner_hostname") {
            r.problem(
                "replicated_partner_hostname",
                "ferrocenter servers do not share SSO domains: there is no partner to join",
            );
        }

        let mut hostname = String::new();
        let mut https_port = DEFAULT_PORT;
        let mut thumbprint = String::new();
        let mut user = String::new();
        let mut password = String::new();
        let mut root_password = String::new();
        match r.object(spec, "source_appliance", SOURCE) {
            None => r.problem("source_appliance", "is required"),
            Some(s) => {
                let p = |k: &str| format!("source_appliance.{k}");
                if let Some(h) = r.string(s, "hostname", &p("hostname"), true) {
                    match validate::host_name(&p("hostname"), h.trim()) {
                        Ok(()) => hostname = h.trim().to_string(),
                        Err(e) => r.problem(&p("hostname"), reason(e)),
                    }
                }
                match s.get("https_port") {
                    None | Some(Value::Null) => {}
                    Some(v) => match v.as_i64() {
                        Some(n) => match validate::port(&p("https_port"), n) {
                            Ok(n) => https_port = n,
                            Err(e) => r.problem(&p("https_port"), reason(e)),
                        },
                        None => r.problem(&p("https_port"), "must be a port number"),
                    },
                }
                if r.boolean(s, "ssl_verify", &p("ssl_verify")) == Some(false) {
                    r.problem(
                        &p("ssl_verify"),
                        "ferrocenter always verifies the source's certificate: give its \
                         ssl_thumbprint",
                    );
                }
                let given = r.string(s, "ssl_thumbprint", &p("ssl_thumbprint"), false);
                let pem = r.string(s, "ssl_certificate", &p("ssl_certificate"), false);
                match (given, pem) {
                    (Some(t), _) => {
                        match validate::thumbprint(&p("ssl_thumbprint"), Some(t.as_str())) {
                            Ok(Some(t)) => thumbprint = t,
                            Ok(None) => r.problem(&p("ssl_thumbprint"), "is required"),
                            Err(e) => r.problem(&p("ssl_thumbprint"), reason(e)),
                        }
                    }
                    (None, Some(pem)) => {
                        match validate::certificate_thumbprint(&p("ssl_certificate"), &pem) {
                            Ok(t) => thumbprint = t,
                            Err(e) => r.problem(&p("ssl_certificate"), reason(e)),
                        }
                    }
                    (None, None) => r.problem(
                        &p("ssl_thumbprint"),
                        "is required: the SHA-256 thumbprint of the source's certificate (its \
                         start banner prints it), so that it is never trusted on first use",
                    ),
                }
                user = r
                    .string(s, "sso_admin_username", &p("sso_admin_username"), true)
                    .unwrap_or_default();
                password = r
                    .string(s, "sso_admin_password", &p("sso_admin_password"), true)
                    .unwrap_or_default();
                root_password = r
                    .string(s, "root_password", &p("root_password"), true)
                    .unwrap_or_default();
                r.boolean(s, "ssh_verify", &p("ssh_verify"));
                r.string(s, "ssh_thumbprint", &p("ssh_thumbprint"), false);
            }
        }

        let mut location_hostname = String::new();
        let mut location_username = String::new();
        match r.object(spec, "source_location", LOCATION) {
            None => r.problem("source_location", "is required"),
            Some(l) => {
                location_hostname = r
                    .string(l, "hostname", "source_location.hostname", true)
                    .unwrap_or_default();
                location_username = r
                    .string(l, "username", "source_location.username", true)
                    .unwrap_or_default();
                r.string(l, "password", "source_location.password", true);
            }
        }

        let history = match r.object(spec, "history", HISTORY) {
            None => None,
            Some(h) => {
                let data_set = match r.string(h, "data_set", "history.data_set", true).as_deref() {
                    Some("EVENTS_TASKS") => Some(DataSet::EventsTasks),
                    Some("ALL") => Some(DataSet::All),
                    Some(other) => {
                        r.problem(
                            "history.data_set",
                            format!("'{other}' is not EVENTS_TASKS or ALL"),
                        );
                        None
                    }
                    None => None,
                };
                let defer_import = r
                    .boolean(h, "defer_import", "history.defer_import")
                    .unwrap_or(false);
                data_set.map(|data_set| History {
                    data_set,
                    defer_import,
                })
            }
        };

        let ceip_enabled = match r.object(spec, "vcsa_embedded", EMBEDDED) {
            None => false,
            Some(e) => match r.boolean(e, "ceip_enabled", "vcsa_embedded.ceip_enabled") {
                Some(b) => b,
                None => {
                    if !SpecReader::given(e, "ceip_enabled") {
                        r.problem("vcsa_embedded.ceip_enabled", "is required");
                    }
                    false
                }
            },
        };

        r.finish(|| UpgradeSpec {
            hostname,
            https_port,
            ssl_thumbprint: thumbprint,
            sso_admin_username: user,
            sso_admin_password: password,
            root_password,
            location_hostname,
            location_username,
            history,
            ceip_enabled,
            auto_answer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TP: &str = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

    fn good() -> Value {
        json!({
            "source_appliance": {
                "hostname": "old.example.com", "ssl_thumbprint": TP.to_lowercase(),
                "sso_admin_username": "administrator@vsphere.local",
                "sso_admin_password": "x", "root_password": "y"
            },
            "source_location": {"hostname": "esx1", "username": "root", "password": "z"},
            "history": {"data_set": "ALL", "defer_import": true},
            "vcsa_embedded": {"ceip_enabled": false}
        })
    }

    #[test]
    fn a_good_spec_reads_with_defaults() {
        let s = UpgradeSpec::parse(&good()).unwrap();
        assert_eq!(s.https_port, 443);
        assert_eq!(s.ssl_thumbprint, TP);
        assert_eq!(
            s.history,
            Some(History {
                data_set: DataSet::All,
                defer_import: true
            })
        );
        assert!(!s.auto_answer);
        // Never serialised: the record keeps no password.
        let text = serde_json::to_string(&s).unwrap();
        assert!(
            !text.contains("\"x\"") && !text.contains("root_password"),
            "{text}"
        );
    }

    #[test]
    fn every_problem_is_named_by_its_field() {
        let mut v = good();
        v["source_appliance"]["ssl_thumbprint"] = json!(null);
        v["source_appliance"]["https_port"] = json!(70000);
        v["source_appliance"]["bogus"] = json!(1);
        v["history"]["data_set"] = json!("SOME");
        v["psc"] = json!({"ceip_enabled": true});
        v.as_object_mut().unwrap().remove("source_location");
        let fields: Vec<String> = UpgradeSpec::parse(&v)
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        for f in [
            "source_appliance.ssl_thumbprint",
            "source_appliance.https_port",
            "source_appliance.bogus",
            "history.data_set",
            "psc",
            "source_location",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} not in {fields:?}");
        }
    }
}
