//! Reports (`lcm.reports`): the CSV form of each report made, the last [`KEPT`] of them kept
//! in one settings document, each handed out through expiring download URLs
//! (`reports.get` mints one per call; the store keeps only its hash and expiry).
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tracing::info;

use crate::auth::{Caller, Privilege};
use crate::download_token::{self, RequestOrigin};
use crate::{Core, CoreError};

/// The setting that holds the reports.
pub const SETTING: &str = "lcm.reports";
/// Where download URLs point: this prefix, then the token. The HTTP layer routes it.
pub const DOWNLOAD_PATH: &str = "/lcm/reports/download/";
/// How many reports are kept: a new one pushes the oldest out.
pub const KEPT: usize = 10;
/// How many live URLs one report keeps; older ones stop working first.
const TOKENS_KEPT: usize = 32;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Token {
    hash: String,
    expires_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    id: String,
    created_ms: i64,
    csv: String,
    tokens: Vec<Token>,
}

/// Where a report can be fetched (`lcm.reports.location`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLocation {
    pub uri: String,
    /// The token in the URI, for clients that send it apart.
    pub token: String,
    pub expiry: OffsetDateTime,
}

/// A report's CSV handed to the HTTP layer.
pub struct ReportFile {
    pub name: String,
    pub csv: String,
}

async fn load(core: &Core) -> Result<Vec<Stored>, CoreError> {
    match core.store.get_setting(SETTING).await? {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| CoreError::internal(format!("the LCM reports: {e}"))),
    }
}

async fn save(core: &Core, all: &[Stored]) -> Result<(), CoreError> {
    let text = serde_json::to_string(all)
        .map_err(|e| CoreError::internal(format!("the LCM reports: {e}")))?;
    core.store.put_setting(SETTING, &text).await?;
    Ok(())
}

impl Core {
    /// Keeps a report's CSV under `id`, dropping the oldest past [`KEPT`].
    pub(crate) async fn lcm_keep_report(&self, id: &str, csv: String) -> Result<(), CoreError> {
        let _l = self.lcm.reports.lock().await;
        let mut all = load(self).await?;
        all.retain(|r| r.id != id);
        all.push(Stored {
            id: id.to_string(),
            created_ms: crate::to_millis(self.clock.now()),
            csv,
            tokens: Vec::new(),
        });
        all.sort_by_key(|r| r.created_ms);
        let excess = all.len().saturating_sub(KEPT);
        all.drain(..excess);
        save(self, &all).await
    }

    /// `reports.get`: a new download URL of a kept report, valid for the configured lifetime.
    pub async fn lcm_report_get(
        &self,
        caller: &Caller,
        id: &str,
        origin: &RequestOrigin,
    ) -> Result<ReportLocation, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let base = origin.base()?;
        let now = self.clock.now();
        let expiry = now + self.config.lcm.report_url_lifetime;
        let token = download_token::mint();
        let _l = self.lcm.reports.lock().await;
        let mut all = load(self).await?;
        let r = all
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| CoreError::not_found("report", id))?;
        let now_ms = crate::to_millis(now);
        r.tokens.retain(|t| t.expires_ms > now_ms);
        r.tokens.push(Token {
            hash: download_token::hash(&token),
            expires_ms: crate::to_millis(expiry),
        });
        let excess = r.tokens.len().saturating_sub(TOKENS_KEPT);
        r.tokens.drain(..excess);
        save(self, &all).await?;
        info!(report = %id, user = %caller.user, "report download URL handed out");
        Ok(ReportLocation {
            uri: format!("{base}{DOWNLOAD_PATH}{token}"),
            token,
            expiry,
        })
    }

    /// The CSV behind a download URL's token while it has not expired. Anything else — an
    /// unknown, expired or malformed token, a report pushed out — is the same `not_found`, so
    /// a token cannot be probed.
    pub async fn lcm_report_download(&self, token: &str) -> Result<ReportFile, CoreError> {
        let gone = || CoreError::not_found("download", "report");
        if !download_token::well_formed(token) {
            return Err(gone());
        }
        let hash = download_token::hash(token);
        let now_ms = crate::to_millis(self.clock.now());
        let all = {
            let _l = self.lcm.reports.lock().await;
            load(self).await?
        };
        all.into_iter()
            .find(|r| {
                r.tokens
                    .iter()
                    .any(|t| t.hash == hash && t.expires_ms > now_ms)
            })
            .map(|r| ReportFile {
                name: r.id,
                csv: r.csv,
            })
            .ok_or_else(gone)
    }
}

/// One CSV field: quoted when it holds a separator, a quote or a line break (RFC 4180), and
/// a leading `=`, `+`, `-` or `@` kept from being read as a spreadsheet formula.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// One CSV line of fields, CRLF-terminated as RFC 4180 writes it.
pub fn csv_line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(
            csv_line(&["a", "b c", "d,e", "f\"g"]),
            "a,b c,\"d,e\",\"f\"\"g\"\r\n"
        );
        assert_eq!(csv_field("=1+1"), "'=1+1");
    }
}
