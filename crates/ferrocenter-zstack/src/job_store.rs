//! Where jobs that ended without a core task wait for their poll, the destinations `X-Web-Hook`
//! may name, and the client that delivers web-hook results. Shared by every listener.
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use reqwest::Url;
use serde_json::Value;

/// ZStack's `rest.completedApi.expiredPeriod`: how long a finished job can be polled.
pub(crate) const KEEP: Duration = Duration::from_secs(10_800);
/// Jobs held at most (each about 1 KB); past it the oldest go first. Only authenticated calls
/// create jobs, so this bounds what a flood of them can hold.
pub const MAX_JOBS: usize = 10_000;

/// A job that ended: when, its status and its body.
pub(crate) type Ended = (Instant, StatusCode, Value);

/// Finished jobs by id, and their arrival order (which is also their expiry order).
#[derive(Default)]
pub(crate) struct Jobs {
    by_id: HashMap<String, Ended>,
    order: VecDeque<String>,
}

impl Jobs {
    /// Records a job; false when the id is taken. Expired jobs, then the oldest beyond
    /// `cap`, are dropped first.
    pub(crate) fn insert(&mut self, id: &str, ended: Ended, cap: usize) -> bool {
        if self.by_id.contains_key(id) {
            return false;
        }
        let now = ended.0;
        while let Some(first) = self.order.front() {
            let expired = self
                .by_id
                .get(first)
                .is_none_or(|(t, _, _)| now.duration_since(*t) >= KEEP);
            if !expired && self.order.len() < cap {
                break;
            }
            if let Some(first) = self.order.pop_front() {
                self.by_id.remove(&first);
            }
        }
        self.order.push_back(id.to_string());
        self.by_id.insert(id.to_string(), ended);
        true
    }

    pub(crate) fn get(&self, id: &str) -> Option<Ended> {
        self.by_id.get(id).cloned()
    }

    fn len(&self) -> usize {
        self.by_id.len()
    }
}

/// A configured web-hook destination is not a usable URL prefix.
#[derive(Debug, thiserror::Error)]
#[error("'{entry}' is not an http or https URL without a query: {reason}")]
pub struct BadDestination {
    pub entry: String,
    pub reason: String,
}

/// The destinations `X-Web-Hook` may name: URL prefixes, each a scheme, host, port and path.
/// None by default: a web hook makes the server send requests wherever the caller says, so
/// the operator names the receivers.
#[derive(Debug, Clone, Default)]
pub struct HookDestinations {
    allowed: Vec<Url>,
}

impl HookDestinations {
    pub fn new(entries: &[String]) -> Result<Self, BadDestination> {
        let allowed = entries
            .iter()
            .map(|e| {
                let bad = |reason: &str| BadDestination {
                    entry: e.clone(),
                    reason: reason.to_string(),
                };
                let u = Url::parse(e.trim()).map_err(|err| bad(&err.to_string()))?;
                if !matches!(u.scheme(), "http" | "https") {
                    return Err(bad("the scheme must be http or https"));
                }
                if u.host_str().is_none() {
                    return Err(bad("it names no host"));
                }
                if u.query().is_some() || u.fragment().is_some() || !u.username().is_empty() {
                    return Err(bad("a prefix carries no query, fragment or user"));
                }
                Ok(u)
            })
            .collect::<Result<_, _>>()?;
        Ok(HookDestinations { allowed })
    }

    /// Whether `url` starts with an allowed prefix: the same scheme, host and port, and a path
    /// equal to the prefix's or below it (`/hook` allows `/hook/a`, not `/hooks`).
    pub fn allows(&self, url: &Url) -> bool {
        self.allowed.iter().any(|a| {
            let (ap, up) = (a.path().trim_end_matches('/'), url.path());
            a.scheme() == url.scheme()
                && a.host_str() == url.host_str()
                && a.port_or_known_default() == url.port_or_known_default()
                && url.username().is_empty()
                && url.password().is_none()
                && (up == ap || up.starts_with(&format!("{ap}/")))
        })
    }
}

/// A URL as logs and errors show it: scheme, host, port and path; never the query, which may
/// carry a token, nor a user or password.
pub fn loggable_url(u: &Url) -> String {
    format!(
        "{}://{}:{}{}",
        u.scheme(),
        u.host_str().unwrap_or(""),
        u.port_or_known_default().unwrap_or(0),
        u.path()
    )
}

pub struct JobStore {
    pub(crate) early: Mutex<Jobs>,
    /// Delivers `X-Web-Hook` results.
    pub(crate) hooks: reqwest::Client,
    pub(crate) destinations: HookDestinations,
}

#[allow(
    clippy::expect_used,
    reason = "the builder fails only on a TLS backend it cannot load, which is a build defect"
)]
fn web_hook_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        // A redirect would take the result to a destination nobody allowed.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a default HTTP client builds")
}

impl JobStore {
    pub fn new(destinations: HookDestinations) -> Self {
        JobStore {
            early: Mutex::default(),
            hooks: web_hook_client(),
            destinations,
        }
    }

    /// How many jobs are held.
    pub fn len(&self) -> usize {
        self.early.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for JobStore {
    fn default() -> Self {
        Self::new(HookDestinations::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_store_keeps_at_most_its_cap_dropping_the_oldest() {
        let mut jobs = Jobs::default();
        let now = Instant::now();
        for i in 0..25 {
            assert!(jobs.insert(&format!("j{i}"), (now, StatusCode::OK, json!({})), 10));
        }
        assert_eq!(jobs.len(), 10);
        assert!(jobs.get("j14").is_none() && jobs.get("j15").is_some());
        assert!(
            !jobs.insert("j24", (now, StatusCode::OK, json!({})), 10),
            "taken"
        );
        // Expired jobs go at the next insert.
        let later = now + KEEP;
        assert!(jobs.insert("new", (later, StatusCode::OK, json!({})), 10));
        assert_eq!(jobs.len(), 1);
    }

    #[test]
    fn destinations_match_scheme_host_port_and_path_prefix() {
        let d = HookDestinations::new(&["http://hooks.example:9000/zs".into()]).unwrap();
        let ok = |s: &str| d.allows(&Url::parse(s).unwrap());
        assert!(ok("http://hooks.example:9000/zs"));
        assert!(ok("http://hooks.example:9000/zs/job?token=x"));
        assert!(!ok("http://hooks.example:9000/zsx"));
        assert!(!ok("http://hooks.example:9001/zs"));
        assert!(!ok("https://hooks.example:9000/zs"));
        assert!(!ok("http://other.example:9000/zs"));
        assert!(!ok("http://u:p@hooks.example:9000/zs"));
        assert!(!HookDestinations::default().allows(&Url::parse("http://a/").unwrap()));
        let any_path = HookDestinations::new(&["https://h.example".into()]).unwrap();
        assert!(any_path.allows(&Url::parse("https://h.example:443/a/b").unwrap()));
        for bad in ["ftp://h/", "http://h/?q=1", "not a url", "http://u@h/"] {
            assert!(HookDestinations::new(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn logged_urls_have_no_query_or_credentials() {
        let u = Url::parse("https://u:pw@h.example/hook?token=secret#x").unwrap();
        assert_eq!(loggable_url(&u), "https://h.example:443/hook");
    }
}
