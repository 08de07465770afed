//! External identity providers (`vcenter.identity.providers`, management guide chapter 3,
//! "federation"): an OIDC (or OAuth2) provider such as AD FS, with its users and groups
//! searched over LDAP. Every rule is here: the spec's fields and their defaults, the single
//! default provider, the checks made against the provider before a configuration is kept
//! ([`oidc`]: the discovery document and its JWKS; [`ldap`]: a bind with the given account),
//! the secrets sealed at rest and never returned, and the provider trusted roots ([`roots`]).
//!
//! A provider is consulted only by these operations and by the token exchange ([`exchange`]):
//! local logins never reach it, so one going down changes nothing for them.
pub mod exchange;
pub mod ldap;
pub mod oidc;
pub mod roots;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::auth::{Caller, Privilege};
use crate::ports::{JwtVerifier, LdapDirectory, NoFederation, OidcFetcher};
use crate::{Core, CoreError};

pub use ldap::{DirectoryGroup, DirectoryUser, LdapSettings, LdapSpec};
pub use oidc::{Discovered, OidcSettings, OidcSpec};

/// The event each change records.
pub const CHANGED_EVENT: &str = "com.ferrocenter.vcenter.identity.providers.changed";

/// The guide: "If unset, the default value is acct."
pub const DEFAULT_UPN_CLAIM: &str = "acct";

/// `claim_map`: claim name → value → the groups it stands for.
pub type ClaimMap = BTreeMap<String, BTreeMap<String, Vec<String>>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfigTag {
    Oauth2,
    Oidc,
}

impl ConfigTag {
    /// The SDK's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigTag::Oauth2 => "Oauth2",
            ConfigTag::Oidc => "Oidc",
        }
    }

    /// The SDK's spellings, and the guide's lower-case `oauth2` and `oidc`.
    pub fn parse(s: &str) -> Option<ConfigTag> {
        match s {
            "Oidc" | "oidc" | "OIDC" => Some(ConfigTag::Oidc),
            "Oauth2" | "oauth2" | "OAUTH2" | "OAuth2" => Some(ConfigTag::Oauth2),
            _ => None,
        }
    }
}

/// The OAuth2 settings (`config_tag` Oauth2): given whole, nothing discovered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Oauth2Settings {
    pub auth_endpoint: String,
    pub token_endpoint: String,
    pub public_key_uri: String,
    pub client_id: String,
    pub claim_map: ClaimMap,
    pub issuer: String,
    pub authentication_method: String,
    pub auth_query_params: BTreeMap<String, Vec<String>>,
}

/// The OAuth2 part of a create or update, before the rules.
#[derive(Debug, Clone, Default)]
pub struct Oauth2Spec {
    pub auth_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub public_key_uri: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub claim_map: Option<ClaimMap>,
    pub issuer: Option<String>,
    pub authentication_method: Option<String>,
    pub auth_query_params: Option<BTreeMap<String, Vec<String>>>,
}

pub const AUTHENTICATION_METHODS: &[&str] = &[
    "CLIENT_SECRET_BASIC",
    "CLIENT_SECRET_POST",
    "CLIENT_SECRET_JWT",
    "PRIVATE_KEY_JWT",
];

/// A provider's settings other than its secrets, as kept (the store's `config` JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderConfig {
    pub config_tag: ConfigTag,
    pub upn_claim: String,
    pub groups_claim: Option<String>,
    pub oidc: Option<OidcSettings>,
    pub oauth2: Option<Oauth2Settings>,
    /// Set when `idm_protocol` is LDAP.
    pub ldap: Option<LdapSettings>,
}

/// A provider as callers see it: never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    pub id: String,
    pub name: Option<String>,
    pub is_default: bool,
    pub config: ProviderConfig,
}

/// A provider as the store keeps it; the secrets are sealed under the server's key.
#[derive(Clone)]
pub struct ProviderRecord {
    pub id: String,
    pub name: Option<String>,
    pub is_default: bool,
    /// [`ProviderConfig`] as JSON.
    pub config: String,
    pub client_secret: Option<String>,
    pub ldap_password: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl std::fmt::Debug for ProviderRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("is_default", &self.is_default)
            .finish_non_exhaustive()
    }
}

/// `create_spec` and `update_spec` as given, before the rules. On update an unset field keeps
/// its value; `reset_*` go back to the defaults.
#[derive(Debug, Clone, Default)]
pub struct ProviderSpec {
    pub config_tag: String,
    pub name: Option<String>,
    pub is_default: Option<bool>,
    pub upn_claim: Option<String>,
    pub reset_upn_claim: bool,
    pub groups_claim: Option<String>,
    pub reset_groups_claim: bool,
    pub oidc: Option<OidcSpec>,
    pub oauth2: Option<Oauth2Spec>,
    /// `idm_protocol` as spelled (only LDAP is served).
    pub idm_protocol: Option<String>,
    pub active_directory_over_ldap: Option<LdapSpec>,
}

/// The ports federation reaches the providers through.
#[derive(Clone)]
pub struct FederationPorts {
    pub oidc: Arc<dyn OidcFetcher>,
    pub ldap: Arc<dyn LdapDirectory>,
    pub jwt: Arc<dyn JwtVerifier>,
}

impl Default for FederationPorts {
    /// None wired: every check against a provider is refused as not available.
    fn default() -> Self {
        FederationPorts {
            oidc: Arc::new(NoFederation),
            ldap: Arc::new(NoFederation),
            jwt: Arc::new(NoFederation),
        }
    }
}

/// The ports and the serialised changes.
pub struct FederationState {
    ports: FederationPorts,
    writes: tokio::sync::Mutex<()>,
    /// Each provider's JWKS as last fetched for a token exchange.
    keys: exchange::KeyCache,
}

impl FederationState {
    pub fn new(ports: FederationPorts) -> FederationState {
        FederationState {
            ports,
            writes: tokio::sync::Mutex::new(()),
            keys: Default::default(),
        }
    }
}

fn claim_name(field: &str, v: &str) -> Result<String, CoreError> {
    let v = v.trim();
    if v.is_empty() || v.len() > 256 || v.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            field,
            "a claim name is 1 to 256 printable characters",
        ));
    }
    Ok(v.to_string())
}

fn provider_name(v: &str) -> Result<String, CoreError> {
    if v.trim().is_empty() || v.len() > 256 || v.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            "spec.name",
            "a provider name is 1 to 256 printable characters",
        ));
    }
    Ok(v.to_string())
}

impl Core {
    fn open_config(&self, r: &ProviderRecord) -> Result<ProviderConfig, CoreError> {
        serde_json::from_str(&r.config).map_err(|e| {
            CoreError::internal(format!(
                "the stored identity provider {} is unreadable: {e}",
                r.id
            ))
        })
    }

    fn provider_info(&self, r: &ProviderRecord) -> Result<ProviderInfo, CoreError> {
        Ok(ProviderInfo {
            id: r.id.clone(),
            name: r.name.clone(),
            is_default: r.is_default,
            config: self.open_config(r)?,
        })
    }

    async fn provider_record(&self, id: &str) -> Result<ProviderRecord, CoreError> {
        self.store
            .get_identity_provider(id)
            .await?
            .ok_or_else(|| CoreError::not_found("identity provider", id))
    }

    /// Every provider, in the order they were created.
    pub async fn identity_provider_list(
        &self,
        caller: &Caller,
    ) -> Result<Vec<ProviderInfo>, CoreError> {
        self.auth
            .authorize(caller, Privilege::VcIdentityProvidersRead)?;
        self.store
            .list_identity_providers()
            .await?
            .iter()
            .map(|r| self.provider_info(r))
            .collect()
    }

    pub async fn identity_provider_get(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<ProviderInfo, CoreError> {
        self.auth
            .authorize(caller, Privilege::VcIdentityProvidersRead)?;
        let r = self.provider_record(id).await?;
        self.provider_info(&r)
    }

    /// Checks the spec, the provider's documents and the directory bind, then keeps it. Refused
    /// whole, naming the field, when any of them is wrong.
    pub async fn identity_provider_create(
        &self,
        caller: &Caller,
        spec: ProviderSpec,
    ) -> Result<String, CoreError> {
        self.auth
            .authorize(caller, Privilege::VcIdentityProvidersManage)?;
        let tag = ConfigTag::parse(&spec.config_tag).ok_or_else(|| {
            CoreError::invalid(
                "spec.config_tag",
                format!("'{}' is not one of Oidc, Oauth2", spec.config_tag),
            )
        })?;
        let name = spec.name.as_deref().map(provider_name).transpose()?;
        let upn_claim = match &spec.upn_claim {
            Some(c) => claim_name("spec.upn_claim", c)?,
            None => DEFAULT_UPN_CLAIM.to_string(),
        };
        let groups_claim = spec
            .groups_claim
            .as_deref()
            .map(|c| claim_name("spec.groups_claim", c))
            .transpose()?;
        let roots = self.provider_root_pems().await?;
        let (oidc, oauth2, client_secret) = match tag {
            ConfigTag::Oidc => {
                if spec.oauth2.is_some() {
                    return Err(CoreError::invalid(
                        "spec.oauth2",
                        "is set only when config_tag is Oauth2",
                    ));
                }
                let o = spec.oidc.as_ref().ok_or_else(|| {
                    CoreError::invalid("spec.oidc", "is required when config_tag is Oidc")
                })?;
                let (settings, secret) = oidc::settings_for_create(o)?;
                let settings = self.discover(settings, &roots).await?;
                (Some(settings), None, secret)
            }
            ConfigTag::Oauth2 => {
                if spec.oidc.is_some() {
                    return Err(CoreError::invalid(
                        "spec.oidc",
                        "is set only when config_tag is Oidc",
                    ));
                }
                let o = spec.oauth2.as_ref().ok_or_else(|| {
                    CoreError::invalid("spec.oauth2", "is required when config_tag is Oauth2")
                })?;
                let (settings, secret) = oidc::oauth2_for_create(o)?;
                self.check_oauth2_keys(&settings, &roots).await?;
                (None, Some(settings), secret)
            }
        };
        let (ldap, ldap_password) = match ldap::protocol(spec.idm_protocol.as_deref())? {
            false => {
                if spec.active_directory_over_ldap.is_some() {
                    return Err(CoreError::invalid(
                        "spec.active_directory_over_ldap",
                        "is set only when idm_protocol is LDAP",
                    ));
                }
                (None, None)
            }
            true => {
                let l = spec.active_directory_over_ldap.as_ref().ok_or_else(|| {
                    CoreError::invalid(
                        "spec.active_directory_over_ldap",
                        "is required when idm_protocol is LDAP",
                    )
                })?;
                let (settings, password) = ldap::settings_for_create(l)?;
                self.check_ldap_bind(&settings, &password).await?;
                (Some(settings), Some(password))
            }
        };
        let config = ProviderConfig {
            config_tag: tag,
            upn_claim,
            groups_claim,
            oidc,
            oauth2,
            ldap,
        };
        let now = self.clock.now();
        let id = crate::model::new_uuid();
        let _one_at_a_time = self.federation.writes.lock().await;
        let first = self.store.list_identity_providers().await?.is_empty();
        let record = ProviderRecord {
            id: id.clone(),
            name,
            // The guide: unset makes the first provider the default, and no later one.
            is_default: spec.is_default.unwrap_or(first),
            config: self.config_json(&config)?,
            client_secret: Some(self.secrets.seal(&client_secret)?),
            ldap_password: ldap_password
                .map(|p| self.secrets.seal(p.expose()))
                .transpose()?,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_identity_provider(&record).await?;
        self.provider_changed(caller, &record, "created").await;
        Ok(id)
    }

    /// Changes the fields set; what is checked on create is checked again for what changed.
    pub async fn identity_provider_update(
        &self,
        caller: &Caller,
        id: &str,
        spec: ProviderSpec,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::VcIdentityProvidersManage)?;
        let _one_at_a_time = self.federation.writes.lock().await;
        let mut record = self.provider_record(id).await?;
        let mut config = self.open_config(&record)?;
        let tag = ConfigTag::parse(&spec.config_tag).ok_or_else(|| {
            CoreError::invalid(
                "spec.config_tag",
                format!("'{}' is not one of Oidc, Oauth2", spec.config_tag),
            )
        })?;
        if tag != config.config_tag {
            return Err(CoreError::invalid(
                "spec.config_tag",
                format!(
                    "the provider is {}; its type cannot be changed (delete it and create another)",
                    config.config_tag.as_str()
                ),
            ));
        }
        if let Some(n) = &spec.name {
            record.name = Some(provider_name(n)?);
        }
        if spec.reset_upn_claim {
            config.upn_claim = DEFAULT_UPN_CLAIM.to_string();
        } else if let Some(c) = &spec.upn_claim {
            config.upn_claim = claim_name("spec.upn_claim", c)?;
        }
        if spec.reset_groups_claim {
            config.groups_claim = None;
        } else if let Some(c) = &spec.groups_claim {
            config.groups_claim = Some(claim_name("spec.groups_claim", c)?);
        }
        let roots = self.provider_root_pems().await?;
        if let Some(o) = &spec.oidc {
            let current = config.oidc.clone().ok_or_else(|| {
                CoreError::internal(format!("the OIDC provider {id} has no OIDC settings"))
            })?;
            let (settings, secret) = oidc::settings_for_update(current, o)?;
            // The SDK sends an `oidc` part with every Oidc update (its union rule); only a
            // discovery endpoint given is fetched and checked again.
            config.oidc = Some(if o.discovery_endpoint.is_some() {
                self.discover(settings, &roots).await?
            } else {
                settings
            });
            if let Some(s) = secret {
                record.client_secret = Some(self.secrets.seal(&s)?);
            }
        }
        if let Some(o) = &spec.oauth2 {
            let current = config.oauth2.clone().ok_or_else(|| {
                CoreError::internal(format!("the OAuth2 provider {id} has no OAuth2 settings"))
            })?;
            let (settings, secret) = oidc::oauth2_for_update(current, o)?;
            self.check_oauth2_keys(&settings, &roots).await?;
            config.oauth2 = Some(settings);
            if let Some(s) = secret {
                record.client_secret = Some(self.secrets.seal(&s)?);
            }
        }
        if let Some(l) = &spec.active_directory_over_ldap {
            if spec.idm_protocol.is_some() && !ldap::protocol(spec.idm_protocol.as_deref())? {
                return Err(CoreError::invalid(
                    "spec.active_directory_over_ldap",
                    "is set only when idm_protocol is LDAP",
                ));
            }
            let current_password = record
                .ldap_password
                .as_deref()
                .map(|s| self.secrets.open(s))
                .transpose()?;
            let (settings, password) =
                ldap::settings_for_update(config.ldap.clone(), current_password, l)?;
            self.check_ldap_bind(&settings, &password).await?;
            config.ldap = Some(settings);
            record.ldap_password = Some(self.secrets.seal(password.expose())?);
        } else if let Some(p) = &spec.idm_protocol {
            if ldap::protocol(Some(p))? && config.ldap.is_none() {
                return Err(CoreError::invalid(
                    "spec.active_directory_over_ldap",
                    "is required when idm_protocol is LDAP",
                ));
            }
        }
        if spec.is_default == Some(true) {
            record.is_default = true;
        }
        record.config = self.config_json(&config)?;
        record.updated_at = self.clock.now();
        if !self.store.update_identity_provider(&record).await? {
            return Err(CoreError::not_found("identity provider", id));
        }
        self.federation.keys.forget(id);
        self.provider_changed(caller, &record, "updated").await;
        Ok(())
    }

    pub async fn identity_provider_delete(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::VcIdentityProvidersManage)?;
        let _one_at_a_time = self.federation.writes.lock().await;
        let record = self.provider_record(id).await?;
        if !self.store.delete_identity_provider(id).await? {
            return Err(CoreError::not_found("identity provider", id));
        }
        self.federation.keys.forget(id);
        self.provider_changed(caller, &record, "deleted").await;
        Ok(())
    }

    fn config_json(&self, c: &ProviderConfig) -> Result<String, CoreError> {
        serde_json::to_string(c).map_err(|e| {
            CoreError::internal(format!("an identity provider cannot be written: {e}"))
        })
    }

    async fn provider_changed(&self, caller: &Caller, r: &ProviderRecord, what: &str) {
        let name = r.name.clone().unwrap_or_else(|| r.id.clone());
        tracing::info!(user = %caller.user, provider = %r.id, %name, "identity provider {what}");
        self.record_event(
            CHANGED_EVENT,
            "identity_provider",
            &r.id,
            &name,
            &caller.user,
            format!("Identity provider {name} {what}"),
            serde_json::json!({ "provider": r.id, "change": what, "is_default": r.is_default }),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_tags_take_the_guides_spellings() {
        assert_eq!(ConfigTag::parse("oidc"), Some(ConfigTag::Oidc));
        assert_eq!(ConfigTag::parse("Oidc"), Some(ConfigTag::Oidc));
        assert_eq!(ConfigTag::parse("oauth2"), Some(ConfigTag::Oauth2));
        assert_eq!(ConfigTag::parse("Oauth2"), Some(ConfigTag::Oauth2));
        assert_eq!(ConfigTag::parse("saml"), None);
    }

    #[test]
    fn claim_names_are_checked() {
        assert_eq!(claim_name("f", " upn ").unwrap(), "upn");
        assert!(claim_name("f", "").is_err());
        assert!(claim_name("f", "a\nb").is_err());
    }
}
