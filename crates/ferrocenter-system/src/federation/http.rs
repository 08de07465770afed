//! `OidcFetcher` over reqwest: a GET with a short timeout and no redirects, TLS trusting the
//! web's and the system's roots plus the provider trusted roots.
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_core::ports::{FederationError, OidcFetcher};

use super::{chain_text, client_config};

/// Discovery documents and key sets are small; a larger answer is not one.
const BODY_MAX: usize = 1 << 20;

pub struct HttpOidcFetcher {
    pub timeout: Duration,
}

impl Default for HttpOidcFetcher {
    fn default() -> Self {
        HttpOidcFetcher {
            timeout: Duration::from_secs(10),
        }
    }
}

#[async_trait]
impl OidcFetcher for HttpOidcFetcher {
    async fn get_json(
        &self,
        url: &str,
        extra_roots_pem: &[String],
    ) -> Result<serde_json::Value, FederationError> {
        let tls = client_config(extra_roots_pem, true).map_err(FederationError::Refused)?;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| FederationError::Unreachable(chain_text(&e)))?;
        let resp = client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| FederationError::Unreachable(chain_text(&e)))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(FederationError::Refused(format!(
                "it answered HTTP {status}"
            )));
        }
        if resp.content_length().is_some_and(|n| n > BODY_MAX as u64) {
            return Err(FederationError::Refused("the answer is too large".into()));
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| FederationError::Unreachable(chain_text(&e)))?;
        if body.len() > BODY_MAX {
            return Err(FederationError::Refused("the answer is too large".into()));
        }
        serde_json::from_slice(&body)
            .map_err(|e| FederationError::Refused(format!("the answer is not JSON: {e}")))
    }
}
