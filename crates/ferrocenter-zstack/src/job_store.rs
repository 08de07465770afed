//! Where jobs that ended without a core task wait for their poll, and the client that
//! delivers `X-Web-Hook` results. Shared by every listener.
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::Value;

pub struct JobStore {
    pub(crate) early: Mutex<HashMap<String, (Instant, StatusCode, Value)>>,
    /// Delivers `X-Web-Hook` results.
    pub(crate) hooks: reqwest::Client,
}

#[allow(
    clippy::expect_used,
    reason = "the builder fails only on a TLS backend it cannot load, which is a build defect"
)]
fn web_hook_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a default HTTP client builds")
}

impl JobStore {
    pub fn new() -> Self {
        JobStore {
            early: Mutex::default(),
            hooks: web_hook_client(),
        }
    }
}

impl Default for JobStore {
    fn default() -> Self {
        Self::new()
    }
}
