//! Associated products (`lcm.discovery.associated_products`): those discovered from the
//! fleet on every read — the agent, libvirt and QEMU versions each host reported in its facts,
//! with the hosts as deployments, read-only — and those an operator adds by hand, kept as one
//! settings document. Both share one id space, `<catalog id>-<version>`, so a product is
//! associated once.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tracing::info;

use super::catalog::{self, catalog};
use crate::auth::{Caller, Privilege};
use crate::inventory::HostFilter;
use crate::{validate, Core, CoreError};

/// The setting that holds the products added by hand.
pub const SETTING: &str = "lcm.associated_products";

/// The most deployments one product lists.
pub const DEPLOYMENTS_MAX: usize = 256;
/// The longest version accepted.
pub const VERSION_MAX_CHARS: usize = 64;
/// What a version may be made of: a release's digits, letters and separators.
pub const VERSION_PATTERN: &str = "^[0-9A-Za-z][0-9A-Za-z.+_-]*$";
/// The most products added by hand.
pub const MANUAL_MAX: usize = 1000;

/// A product associated with this server (`lcm.discovery.product`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssociatedProduct {
    pub installed_product: String,
    pub name: String,
    pub version: String,
    pub target_version: Option<String>,
    pub deployments: Vec<String>,
    /// Discovered from the fleet rather than added by hand.
    pub auto: bool,
}

/// What `create` asks for.
#[derive(Debug, Clone, Default)]
pub struct CreateSpec {
    pub product_name: String,
    pub version: String,
    pub deployments: Option<Vec<String>>,
}

/// What `update` changes.
#[derive(Debug, Clone, Default)]
pub struct UpdateSpec {
    pub deployments: Option<Vec<String>>,
}

/// A product added by hand, as the settings document keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manual {
    id: String,
    name: String,
    version: String,
    deployments: Vec<String>,
}

/// `<catalog id>-<version>`, as the seed's `com.vmware.vRA-6.8.9`.
pub fn product_id(catalog_id: &str, version: &str) -> String {
    format!("{catalog_id}-{version}")
}

/// The rule of `product_name`: a product of the catalog other than this server.
pub fn product_name(field: &str, name: &str) -> Result<&'static catalog::Product, CoreError> {
    let c = catalog();
    match c.product(name) {
        Some(p) if p.name != catalog::SERVER_PRODUCT => Ok(p),
        Some(_) => Err(CoreError::invalid(
            field,
            "the ferrocenter server is the product the others are associated with",
        )),
        None => Err(CoreError::invalid(
            field,
            format!(
                "'{}' is not in the product catalog (known: {})",
                short(name),
                c.associable()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// The rule of a version's form: 1 to [`VERSION_MAX_CHARS`] characters of
/// [`VERSION_PATTERN`].
pub fn version_form(field: &str, v: &str) -> Result<(), CoreError> {
    let ok = !v.is_empty()
        && v.chars().count() <= VERSION_MAX_CHARS
        && v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            field,
            format!(
                "must be a version: 1 to {VERSION_MAX_CHARS} letters, digits, '.', '+', '_' or '-'"
            ),
        ))
    }
}

/// The rule of `version`: its form, and a release line of the product in the catalog.
pub fn version(field: &str, p: &catalog::Product, v: &str) -> Result<(), CoreError> {
    version_form(field, v)?;
    if p.line_of(v).is_none() {
        return Err(CoreError::invalid(
            field,
            format!(
                "{} {v} is not in the product catalog (its versions: {})",
                p.name,
                p.versions.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The rule of `deployments`: where the product runs, each an IP address or a DNS name, at
/// most [`DEPLOYMENTS_MAX`], none twice.
pub fn deployments(field: &str, list: &[String]) -> Result<(), CoreError> {
    if list.len() > DEPLOYMENTS_MAX {
        return Err(CoreError::invalid(
            field,
            format!("lists more than {DEPLOYMENTS_MAX} deployments"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, d) in list.iter().enumerate() {
        let at = format!("{field}[{i}]");
        validate::host_name(&at, d)?;
        if !seen.insert(d.to_ascii_lowercase()) {
            return Err(CoreError::invalid(at, format!("'{d}' is listed twice")));
        }
    }
    Ok(())
}

/// At most 64 characters of what the caller sent, for a message.
fn short(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

async fn load(core: &Core) -> Result<Vec<Manual>, CoreError> {
    match core.store.get_setting(SETTING).await? {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| CoreError::internal(format!("the associated products: {e}"))),
    }
}

async fn save(core: &Core, all: &[Manual]) -> Result<(), CoreError> {
    let text = serde_json::to_string(all)
        .map_err(|e| CoreError::internal(format!("the associated products: {e}")))?;
    core.store.put_setting(SETTING, &text).await?;
    Ok(())
}

impl Manual {
    fn shown(&self) -> AssociatedProduct {
        AssociatedProduct {
            installed_product: self.id.clone(),
            name: self.name.clone(),
            version: self.version.clone(),
            target_version: None,
            deployments: self.deployments.clone(),
            auto: false,
        }
    }
}

impl Core {
    /// What the hosts report: per (product, version), the hosts running it.
    pub(crate) async fn lcm_discovered(&self) -> Result<Vec<AssociatedProduct>, CoreError> {
        let hosts = self.store.list_hosts(&HostFilter::default()).await?;
        let c = catalog();
        let mut found: BTreeMap<(&'static str, String), Vec<String>> = BTreeMap::new();
        for h in &hosts {
            let Some(f) = &h.facts else { continue };
            for (product, v) in [
                (catalog::AGENT_PRODUCT, &f.agent_version),
                (catalog::LIBVIRT_PRODUCT, &f.hypervisor.libvirt_version),
                (catalog::QEMU_PRODUCT, &f.hypervisor.qemu_version),
            ] {
                let v = v.trim();
                // A version an agent reports in a form no operator could type is left out
                // rather than shown under an id nobody can address.
                if version_form("version", v).is_ok() {
                    found
                        .entry((product, v.to_string()))
                        .or_default()
                        .push(h.name.clone());
                }
            }
        }
        Ok(found
            .into_iter()
            .filter_map(|((name, version), mut deployments)| {
                let p = c.product(name)?;
                deployments.sort();
                deployments.dedup();
                Some(AssociatedProduct {
                    installed_product: product_id(&p.id, &version),
                    name: name.to_string(),
                    version,
                    target_version: None,
                    deployments,
                    auto: true,
                })
            })
            .collect())
    }

    /// Every associated product: discovered ones first, then those added by hand, by id.
    pub(crate) async fn lcm_all_products(&self) -> Result<Vec<AssociatedProduct>, CoreError> {
        let mut all = self.lcm_discovered().await?;
        let mut manual: Vec<AssociatedProduct> = {
            let _l = self.lcm.products.lock().await;
            load(self).await?.iter().map(Manual::shown).collect()
        };
        manual.sort_by(|a, b| a.installed_product.cmp(&b.installed_product));
        all.extend(manual);
        Ok(all)
    }

    /// `product_catalog.list`: every product that can be associated, with its versions.
    pub async fn lcm_product_catalog(
        &self,
        caller: &Caller,
    ) -> Result<Vec<(String, Vec<String>)>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(catalog()
            .associable()
            .map(|p| (p.name.clone(), p.versions.clone()))
            .collect())
    }

    /// `associated_products.list`.
    pub async fn lcm_products_list(
        &self,
        caller: &Caller,
    ) -> Result<Vec<AssociatedProduct>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        self.lcm_all_products().await
    }

    /// `associated_products.get`.
    pub async fn lcm_product_get(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<AssociatedProduct, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        self.lcm_all_products()
            .await?
            .into_iter()
            .find(|p| p.installed_product == id)
            .ok_or_else(|| CoreError::not_found("associated product", id))
    }

    /// `associated_products.create`: a catalog product at a catalog version, once; answers
    /// its id.
    pub async fn lcm_product_create(
        &self,
        caller: &Caller,
        spec: CreateSpec,
    ) -> Result<String, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let p = product_name("spec.product_name", &spec.product_name)?;
        version("spec.version", p, &spec.version)?;
        let deps = spec.deployments.unwrap_or_default();
        deployments("spec.deployments", &deps)?;
        let id = product_id(&p.id, &spec.version);
        if self
            .lcm_discovered()
            .await?
            .iter()
            .any(|d| d.installed_product == id)
        {
            return Err(CoreError::AlreadyExists {
                what: "associated product (discovered from the hosts)".into(),
                name: id,
            });
        }
        let _l = self.lcm.products.lock().await;
        let mut all = load(self).await?;
        if all.iter().any(|m| m.id == id) {
            return Err(CoreError::AlreadyExists {
                what: "associated product".into(),
                name: id,
            });
        }
        if all.len() >= MANUAL_MAX {
            return Err(CoreError::invalid_state(format!(
                "{MANUAL_MAX} products are associated by hand already"
            )));
        }
        all.push(Manual {
            id: id.clone(),
            name: p.name.clone(),
            version: spec.version,
            deployments: deps,
        });
        save(self, &all).await?;
        info!(product = %id, user = %caller.user, "associated product added");
        Ok(id)
    }

    /// The refusal for a change to a discovered product, or not found.
    async fn lcm_not_manual(&self, id: &str) -> Result<CoreError, CoreError> {
        if self
            .lcm_discovered()
            .await?
            .iter()
            .any(|d| d.installed_product == id)
        {
            return Ok(CoreError::invalid(
                "product",
                format!(
                    "{id} is discovered from the hosts' facts: only products added by hand can be changed or removed"
                ),
            ));
        }
        Ok(CoreError::not_found("associated product", id))
    }

    /// `associated_products.update`: a product added by hand gets new deployments.
    pub async fn lcm_product_update(
        &self,
        caller: &Caller,
        id: &str,
        spec: UpdateSpec,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let deps = spec.deployments.unwrap_or_default();
        deployments("spec.deployments", &deps)?;
        let _l = self.lcm.products.lock().await;
        let mut all = load(self).await?;
        let Some(m) = all.iter_mut().find(|m| m.id == id) else {
            return Err(self.lcm_not_manual(id).await?);
        };
        m.deployments = deps;
        save(self, &all).await?;
        info!(product = %id, user = %caller.user, "associated product updated");
        Ok(())
    }

    /// `associated_products.delete`: a product added by hand is dissociated.
    pub async fn lcm_product_delete(&self, caller: &Caller, id: &str) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let _l = self.lcm.products.lock().await;
        let mut all = load(self).await?;
        let Some(i) = all.iter().position(|m| m.id == id) else {
            return Err(self.lcm_not_manual(id).await?);
        };
        all.remove(i);
        save(self, &all).await?;
        info!(product = %id, user = %caller.user, "associated product removed");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_name_the_field() {
        let e = product_name("spec.product_name", "vRealize Automation").unwrap_err();
        assert!(e.to_string().contains("spec.product_name"), "{e}");
        assert!(product_name("f", catalog::SERVER_PRODUCT).is_err());
        let p = product_name("f", "PostgreSQL").unwrap();
        assert!(version("spec.version", p, "16.4").is_ok());
        let e = version("spec.version", p, "12.1").unwrap_err();
        assert!(e.to_string().contains("spec.version"), "{e}");
        assert!(version_form("v", "").is_err());
        assert!(version_form("v", "1 2").is_err());
        assert!(deployments("d", &["10.0.0.1".into(), "db.lab".into()]).is_ok());
        let e = deployments("spec.deployments", &["a.lab".into(), "A.lab".into()]).unwrap_err();
        assert!(e.to_string().contains("spec.deployments[1]"), "{e}");
        let e = deployments("spec.deployments", &["bad host!".into()]).unwrap_err();
        assert!(e.to_string().contains("spec.deployments[0]"), "{e}");
    }
}
