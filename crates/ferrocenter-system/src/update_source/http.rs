//! Repository files over HTTP(S) through the crate's one HTTP client (`http_client`); two
//! clients, one checking certificates and one not, so that the policy's `certificate_check`
//! chooses per request without a client built per request.
use std::time::Duration;

use ferrocenter_core::ports::{DownloadProgress, UpdateLocation, UpdateSourceError};
use futures_util::StreamExt;
use reqwest::StatusCode;

use crate::http_client::{client, source_chain, HttpTrust};

pub(super) struct Http {
    checked: reqwest::Client,
    unchecked: reqwest::Client,
}

impl Http {
    pub(super) fn new(
        trusted_ca: &[Vec<u8>],
        timeout: Duration,
    ) -> Result<Http, UpdateSourceError> {
        let build = |certificate_check| {
            client(
                &HttpTrust {
                    extra_roots_der: trusted_ca,
                    certificate_check,
                },
                timeout,
            )
            .map_err(|reason| UpdateSourceError::Invalid {
                location: "update_ca_file".into(),
                reason,
            })
        };
        Ok(Http {
            checked: build(true)?,
            unchecked: build(false)?,
        })
    }

    /// Streams `file` under the URL into `out`, refused past `limit` bytes.
    pub(super) async fn copy<W: tokio::io::AsyncWrite + Unpin + Send>(
        &self,
        at: &UpdateLocation,
        file: &str,
        out: &mut W,
        limit: u64,
        progress: DownloadProgress<'_>,
    ) -> Result<u64, UpdateSourceError> {
        let UpdateLocation::Url {
            url,
            login,
            certificate_check,
        } = at
        else {
            return Err(UpdateSourceError::Invalid {
                location: at.describe(),
                reason: "not a URL".into(),
            });
        };
        let invalid = |reason: String| UpdateSourceError::Invalid {
            location: url.clone(),
            reason,
        };
        let mut base = url::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("only http:// and https:// URLs are read".into()));
        }
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let target = base.join(file).map_err(|e| invalid(e.to_string()))?;
        let client = if *certificate_check {
            &self.checked
        } else {
            &self.unchecked
        };
        let mut request = client.get(target);
        if let Some((user, password)) = login {
            request = request.basic_auth(user, Some(password.expose()));
        }
        let response = request.send().await.map_err(|e| {
            let reason = source_chain(&e);
            if reason.contains("certificate") {
                UpdateSourceError::Certificate {
                    location: url.clone(),
                    reason,
                }
            } else {
                UpdateSourceError::Unreachable {
                    location: url.clone(),
                    reason,
                }
            }
        })?;
        match response.status() {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(UpdateSourceError::AuthRefused {
                    location: url.clone(),
                    user: login.as_ref().map(|(u, _)| u.clone()),
                })
            }
            StatusCode::NOT_FOUND => {
                return Err(UpdateSourceError::NotFound {
                    location: url.clone(),
                    file: file.into(),
                })
            }
            s => {
                return Err(UpdateSourceError::Io {
                    location: url.clone(),
                    file: file.into(),
                    reason: format!("the server answered {s}"),
                })
            }
        }
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(UpdateSourceError::TooLarge {
                location: url.clone(),
                file: file.into(),
                limit,
            });
        }
        let mut body = response.bytes_stream();
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| UpdateSourceError::Io {
                location: url.clone(),
                file: file.into(),
                reason: source_chain(&e),
            })?;
            written = super::write_bounded(at, file, out, written, &chunk, limit).await?;
            progress(written);
        }
        Ok(written)
    }
}
