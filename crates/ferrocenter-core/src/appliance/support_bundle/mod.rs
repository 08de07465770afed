//! Support bundles (`com.vmware.appliance.support_bundle`, seeds/003 "Managing Support
//! Bundles"): a `.tgz` an operator downloads for a support case, made by a task from the
//! manifests of the catalogue (`catalogue`), every JSON document and log line redacted
//! (`redact`), written whole or not at all under a size limit (`archive`) into a partition
//! (a named directory), and served once through an expiring URL on the listener that asked for
//! it. Its record (`records`) persists in the store's settings; bundles older than the
//! retention are removed by a sweep.
//!
//! ferrocenter writes no core dumps (it is a Rust process; a crash is a panic in its log), so
//! `CORES` holds only a note saying so, and `ALL` is `LOGS` with that note.
pub mod archive;
pub mod catalogue;
mod gather;
pub mod records;
pub mod redact;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use catalogue::{catalogue, Manifest, GROUP};
pub use records::{CreationStatus, Record};

use crate::auth::{Caller, Listener, Privilege};
use crate::download_token::{check_authority, hash as token_hash};
use crate::tasks::{Task, TaskContext, TaskKind, TaskResult, TaskSpec};
use crate::ticker::Ticker;
use crate::{Core, CoreError};

/// Where download URLs point, on the listener that made the bundle: this prefix, then the
/// token. The HTTP layer routes it.
pub const DOWNLOAD_PATH: &str = "/support-bundle/download/";

/// What a bundle holds (`support_bundle.content_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContentType {
    /// The manifests selected (all by default).
    Logs,
    /// Core dumps: ferrocenter writes none, so only a note saying so.
    Cores,
    /// `LOGS` and the note of `CORES`.
    All,
}

impl ContentType {
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Logs => "LOGS",
            ContentType::Cores => "CORES",
            ContentType::All => "ALL",
        }
    }

    pub fn parse(s: &str) -> Option<ContentType> {
        [ContentType::Logs, ContentType::Cores, ContentType::All]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// Tunables, from the server configuration.
#[derive(Debug, Clone)]
pub struct SupportBundleConfig {
    /// The partitions a bundle may be written to, by name; the first is the default.
    pub partitions: Vec<(String, PathBuf)>,
    /// The largest bundle written, compressed, in bytes.
    pub max_bytes: u64,
    /// How long a bundle's download URL is valid after the bundle is made.
    pub url_lifetime: Duration,
    /// How long a bundle (and the record of a failed one) is kept.
    pub retention: Duration,
    /// How often the sweep looks for bundles past the retention.
    pub sweep_every: Duration,
}

impl Default for SupportBundleConfig {
    fn default() -> Self {
        SupportBundleConfig {
            partitions: vec![(
                "data".into(),
                std::env::temp_dir().join("ferrocenter-support-bundles"),
            )],
            max_bytes: 1 << 30,
            url_lifetime: Duration::from_secs(3600),
            retention: Duration::from_secs(7 * 86_400),
            sweep_every: Duration::from_secs(60),
        }
    }
}

/// What `create` asks for.
#[derive(Debug, Clone)]
pub struct CreateSpec {
    pub description: String,
    /// Group → manifests; unset or empty: all.
    pub components: Option<BTreeMap<String, Vec<String>>>,
    pub content_type: Option<ContentType>,
    /// A partition's name; unset: the first configured.
    pub partition: Option<String>,
}

pub use crate::download_token::RequestOrigin;

/// What `list` filters on.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only bundles that can (true) or cannot (false) be downloaded now.
    pub available: Option<bool>,
    pub creation_status: Option<CreationStatus>,
}

/// A bundle as `list` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleInfo {
    pub id: String,
    pub description: String,
    pub status: CreationStatus,
    pub generation_time: OffsetDateTime,
    /// Set on every bundle made; it is served while `downloadable`.
    pub url: Option<String>,
    pub expiration_time: Option<OffsetDateTime>,
    pub downloadable: bool,
    pub size: Option<u64>,
    pub failure_reason: Option<String>,
    pub checksum: Option<String>,
    pub content_type: ContentType,
}

/// A bundle file handed to the HTTP layer to stream.
pub struct BundleDownload {
    pub file: tokio::fs::File,
    pub size: u64,
    /// The file name the client is offered.
    pub name: String,
}

/// The one bundle being made, and the lock over the records.
#[derive(Default)]
pub(crate) struct SupportBundleState {
    running: Arc<Mutex<bool>>,
    pub(crate) records: tokio::sync::Mutex<()>,
}

/// Held by the running bundle task; dropping it frees the slot.
struct Claim(Arc<Mutex<bool>>);

impl Drop for Claim {
    fn drop(&mut self) {
        *self.0.lock() = false;
    }
}

impl SupportBundleState {
    fn claim(&self) -> Result<Claim, CoreError> {
        let mut r = self.running.lock();
        if *r {
            return Err(CoreError::invalid_state(
                "a support bundle is being made: one is made at a time",
            ));
        }
        *r = true;
        Ok(Claim(self.running.clone()))
    }
}

/// The fewest bundles a `list` may be asked for (`iteration.size`).
pub const ITERATION_SIZE_MIN: i64 = 1;

impl Core {
    /// `components.get`: the catalogue, group → manifests.
    pub async fn support_bundle_components(
        &self,
        caller: &Caller,
    ) -> Result<BTreeMap<String, Vec<String>>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(catalogue())
    }

    /// `create$task`: checks the spec (components, partition) and starts the task; one bundle
    /// is made at a time (`not_allowed_in_current_state` while one is).
    pub async fn support_bundle_create(
        &self,
        caller: &Caller,
        spec: CreateSpec,
        origin: RequestOrigin,
    ) -> Result<Task, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let content = spec.content_type.unwrap_or(ContentType::Logs);
        let manifests = catalogue::select(spec.components.as_ref(), content)?;
        let cfg = &self.config.support_bundle;
        let (partition, dir) = match &spec.partition {
            None => cfg.partitions.first().cloned().ok_or_else(|| {
                CoreError::invalid("spec.partition", "no partition is configured")
            })?,
            Some(p) => cfg
                .partitions
                .iter()
                .find(|(name, _)| name == p)
                .cloned()
                .ok_or_else(|| {
                    CoreError::invalid(
                        "spec.partition",
                        format!(
                            "unknown partition '{p}' (known: {})",
                            cfg.partitions
                                .iter()
                                .map(|(n, _)| n.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?,
        };
        check_authority(&origin.authority)?;
        let claim = self.support_bundles.claim()?;
        let core = self.self_arc();
        let who = caller.clone();
        let job = gather::Job {
            description: spec.description.clone(),
            content,
            manifests,
            partition,
            dir,
            origin,
        };
        let task = self
            .tasks
            .submit(
                TaskSpec {
                    kind: TaskKind::ApplianceSupportBundle,
                    target: None,
                    initiator: caller.user.clone(),
                    description: format!(
                        "Make a support bundle: {}",
                        redact::text(&spec.description)
                    ),
                    cancelable: true,
                    timeout: None,
                },
                move |ctx| async move {
                    let _claim = claim;
                    core.run_support_bundle(&ctx, &who, job).await
                },
            )
            .await?;
        info!(task = %task.id, "support bundle started");
        Ok(task)
    }

    async fn run_support_bundle(
        &self,
        ctx: &TaskContext,
        caller: &Caller,
        job: gather::Job,
    ) -> Result<TaskResult, CoreError> {
        let id = ctx.id().to_string();
        let started = self.clock.now();
        let made = self.make_bundle(ctx, caller, &id, &job, started).await;
        let record = match &made {
            Ok(w) => {
                let token = crate::download_token::mint();
                Record {
                    id: id.clone(),
                    description: job.description.clone(),
                    status: CreationStatus::Succeeded,
                    content_type: job.content,
                    created_ms: crate::to_millis(started),
                    partition: job.partition.clone(),
                    file: Some(records::file_name(&id)),
                    size: Some(w.size),
                    sha256: Some(w.sha256.clone()),
                    failure_reason: None,
                    token_hash: Some(token_hash(&token)),
                    token_sealed: Some(self.secrets.seal(&token)?),
                    url_base: Some(format!("{}://{}", job.origin.scheme, job.origin.authority)),
                    listener: Some(records::listener_name(job.origin.listener).into()),
                    url_expires_ms: Some(crate::to_millis(
                        self.clock.now() + self.config.support_bundle.url_lifetime,
                    )),
                    downloaded: false,
                }
            }
            Err(e) => Record {
                id: id.clone(),
                description: job.description.clone(),
                status: if matches!(e, CoreError::Cancelled { .. }) {
                    CreationStatus::Cancelled
                } else {
                    CreationStatus::Failed
                },
                content_type: job.content,
                created_ms: crate::to_millis(started),
                partition: job.partition.clone(),
                file: None,
                size: None,
                sha256: None,
                failure_reason: Some(e.to_string()),
                token_hash: None,
                token_sealed: None,
                url_base: None,
                listener: None,
                url_expires_ms: None,
                downloaded: false,
            },
        };
        let saved = self.save_record(record).await;
        if let Err(e) = &saved {
            if made.is_ok() {
                // A bundle nobody can list or download is no bundle: remove it.
                let _ = std::fs::remove_file(job.dir.join(records::file_name(&id)));
            }
            warn!(task = %id, error = %e, "could not record a support bundle");
        }
        let w = made?;
        saved?;
        ctx.progress(100, "Support bundle complete").await;
        info!(task = %id, bytes = w.size, "support bundle made");
        Ok(TaskResult::SupportBundle { support_bundle: id })
    }

    async fn save_record(&self, r: Record) -> Result<(), CoreError> {
        let _l = self.support_bundles.records.lock().await;
        let mut all = records::load(self.store.as_ref()).await?;
        all.retain(|x| x.id != r.id);
        all.push(r);
        records::save(self.store.as_ref(), &all).await
    }

    /// `list`: the bundles made, newest first, filtered, at most `size` of them.
    pub async fn support_bundle_list(
        &self,
        caller: &Caller,
        size: Option<i64>,
        filter: &ListFilter,
    ) -> Result<Vec<BundleInfo>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let limit = match size {
            None => usize::MAX,
            Some(n) if n >= ITERATION_SIZE_MIN => usize::try_from(n).unwrap_or(usize::MAX),
            Some(n) => {
                return Err(CoreError::invalid(
                    "iteration.size",
                    format!("{n}: must be at least {ITERATION_SIZE_MIN}"),
                ))
            }
        };
        self.support_bundle_sweep().await?;
        let now = self.clock.now();
        let mut all = {
            let _l = self.support_bundles.records.lock().await;
            records::load(self.store.as_ref()).await?
        };
        all.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(b.id.cmp(&a.id)));
        let mut out = Vec::new();
        for r in all {
            let info = self.info_of(&r, now);
            if filter.available.is_some_and(|a| a != info.downloadable) {
                continue;
            }
            if filter.creation_status.is_some_and(|s| s != info.status) {
                continue;
            }
            out.push(info);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn info_of(&self, r: &Record, now: OffsetDateTime) -> BundleInfo {
        let expires = r.url_expires_ms.map(crate::from_millis);
        let downloadable = r.status == CreationStatus::Succeeded
            && !r.downloaded
            && expires.is_some_and(|e| now < e)
            && self.bundle_path(r).is_some_and(|p| p.exists());
        // The SDK requires a URL on every bundle made; once used or expired it answers 404.
        let url = if r.status == CreationStatus::Succeeded {
            match (&r.url_base, &r.token_sealed) {
                (Some(base), Some(sealed)) => self
                    .secrets
                    .open(sealed)
                    .ok()
                    .map(|t| format!("{base}{DOWNLOAD_PATH}{t}")),
                _ => None,
            }
        } else {
            None
        };
        BundleInfo {
            id: r.id.clone(),
            description: r.description.clone(),
            status: r.status,
            generation_time: crate::from_millis(r.created_ms),
            url,
            expiration_time: expires,
            downloadable,
            size: r.size,
            failure_reason: r.failure_reason.clone(),
            checksum: r.sha256.clone(),
            content_type: r.content_type,
        }
    }

    fn bundle_path(&self, r: &Record) -> Option<PathBuf> {
        let file = r.file.as_ref()?;
        let dir = self
            .config
            .support_bundle
            .partitions
            .iter()
            .find(|(n, _)| *n == r.partition)?
            .1
            .clone();
        Some(dir.join(file))
    }

    /// `delete`: removes a bundle's file and record; an unknown id is not found.
    pub async fn support_bundle_delete(&self, caller: &Caller, id: &str) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let _l = self.support_bundles.records.lock().await;
        let mut all = records::load(self.store.as_ref()).await?;
        let Some(i) = all.iter().position(|r| r.id == id) else {
            return Err(CoreError::not_found("support bundle", id));
        };
        let r = all.remove(i);
        records::save(self.store.as_ref(), &all).await?;
        self.remove_bundle_file(&r);
        info!(bundle = %id, user = %caller.user, "support bundle deleted");
        Ok(())
    }

    fn remove_bundle_file(&self, r: &Record) {
        if let Some(p) = self.bundle_path(r) {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    warn!(file = %p.display(), error = %e, "could not remove a support bundle");
                }
            }
        }
    }

    /// The download behind a URL's token, on the listener that made it: once, before it
    /// expires. Anything else — an unknown token, another listener, a second use, an expired
    /// URL, a bundle swept away — is the same `not_found`, so a token cannot be probed.
    pub async fn support_bundle_download(
        &self,
        listener: Listener,
        token: &str,
    ) -> Result<BundleDownload, CoreError> {
        let gone = || CoreError::not_found("download", "support bundle");
        if !crate::download_token::well_formed(token) {
            return Err(gone());
        }
        let hash = token_hash(token);
        let now = self.clock.now();
        let _l = self.support_bundles.records.lock().await;
        let mut all = records::load(self.store.as_ref()).await?;
        let Some(r) = all
            .iter_mut()
            .find(|r| r.token_hash.as_deref() == Some(hash.as_str()))
        else {
            return Err(gone());
        };
        let usable = !r.downloaded
            && r.listener.as_deref() == Some(records::listener_name(listener))
            && r.url_expires_ms
                .is_some_and(|e| now < crate::from_millis(e));
        if !usable {
            return Err(gone());
        }
        let path = self.bundle_path(r).ok_or_else(gone)?;
        let file = tokio::fs::File::open(&path).await.map_err(|_| gone())?;
        let size = file.metadata().await.map_err(|_| gone())?.len();
        // Used up before a byte is sent: a second request, even one racing this, finds nothing.
        r.downloaded = true;
        let name = format!("ferrocenter-support-{}.tgz", r.id);
        let id = r.id.clone();
        records::save(self.store.as_ref(), &all).await?;
        info!(bundle = %id, "support bundle downloaded");
        Ok(BundleDownload { file, size, name })
    }

    /// Removes the bundles (and records) older than the retention; returns how many.
    pub async fn support_bundle_sweep(&self) -> Result<usize, CoreError> {
        let cutoff = self.clock.now() - self.config.support_bundle.retention;
        let _l = self.support_bundles.records.lock().await;
        let mut all = records::load(self.store.as_ref()).await?;
        let (old, keep): (Vec<Record>, Vec<Record>) = all
            .drain(..)
            .partition(|r| crate::from_millis(r.created_ms) < cutoff);
        if old.is_empty() {
            return Ok(0);
        }
        records::save(self.store.as_ref(), &keep).await?;
        for r in &old {
            self.remove_bundle_file(r);
            info!(bundle = %r.id, "support bundle past its retention removed");
        }
        Ok(old.len())
    }

    /// Runs the retention sweep every `sweep_every` until `stop`.
    pub fn start_support_bundle_sweeper(&self, stop: CancellationToken) {
        let core = self.self_arc();
        let every = self.config.support_bundle.sweep_every;
        tokio::spawn(async move {
            let mut ticker = Ticker::new(every, stop);
            while ticker.next().await {
                if let Err(e) = core.support_bundle_sweep().await {
                    warn!(error = %e, "support bundle sweep failed");
                }
            }
        });
    }

    /// At start: partial bundle files a stopped process left are removed (their task is
    /// failed by the task engine's recovery).
    pub fn clear_support_bundle_partials(&self) {
        for (_, dir) in &self.config.support_bundle.partitions {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.to_string_lossy().ends_with(".tgz.partial") {
                    let _ = std::fs::remove_file(&p);
                    warn!(file = %p.display(), "removed a support bundle a stopped server left half-written");
                }
            }
        }
    }
}
