//! Infrastructure profiles (`appliance.infraprofile.configs`, seeds/003 "Performing
//! Infrastructure Profile Management Operations"): this server's configuration exported as a
//! JSON document (`document`), checked against another server's rules, and imported there all
//! or nothing. The profiles and what each holds are in `sections`; docs/appliance.md lists them.
//!
//! An import first validates the whole document and refuses it on any error; it then reads what
//! it will change, applies the profiles in order through the operations that own each setting,
//! and if one fails puts back what it had applied, so the server is left as it was.
mod document;
mod sections;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use document::{Document, SecretCodec, PRODUCT};
pub use document::{APPLIANCE, AUTH, INVENTORY, PROFILES, SCHEMA_VERSION};
use sections::Profiles;

use crate::appliance::firewall::CallOrigin;
use crate::auth::{Caller, Privilege};
use crate::tasks::{Task, TaskKind, TaskResult, TaskSpec};
use crate::{Core, CoreError};

/// `configs.profile_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileInfo {
    pub name: String,
    pub info: String,
}

/// `configs.profiles_spec`: which profiles, the key for their secrets, a description.
#[derive(Clone, Default)]
pub struct ProfilesSpec {
    pub encryption_key: Option<String>,
    pub description: Option<String>,
    /// None or empty: every profile.
    pub profiles: Option<Vec<String>>,
}

impl std::fmt::Debug for ProfilesSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfilesSpec")
            .field("description", &self.description)
            .field("profiles", &self.profiles)
            .finish_non_exhaustive()
    }
}

/// `configs.import_profile_spec`.
#[derive(Debug, Clone, Default)]
pub struct ImportSpec {
    pub config_spec: String,
    pub profile_spec: Option<ProfilesSpec>,
}

/// One finding of a validation (`infraprofile.notification`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// `com.ferrocenter.infraprofile.{error,warning,info}`.
    pub id: String,
    pub message: String,
}

/// `infraprofile.notifications`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notifications {
    pub info: Vec<Notification>,
    pub warnings: Vec<Notification>,
    pub errors: Vec<Notification>,
}

impl Notifications {
    fn push(list: &mut Vec<Notification>, kind: &str, message: String) {
        list.push(Notification {
            id: format!("com.ferrocenter.infraprofile.{kind}"),
            message,
        });
    }
    fn info(&mut self, m: String) {
        Self::push(&mut self.info, "info", m);
    }
    fn warning(&mut self, m: String) {
        Self::push(&mut self.warnings, "warning", m);
    }
    fn error(&mut self, m: String) {
        Self::push(&mut self.errors, "error", m);
    }
}

/// `configs.validation_result`: VALID when there is no error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationOutcome {
    pub valid: bool,
    pub notifications: Notifications,
}

/// One validation or import at a time: an import reads what it will change and must not
/// interleave with another one's writes.
#[derive(Default)]
pub struct InfraprofileState {
    busy: Arc<tokio::sync::Mutex<()>>,
}

fn profile_info(name: &str) -> &'static str {
    match name {
        AUTH => {
            "Authentication: the local accounts' password policy (its lockout fields are the \
             server's configuration and must match it)"
        }
        APPLIANCE => {
            "Appliance settings: the inbound firewall rules, the syslog receivers, the backup \
             schedules (their passwords exported only under an encryption key) and global FIPS"
        }
        _ => "Inventory: the clusters' DRS automation levels, by datacenter and cluster name",
    }
}

/// The profile names a spec selects, checked.
fn selected(spec: Option<&ProfilesSpec>) -> Result<Vec<&'static str>, CoreError> {
    let Some(names) = spec
        .and_then(|s| s.profiles.as_ref())
        .filter(|p| !p.is_empty())
    else {
        return Ok(PROFILES.to_vec());
    };
    for n in names {
        if !PROFILES.contains(&n.as_str()) {
            return Err(CoreError::not_found("profile", n));
        }
    }
    Ok(PROFILES
        .into_iter()
        .filter(|p| names.iter().any(|n| n == p))
        .collect())
}

/// A document's profiles narrowed to those the import's spec selects.
fn narrowed(doc: &Document, spec: Option<&ProfilesSpec>) -> Result<Profiles, CoreError> {
    let names = selected(spec)?;
    let mut map = doc.profiles.clone();
    map.retain(|k, _| names.contains(&k.as_str()));
    Profiles::read(&map)
}

/// The document's secret codec, when it has encrypted secrets and the spec gives the key.
fn codec_of(doc: &Document, spec: Option<&ProfilesSpec>) -> Result<Option<SecretCodec>, CoreError> {
    let Some(enc) = &doc.encryption else {
        return Ok(None);
    };
    match spec.and_then(|s| s.encryption_key.as_deref()) {
        Some(key) if !key.is_empty() => SecretCodec::open(key, enc).map(Some),
        _ => Ok(None),
    }
}

impl Core {
    /// `configs.list`.
    pub async fn infraprofile_list(&self, caller: &Caller) -> Result<Vec<ProfileInfo>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(PROFILES
            .iter()
            .map(|n| ProfileInfo {
                name: n.to_string(),
                info: profile_info(n).to_string(),
            })
            .collect())
    }

    /// `configs.export`: the document, as a JSON string.
    pub async fn infraprofile_export(
        &self,
        caller: &Caller,
        spec: ProfilesSpec,
    ) -> Result<String, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let names = selected(Some(&spec))?;
        let (codec, encryption) = match spec.encryption_key.as_deref().filter(|k| !k.is_empty()) {
            Some(key) => {
                let (c, e) = SecretCodec::create(key)?;
                (Some(c), Some(e))
            }
            None => (None, None),
        };
        let profiles = self.read_profiles(caller, &names, codec.as_ref()).await?;
        let encryption = if profiles.secret_holder().is_some() {
            encryption
        } else {
            None
        };
        let doc = Document {
            schema_version: SCHEMA_VERSION,
            product: PRODUCT.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: spec.description.clone(),
            encryption,
            profiles: profiles.write()?,
        };
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| CoreError::internal(format!("writing the profile document: {e}")))?;
        info!(by = %caller.user, profiles = ?names, "infrastructure profiles exported");
        Ok(text)
    }

    /// Everything a validation finds in a document: a document that does not parse, or whose
    /// schema version is not this server's, is one error.
    async fn validate_document(&self, spec: &ImportSpec) -> Result<ValidationOutcome, CoreError> {
        let mut n = Notifications::default();
        let checked = async {
            let doc = document::parse(&spec.config_spec)?;
            let profiles = narrowed(&doc, spec.profile_spec.as_ref())?;
            if doc.encryption.is_some()
                && profiles.secret_holder().is_some()
                && spec
                    .profile_spec
                    .as_ref()
                    .and_then(|p| p.encryption_key.as_deref())
                    .is_none_or(str::is_empty)
            {
                return Err(CoreError::invalid(
                    "spec.profile_spec.encryption_key",
                    "is required: the document's secrets are encrypted",
                ));
            }
            let codec = codec_of(&doc, spec.profile_spec.as_ref())?;
            Ok::<_, CoreError>((profiles, codec))
        }
        .await;
        match checked {
            Ok((profiles, codec)) => {
                self.check_profiles(&profiles, codec.as_ref(), &mut n)
                    .await?;
            }
            Err(CoreError::InvalidArgument { field, reason }) => {
                n.error(format!("{field}: {reason}"));
            }
            Err(e) => return Err(e),
        }
        Ok(ValidationOutcome {
            valid: n.errors.is_empty(),
            notifications: n,
        })
    }

    fn claim_infraprofile(&self) -> Result<tokio::sync::OwnedMutexGuard<()>, CoreError> {
        self.infraprofile
            .busy
            .clone()
            .try_lock_owned()
            .map_err(|_| {
                CoreError::invalid_state(
                    "another infrastructure profile validation or import is running",
                )
            })
    }

    /// `configs.validate$task`: a task whose result is the validation.
    pub async fn infraprofile_validate(
        &self,
        caller: &Caller,
        spec: ImportSpec,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        selected(spec.profile_spec.as_ref())?;
        let guard = self.claim_infraprofile()?;
        let core = self.self_arc();
        self.tasks
            .submit(
                TaskSpec {
                    kind: TaskKind::ApplianceProfileValidate,
                    target: None,
                    initiator: caller.user.clone(),
                    description: "Validate infrastructure profiles".into(),
                    cancelable: false,
                    timeout: None,
                },
                move |_ctx| async move {
                    let _guard = guard;
                    let outcome = core.validate_document(&spec).await?;
                    Ok(TaskResult::ProfileValidation {
                        validation: outcome,
                    })
                },
            )
            .await
    }

    /// `configs.import_profile$task`: validates, then applies every selected profile or none.
    pub async fn infraprofile_import(
        &self,
        caller: &Caller,
        origin: CallOrigin,
        spec: ImportSpec,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        selected(spec.profile_spec.as_ref())?;
        let guard = self.claim_infraprofile()?;
        let core = self.self_arc();
        let caller = caller.clone();
        self.tasks
            .submit(
                TaskSpec {
                    kind: TaskKind::ApplianceProfileImport,
                    target: None,
                    initiator: caller.user.clone(),
                    description: "Import infrastructure profiles".into(),
                    cancelable: false,
                    timeout: None,
                },
                move |ctx| async move {
                    let _guard = guard;
                    let summary = core.import_document(&ctx, &caller, origin, &spec).await?;
                    Ok(TaskResult::ProfileImport { imported: summary })
                },
            )
            .await
    }

    async fn import_document(
        &self,
        ctx: &crate::tasks::TaskContext,
        caller: &Caller,
        origin: CallOrigin,
        spec: &ImportSpec,
    ) -> Result<String, CoreError> {
        ctx.progress(10, "validating the document").await;
        let outcome = self.validate_document(spec).await?;
        if let Some(first) = outcome.notifications.errors.first() {
            return Err(CoreError::invalid(
                "spec.config_spec",
                format!(
                    "the document does not validate ({} error(s)); the first: {}",
                    outcome.notifications.errors.len(),
                    first.message
                ),
            ));
        }
        let doc = document::parse(&spec.config_spec)?;
        let profiles = narrowed(&doc, spec.profile_spec.as_ref())?;
        let codec = codec_of(&doc, spec.profile_spec.as_ref())?;
        let before = self.snapshot(caller, &profiles).await?;
        ctx.progress(40, "applying the profiles").await;
        if let Err(e) = self
            .apply_profiles(caller, origin, &profiles, codec.as_ref())
            .await
        {
            warn!(error = %e, "an infrastructure profile import failed; putting back what it changed");
            if let Err(back) = self.restore_profiles(caller, &before).await {
                warn!(error = %back, "putting back the settings an import changed failed");
                return Err(CoreError::internal(format!(
                    "the import failed ({e}) and putting back the settings it changed failed \
                     too ({back}): check the appliance settings"
                )));
            }
            return Err(e);
        }
        let names: Vec<String> = profiles.write()?.keys().cloned().collect();
        let summary = format!("imported {}", names.join(", "));
        self.record_event(
            "com.ferrocenter.infraprofile.imported",
            "appliance",
            "infraprofile",
            "infrastructure profiles",
            &caller.user,
            format!(
                "Infrastructure profiles imported by {}: {}",
                caller.user,
                names.join(", ")
            ),
            serde_json::json!({
                "profiles": names,
                "description": doc.description,
                "exported_by_version": doc.version,
                "warnings": outcome.notifications.warnings.len(),
            }),
        )
        .await;
        info!(by = %caller.user, profiles = ?names, "infrastructure profiles imported");
        Ok(summary)
    }
}
