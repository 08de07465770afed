//! `LdapDirectory` over the `ldap3` crate: a simple bind, then a subtree search. `ldaps://`
//! trusts only the provider's certificate chain (the guide's `cert_chain`), never the system's
//! roots, so a directory is reached only through the certificate the administrator gave.
use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_core::ports::{FederationError, LdapDirectory, LdapEntry, LdapTarget};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};

use super::{chain_text, client_config};

/// LDAP result codes (RFC 4511 §4.1.9).
const INVALID_CREDENTIALS: u32 = 49;
const SIZE_LIMIT_EXCEEDED: u32 = 4;

pub struct Ldap3Directory {
    pub timeout: Duration,
}

impl Default for Ldap3Directory {
    fn default() -> Self {
        Ldap3Directory {
            timeout: Duration::from_secs(10),
        }
    }
}

fn unreachable(e: LdapError) -> FederationError {
    FederationError::Unreachable(chain_text(&e))
}

impl Ldap3Directory {
    async fn bound(&self, t: &LdapTarget) -> Result<Ldap, FederationError> {
        let mut settings = LdapConnSettings::new().set_conn_timeout(self.timeout);
        if t.url.starts_with("ldaps://") {
            let tls = client_config(&t.cert_chain_pem, false).map_err(FederationError::Refused)?;
            settings = settings.set_config(tls);
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &t.url)
            .await
            .map_err(unreachable)?;
        ldap3::drive!(conn);
        ldap.with_timeout(self.timeout);
        let r = ldap
            .simple_bind(&t.bind_user, t.password.expose())
            .await
            .map_err(unreachable)?;
        match r.rc {
            0 => Ok(ldap),
            // An empty password is an unauthenticated bind (RFC 4513 §5.1.2), never a login.
            INVALID_CREDENTIALS => Err(FederationError::InvalidCredentials),
            rc => Err(FederationError::Refused(format!(
                "the bind was refused (LDAP result {rc}: {})",
                r.text
            ))),
        }
    }
}

#[async_trait]
impl LdapDirectory for Ldap3Directory {
    async fn check_bind(&self, target: &LdapTarget) -> Result<(), FederationError> {
        if target.password.expose().is_empty() {
            return Err(FederationError::InvalidCredentials);
        }
        let mut ldap = self.bound(target).await?;
        let _ = ldap.unbind().await;
        Ok(())
    }

    async fn search(
        &self,
        target: &LdapTarget,
        base_dn: &str,
        filter: &str,
        attrs: &[&str],
        limit: usize,
    ) -> Result<Vec<LdapEntry>, FederationError> {
        if target.password.expose().is_empty() {
            return Err(FederationError::InvalidCredentials);
        }
        let mut ldap = self.bound(target).await?;
        let found = ldap
            .with_search_options(
                ldap3::SearchOptions::new().sizelimit(i32::try_from(limit).unwrap_or(i32::MAX)),
            )
            .search(base_dn, Scope::Subtree, filter, attrs.to_vec())
            .await
            .map_err(unreachable)?;
        let _ = ldap.unbind().await;
        let ldap3::SearchResult(entries, result) = found;
        if result.rc != 0 && result.rc != SIZE_LIMIT_EXCEEDED {
            return Err(FederationError::Refused(format!(
                "the search was refused (LDAP result {}: {})",
                result.rc, result.text
            )));
        }
        Ok(entries
            .into_iter()
            .take(limit)
            .map(|e| {
                let e = SearchEntry::construct(e);
                LdapEntry {
                    dn: e.dn,
                    attrs: e
                        .attrs
                        .into_iter()
                        .map(|(k, v)| (k.to_ascii_lowercase(), v))
                        .collect::<BTreeMap<_, _>>(),
                }
            })
            .collect())
    }
}
