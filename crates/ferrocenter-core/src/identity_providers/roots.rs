//! The provider trusted roots: CA certificates (PEM) that the HTTPS connections to identity
//! providers trust besides the system's and the web's roots — the guide's step "add your AD FS
//! root CA certificate to the Trusted Root Certificates Store". The vCenter API for that store
//! is not in the reference, so these are ferrocenter's own operations
//! (`com.ferrocenter.vcenter.identity.trusted_roots`). Kept as one setting; each root is known
//! by its SHA-256 thumbprint.
use serde::{Deserialize, Serialize};

use crate::auth::{Caller, Privilege};
use crate::{Core, CoreError};

const KEY: &str = "identity.providers.trusted_roots";

/// At most this many roots (each is tried on every provider connection).
pub const ROOTS_MAX: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedRoot {
    /// The certificate's SHA-256 thumbprint, colon-separated hex.
    pub id: String,
    pub pem: String,
}

impl Core {
    async fn read_roots(&self) -> Result<Vec<TrustedRoot>, CoreError> {
        match self.store.get_setting(KEY).await? {
            None => Ok(Vec::new()),
            Some(t) => serde_json::from_str(&t).map_err(|e| {
                CoreError::internal(format!("the stored setting {KEY} is unreadable: {e}"))
            }),
        }
    }

    async fn write_roots(&self, roots: &[TrustedRoot]) -> Result<(), CoreError> {
        let t = serde_json::to_string(roots)
            .map_err(|e| CoreError::internal(format!("{KEY} could not be written: {e}")))?;
        self.store.put_setting(KEY, &t).await?;
        Ok(())
    }

    /// The PEMs the provider connections trust besides the system's roots.
    pub(super) async fn provider_root_pems(&self) -> Result<Vec<String>, CoreError> {
        Ok(self
            .read_roots()
            .await?
            .into_iter()
            .map(|r| r.pem)
            .collect())
    }

    pub async fn identity_trusted_roots(
        &self,
        caller: &Caller,
    ) -> Result<Vec<TrustedRoot>, CoreError> {
        self.auth
            .authorize(caller, Privilege::VcIdentityProvidersRead)?;
        self.read_roots().await
    }

    /// Adds a root (one PEM certificate); its thumbprint is its id. Adding one already there
    /// answers its id again.
    pub async fn identity_trusted_root_add(
        &self,
        caller: &Caller,
        pem: &str,
    ) -> Result<String, CoreError> {
        self.auth
            .authorize(caller, Privilege::VcIdentityProvidersManage)?;
        let pem = pem.trim();
        if pem.matches("-----BEGIN CERTIFICATE-----").count() != 1 {
            return Err(CoreError::invalid(
                "cert_text",
                "must hold exactly one PEM certificate",
            ));
        }
        let id = crate::validate::certificate_thumbprint("cert_text", pem)?;
        let _one_at_a_time = self.federation.writes.lock().await;
        let mut roots = self.read_roots().await?;
        if roots.iter().any(|r| r.id == id) {
            return Ok(id);
        }
        if roots.len() >= ROOTS_MAX {
            return Err(CoreError::invalid_state(format!(
                "at most {ROOTS_MAX} provider trusted roots; delete one first"
            )));
        }
        roots.push(TrustedRoot {
            id: id.clone(),
            pem: format!("{pem}\n"),
        });
        self.write_roots(&roots).await?;
        tracing::info!(user = %caller.user, root = %id, "identity provider trusted root added");
        Ok(id)
    }

    pub async fn identity_trusted_root_delete(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::VcIdentityProvidersManage)?;
        let _one_at_a_time = self.federation.writes.lock().await;
        let mut roots = self.read_roots().await?;
        let before = roots.len();
        roots.retain(|r| r.id != id);
        if roots.len() == before {
            return Err(CoreError::not_found("trusted root", id));
        }
        self.write_roots(&roots).await?;
        tracing::info!(user = %caller.user, root = %id, "identity provider trusted root deleted");
        Ok(())
    }
}
