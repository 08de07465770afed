//! Where jobs that ended without a core task wait for their poll, and the client that
//! delivers `X-Web-Hook` results. Shared by every listener.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::Value;

pub struct JobStore {
    pub(crate) early: Mutex<HashMap<String, (Instant, StatusCode, Value)>>,
    /// Delivers `X-Web-Hook` results.
    pub(crate) hooks: reqwest::Client,
}

impl JobStore {
    pub fn new() -> Self {
        JobStore {
            early: Mutex::default(),
            hooks: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("a default HTTP client builds"),
        }
    }
}

impl Default for JobStore {
    fn default() -> Self {
        Self::new()
    }
}
