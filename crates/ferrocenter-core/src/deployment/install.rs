//! Install stage 2 (`deployment.install`): check a spec, and set the server up from it as
//! steps with progress — the store (reuse or wipe another instance's data), the server
//! certificate (regenerate one that does not name this machine), the SSO domain with its
//! administrator and the groups of table 4-2, then the services (the main listener). The
//! questions on the way are the decisions an operator owns (`questions`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::auth::{validate_new_password, Caller, Privilege};
use crate::{Core, CoreError};

use super::questions::{Question, QuestionType};
use super::spec_problems::{field_error, invalid_spec, reason, Problem, SpecReader};
use super::steps::{Begin, Plan};
use super::{record, text, Notifications, Operation};

/// `install.install_spec`, read. The password is never stored nor shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSpec {
    pub sso_domain_name: String,
    #[serde(skip)]
    pub sso_admin_password: String,
    pub ceip_enabled: bool,
    pub auto_answer: bool,
}

/// `deployment.check_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInfo {
    pub ok: bool,
    pub result: Notifications,
}

/// The install's steps.
const PLAN: Plan = Plan {
    kind: "install",
    noun: "setup",
    title: "Set up",
    steps: &[
        ("validate", "the setup checks"),
        ("store", "the store"),
        ("certificate", "the server certificate"),
        ("sso", "the SSO domain"),
        ("services", "the services"),
    ],
    // Once the services start, the server is becoming set up: no turning back.
    no_return_from: "services",
};

/// Fields of each object of the spec; any other is refused by name.
const TOP: &[&str] = &["vcsa_embedded", "auto_answer"];
const EMBEDDED: &[&str] = &["standalone", "replicated", "ceip_enabled"];
const STANDALONE: &[&str] = &["sso_admin_password", "sso_domain_name"];

/// A DNS name of at least two labels, each 1–63 letters, digits or inner hyphens.
fn domain_problem(name: &str) -> Option<String> {
    let labels: Vec<&str> = name.split('.').collect();
    if name.len() > 253 || labels.len() < 2 {
        return Some(format!(
            "'{name}' is not a domain name of two labels or more (like vsphere.local)"
        ));
    }
    labels.iter().find_map(|l| {
        let ok = (1..=63).contains(&l.len())
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-');
        (!ok).then(|| {
            format!(
                "'{name}' is not a domain name: the label '{l}' must be 1 to 63 letters, digits \
                 or inner hyphens"
            )
        })
    })
}

impl InstallSpec {
    /// Reads `spec` (its JSON form), naming every field that is wrong.
    pub fn parse(spec: &Value) -> Result<InstallSpec, Vec<Problem>> {
        let mut r = SpecReader::new("install");
        if !r.top(spec, TOP) {
            return r.finish(|| unreachable!("a spec that is not an object has a problem"));
        }
        let auto_answer = r
            .boolean(spec, "auto_answer", "auto_answer")
            .unwrap_or(false);
        let mut ceip_enabled = false;
        let mut domain = crate::auth::DEFAULT_SSO_DOMAIN.to_string();
        let mut password = String::new();
        match r.object(spec, "vcsa_embedded", EMBEDDED) {
            None => r.problem("vcsa_embedded", "is required"),
            Some(embedded) => {
                ceip_enabled = r
                    .boolean(embedded, "ceip_enabled", "vcsa_embedded.ceip_enabled")
                    .unwrap_or(false);
                if !SpecReader::given(embedded, "ceip_enabled") {
                    r.problem("vcsa_embedded.ceip_enabled", "is required");
                }
                let replicated = SpecReader::given(embedded, "replicated");
                if replicated {
                    r.problem(
                        "vcsa_embedded.replicated",
                        "joining a partner's SSO domain is not supported: ferrocenter servers \
                         do not share SSO domains yet; set up a standalone domain",
                    );
                }
                let path = "vcsa_embedded.standalone";
                match r.object(embedded, path, STANDALONE) {
                    None if !replicated && !SpecReader::given(embedded, "standalone") => {
                        r.problem(path, "is required");
                    }
                    None => {}
                    Some(s) => {
                        let field = "vcsa_embedded.standalone.sso_domain_name";
                        if let Some(d) = r.string(s, "sso_domain_name", field, false) {
                            domain = d.trim().to_ascii_lowercase();
                            if let Some(why) = domain_problem(&domain) {
                                r.problem(field, why);
                            }
                        }
                        let field = "vcsa_embedded.standalone.sso_admin_password";
                        if let Some(p) = r.string(s, "sso_admin_password", field, true) {
                            if let Err(e) = validate_new_password("sso_admin_password", &p) {
                                r.problem(field, reason(e));
                            }
                            password = p;
                        }
                    }
                }
            }
        }
        r.finish(|| InstallSpec {
            sso_domain_name: domain,
            sso_admin_password: password,
            ceip_enabled,
            auto_answer,
        })
    }
}

impl Core {
    /// `install.check`: every problem of the spec as an error naming its field, and what the
    /// setup will ask. Changes nothing.
    pub async fn install_check(
        &self,
        caller: &Caller,
        spec: &Value,
    ) -> Result<CheckInfo, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        self.require_awaiting_setup()?;
        let now = self.clock.now();
        let mut result = Notifications::default();
        if let Err(problems) = InstallSpec::parse(spec) {
            result.errors = problems
                .iter()
                .map(|p| field_error("install", p, now))
                .collect();
        }
        if self.auth.is_initialised().await? {
            result.add_warning(
                "com.ferrocenter.deployment.install.store_in_use",
                "The store already holds another instance's data: the setup will ask whether \
                 to reuse or wipe it (question store.reuse).",
                now,
            );
        }
        if let Some(why) = self.certificate_mismatch() {
            result.add_warning(
                "com.ferrocenter.deployment.install.certificate_name",
                format!(
                    "{why}: the setup will ask whether to regenerate it (question \
                     certificate.regenerate)."
                ),
                now,
            );
        }
        Ok(CheckInfo {
            ok: result.errors.is_empty(),
            result,
        })
    }

    /// `install.get`: the spec of the install that ran or runs, its password withheld.
    pub async fn install_get(&self, caller: &Caller) -> Result<InstallSpec, CoreError> {
        let d = self.deployment_get(caller).await?;
        match (d.operation, d.install_spec) {
            (Some(Operation::Install), Some(spec)) => Ok(spec),
            _ => Err(CoreError::invalid_state(format!(
                "no install has run: the deployment is {}",
                d.state.as_str()
            ))),
        }
    }

    /// `install.start`: checks the spec, records the setup as running and runs it in the
    /// background; `get` follows it.
    pub async fn install_start(&self, caller: &Caller, spec: &Value) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let spec = InstallSpec::parse(spec).map_err(|p| invalid_spec(&p))?;
        self.require_awaiting_setup()?;
        let kept_data = self.auth.is_initialised().await?;
        let cancel = self
            .begin_setup(
                &PLAN,
                Begin {
                    operation: Operation::Install,
                    description: text(
                        "com.vmware.vcenter.deploy.task.description.op.install",
                        "Install ferrocenter.",
                        vec![],
                    ),
                    user: caller.user.clone(),
                    install_spec: Some(spec.clone()),
                    kept_data,
                },
            )
            .await?;
        tracing::info!(user = %caller.user, domain = %spec.sso_domain_name, auto_answer = spec.auto_answer, "setup started");
        let core = self.self_arc();
        tokio::spawn(async move {
            let outcome = core.run_install(&spec, &cancel).await;
            core.finish_setup(&PLAN, &outcome).await;
        });
        Ok(())
    }

    /// `install.cancel`: stops the setup at its next step (or question); it ends FAILED.
    pub async fn install_cancel(&self, caller: &Caller) -> Result<(), CoreError> {
        self.cancel_setup(caller, Operation::Install, &PLAN).await
    }

    /// Why the server certificate does not suit this machine, if it does not.
    fn certificate_mismatch(&self) -> Option<String> {
        let host = self.deployment.host();
        let name = host.host_name()?;
        let names = host.certificate_names().ok()?;
        (!names.iter().any(|n| n.eq_ignore_ascii_case(&name))).then(|| {
            format!(
                "The server certificate names {} but not this machine's name {name}",
                if names.is_empty() {
                    "nothing".to_string()
                } else {
                    names.join(", ")
                }
            )
        })
    }

    async fn run_install(
        &self,
        spec: &InstallSpec,
        cancel: &CancellationToken,
    ) -> Result<(), CoreError> {
        let now = || self.clock.now();
        // validate: what can have changed since the spec was checked at start.
        self.begin_step(&PLAN, "validate", cancel).await?;
        validate_new_password("sso_admin_password", &spec.sso_admin_password)?;
        self.end_step("validate", Notifications::default()).await?;

        self.begin_step(&PLAN, "store", cancel).await?;
        let mut found = Notifications::default();
        let mut reuse = false;
        if self.auth.is_initialised().await? {
            let uuid = self
                .store
                .get_setting(crate::SERVER_UUID_KEY)
                .await?
                .unwrap_or_else(|| "unknown".into());
            let hosts = self
                .store
                .count_hosts(&crate::inventory::model::HostFilter::default())
                .await?;
            let q = Question::new(
                "store.reuse",
                QuestionType::YesNo,
                "YES",
                text(
                    "com.ferrocenter.deployment.question.store_reuse",
                    format!(
                        "The store already holds the data of another ferrocenter instance \
                         (server {uuid}, {hosts} hosts). Reuse it (YES: keep its inventory, \
                         accounts and history) or wipe it (NO: start empty)?"
                    ),
                    vec![uuid.clone(), hosts.to_string()],
                ),
            );
            if self.ask(q, spec.auto_answer, cancel).await? == "YES" {
                reuse = true;
                found.add_info(
                    "com.ferrocenter.deployment.install.store_reused",
                    format!("Reused the store of server {uuid}."),
                    now(),
                );
            } else {
                record::wipe_store(self).await?;
                // The wipe took the record with it; what remains is this setup's.
                self.update_deployment(|d| d.kept_data = false).await?;
                found.add_info(
                    "com.ferrocenter.deployment.install.store_wiped",
                    format!("Wiped the store of server {uuid}."),
                    now(),
                );
            }
        }
        self.server_uuid().await?;
        self.end_step("store", found).await?;

        self.begin_step(&PLAN, "certificate", cancel).await?;
        let mut found = Notifications::default();
        if let Some(why) = self.certificate_mismatch() {
            let q = Question::new(
                "certificate.regenerate",
                QuestionType::YesNo,
                "YES",
                text(
                    "com.ferrocenter.deployment.question.certificate_regenerate",
                    format!("{why}. Regenerate it (YES) or keep it (NO)?"),
                    vec![],
                ),
            );
            if self.ask(q, spec.auto_answer, cancel).await? == "YES" {
                let thumbprint = self
                    .deployment
                    .host()
                    .regenerate_certificate()
                    .map_err(|e| {
                        CoreError::internal(format!("regenerating the certificate: {e}"))
                    })?;
                found.add_info(
                    "com.ferrocenter.deployment.install.certificate_regenerated",
                    format!("Made a new server certificate (SHA-256 thumbprint {thumbprint})."),
                    now(),
                );
            } else {
                found.add_warning(
                    "com.ferrocenter.deployment.install.certificate_kept",
                    format!("{why}; kept as asked."),
                    now(),
                );
            }
        }
        self.end_step("certificate", found).await?;

        self.begin_step(&PLAN, "sso", cancel).await?;
        let mut found = Notifications::default();
        if reuse {
            let stored = self.auth.sso_domain();
            if stored != spec.sso_domain_name {
                found.add_warning(
                    "com.ferrocenter.deployment.install.domain_kept",
                    format!(
                        "The reused store's SSO domain is {stored}; it stays (the spec named {}).",
                        spec.sso_domain_name
                    ),
                    now(),
                );
            }
        } else {
            record::save_domain(self, &spec.sso_domain_name).await?;
        }
        self.auth.make_domain(&spec.sso_admin_password).await?;
        self.store
            .put_setting(
                "ceip.enabled",
                if spec.ceip_enabled { "true" } else { "false" },
            )
            .await?;
        self.auth.mark_initialised().await?;
        self.token_signing_certificates().await?;
        found.add_info(
            "com.ferrocenter.deployment.install.domain",
            format!(
                "The SSO domain {} is set up; administrator@{} is its administrator.",
                self.auth.sso_domain(),
                self.auth.sso_domain()
            ),
            now(),
        );
        self.end_step("sso", found).await?;

        self.begin_step(&PLAN, "services", cancel).await?;
        let mut found = Notifications::default();
        let uuid = self.server_uuid().await?;
        self.deployment
            .host()
            .record_store_identity(&uuid)
            .map_err(|e| CoreError::internal(format!("recording the store: {e}")))?;
        if let Some(stopped) = self
            .start_main_listener(&PLAN, spec.auto_answer, cancel)
            .await?
        {
            found.warnings.push(stopped);
        }
        self.end_step("services", found).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(spec: Value) -> Vec<String> {
        InstallSpec::parse(&spec)
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect()
    }

    #[test]
    fn the_seed_spec_reads_with_its_domain_and_answers() {
        let s = InstallSpec::parse(&json!({"vcsa_embedded": {"ceip_enabled": true,
            "standalone": {"sso_domain_name": "Corp.Local", "sso_admin_password": "Adm1n-Pass-123!"}},
            "auto_answer": true}))
        .unwrap();
        assert_eq!(s.sso_domain_name, "corp.local");
        assert!(s.auto_answer && s.ceip_enabled);
        let s = InstallSpec::parse(&json!({"vcsa_embedded": {"ceip_enabled": false,
            "standalone": {"sso_admin_password": "Adm1n-Pass-123!"}}}))
        .unwrap();
        assert_eq!(s.sso_domain_name, "vsphere.local");
        assert!(!s.auto_answer);
    }

    #[test]
    fn every_bad_field_is_named() {
        assert_eq!(
            fields(json!({"vcsa_embedded": {"ceip_enabled": true,
                "standalone": {"sso_domain_name": "bad domain!", "sso_admin_password": "short"}},
                "colour": "blue"})),
            vec![
                "vcsa_embedded.standalone.sso_domain_name",
                "vcsa_embedded.standalone.sso_admin_password",
                "colour",
            ]
        );
        assert_eq!(
            fields(
                json!({"vcsa_embedded": {"ceip_enabled": true, "replicated": {
                "partner_hostname": "p", "sso_admin_password": "Adm1n-Pass-123!"}}})
            ),
            vec!["vcsa_embedded.replicated"]
        );
        assert_eq!(
            fields(
                json!({"vcsa_embedded": {"standalone": {"sso_admin_password": "Adm1n-Pass-123!",
                "extra": 1}}})
            ),
            vec![
                "vcsa_embedded.ceip_enabled",
                "vcsa_embedded.standalone.extra"
            ]
        );
        assert_eq!(fields(json!({})), vec!["vcsa_embedded"]);
        assert_eq!(fields(json!("x")), vec!["spec"]);
    }

    #[test]
    fn domain_names_need_two_proper_labels() {
        assert!(domain_problem("vsphere.local").is_none());
        assert!(domain_problem("a-b.example.org").is_none());
        for bad in ["local", "-a.local", "a..local", "a_b.local", "a.local-"] {
            assert!(domain_problem(bad).is_some(), "{bad}");
        }
    }
}
