//! Collecting a bundle's files, manifest by manifest, from the core's own operations and the
//! `SupportSources` port, then writing them (`archive`). Every JSON document passes through
//! `redact::value` and every log line through `redact` before it is written.
use std::path::PathBuf;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::archive::{self, Entry, WriteError};
use super::{redact, ContentType, Manifest, RequestOrigin};
use crate::appliance::health::Component;
use crate::appliance::monitoring::DataRequest;
use crate::auth::Caller;
use crate::inventory::{EventFilter, HostFilter};
use crate::ports::TaskFilter;
use crate::tasks::TaskContext;
use crate::{Core, CoreError};

/// What the task makes.
pub(super) struct Job {
    pub description: String,
    pub content: ContentType,
    pub manifests: Vec<Manifest>,
    pub partition: String,
    pub dir: PathBuf,
    pub origin: RequestOrigin,
}

/// The most tasks and events a bundle holds (the newest).
const MAX_ROWS: u32 = 10_000;

const CORES_NOTE: &str = "ferrocenter writes no core dumps: it is a single Rust process, and \
a crash is a panic recorded with its backtrace in the log (logs/). This directory is where \
core dumps would be; it is empty by design.\n";

fn time_text(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn json_entry(path: &str, v: &Value) -> Entry {
    let v = redact::value(v);
    Entry {
        path: path.to_string(),
        bytes: serde_json::to_vec_pretty(&v).unwrap_or_default(),
    }
}

/// Lines redacted between two looks at the task's cancel and the runtime's other work.
const LINES_PER_STEP: usize = 5_000;

/// One log line: a JSON line redacted by key, any other line as text.
fn redact_line(line: &str, out: &mut String) {
    match serde_json::from_str::<Value>(line) {
        Ok(v) => out.push_str(&redact::value(&v).to_string()),
        Err(_) => out.push_str(&redact::text(line)),
    }
    out.push('\n');
}

/// A log file, line by line, stopping when the task is cancelled: a large log must not hold
/// a cancel (or a runtime thread) until it is done.
async fn redact_log(ctx: &TaskContext, bytes: &[u8]) -> Result<Vec<u8>, CoreError> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        redact_line(line, &mut out);
        if i % LINES_PER_STEP == LINES_PER_STEP - 1 {
            ctx.check()?;
            tokio::task::yield_now().await;
        }
    }
    Ok(out.into_bytes())
}

/// A log's name as a path inside the bundle: its last component only.
fn log_path(name: &str) -> Option<String> {
    let base = name.rsplit('/').next()?;
    (!base.is_empty() && base != "." && base != "..").then(|| format!("logs/{base}"))
}

fn err(what: &str, e: impl std::fmt::Display) -> CoreError {
    CoreError::internal(format!("support bundle: {what}: {e}"))
}

impl Core {
    pub(super) async fn make_bundle(
        &self,
        ctx: &TaskContext,
        caller: &Caller,
        id: &str,
        job: &Job,
        started: OffsetDateTime,
    ) -> Result<archive::Written, CoreError> {
        let mut entries = Vec::new();
        let total = job.manifests.len().max(1);
        for (i, m) in job.manifests.iter().enumerate() {
            ctx.check()?;
            let pct = 5 + u8::try_from(i * 80 / total).unwrap_or(80);
            ctx.progress(pct, format!("Collecting {}", m.as_str()))
                .await;
            entries.extend(self.collect(ctx, *m, caller).await?);
        }
        if job.content != ContentType::Logs {
            entries.push(Entry {
                path: "cores/README.txt".into(),
                bytes: CORES_NOTE.as_bytes().to_vec(),
            });
        }
        let manifest = json!({
            "product": "ferrocenter",
            "version": env!("CARGO_PKG_VERSION"),
            "id": id,
            "description": job.description,
            "created_at": time_text(started),
            "content_type": job.content.as_str(),
            "components": { super::GROUP: job.manifests.iter().map(|m| m.as_str()).collect::<Vec<_>>() },
            "files": entries.iter().map(|e| json!({"path": e.path, "bytes": e.bytes.len()})).collect::<Vec<_>>(),
            "redaction": "every value under a key naming a secret (password, secret, token, key, \
                credential, …), URL passwords, secret=value pairs and PEM private keys are \
                replaced by <redacted>; the server's secret.key, TLS private key and store \
                identity are never read",
        });
        entries.insert(0, json_entry("MANIFEST.json", &manifest));
        ctx.check()?;
        ctx.progress(90, "Writing the bundle").await;
        std::fs::create_dir_all(&job.dir).map_err(|e| {
            CoreError::invalid(
                "spec.partition",
                format!("partition '{}' cannot be written: {e}", job.partition),
            )
        })?;
        let dest = job.dir.join(super::records::file_name(id));
        let limit = self.config.support_bundle.max_bytes;
        let root = format!("ferrocenter-support-{id}");
        let mtime = u64::try_from(started.unix_timestamp()).unwrap_or(0);
        let written = tokio::task::spawn_blocking(move || {
            archive::write_tgz(&dest, &root, &entries, limit, mtime)
        })
        .await
        .map_err(|e| err("writer", e))?;
        match written {
            Ok(w) => {
                if let Err(e) = ctx.check() {
                    let _ = std::fs::remove_file(job.dir.join(super::records::file_name(id)));
                    return Err(e);
                }
                Ok(w)
            }
            Err(WriteError::TooLarge { limit }) => Err(CoreError::invalid_state(format!(
                "the support bundle exceeds the size limit of {limit} bytes \
                 (support_bundle_max_bytes); select fewer components"
            ))),
            Err(e) => Err(err("writing", e)),
        }
    }

    async fn collect(
        &self,
        ctx: &TaskContext,
        m: Manifest,
        caller: &Caller,
    ) -> Result<Vec<Entry>, CoreError> {
        let dir = m.as_str();
        Ok(match m {
            Manifest::Logs => {
                let mut out = Vec::new();
                let names = self
                    .support_sources
                    .log_files()
                    .await
                    .map_err(|e| err("logs", e))?;
                for name in names {
                    let Some(path) = log_path(&name) else {
                        continue;
                    };
                    let bytes = self
                        .support_sources
                        .read_log(&name)
                        .await
                        .map_err(|e| err("logs", e))?;
                    out.push(Entry {
                        path,
                        bytes: redact_log(ctx, &bytes).await?,
                    });
                }
                out
            }
            Manifest::Configuration => {
                let sources = self
                    .support_sources
                    .configuration()
                    .await
                    .map_err(|e| err("configuration", e))?;
                sources
                    .iter()
                    .map(|s| json_entry(&format!("{dir}/{}.json", s.name), &s.values))
                    .collect()
            }
            Manifest::TasksEvents => {
                let tasks = self
                    .store
                    .list_tasks(&TaskFilter {
                        limit: Some(MAX_ROWS),
                        ..Default::default()
                    })
                    .await?;
                let tasks: Vec<Value> = tasks
                    .iter()
                    .map(|t| {
                        json!({
                            "id": t.id,
                            "moid": t.moid,
                            "kind": t.kind.as_str(),
                            "target": t.target.as_ref().map(|e| json!({"kind": e.kind, "id": e.id})),
                            "initiator": t.initiator,
                            "description": t.description,
                            "state": t.state.as_str(),
                            "progress": t.progress,
                            "progress_message": t.progress_message,
                            "result": t.result.as_ref().and_then(|r| serde_json::to_value(r).ok()),
                            "error": t.error.as_ref().map(ToString::to_string),
                            "cancelled": t.cancelled,
                            "queued_at": time_text(t.queued_at),
                            "started_at": t.started_at.map(time_text),
                            "completed_at": t.completed_at.map(time_text),
                        })
                    })
                    .collect();
                let events = self
                    .store
                    .list_events(&EventFilter {
                        limit: Some(MAX_ROWS),
                        ..Default::default()
                    })
                    .await?;
                let events: Vec<Value> = events
                    .iter()
                    .map(|e| {
                        json!({
                            "seq": e.seq,
                            "time": time_text(e.time),
                            "kind": e.kind,
                            "entity_kind": e.entity_kind,
                            "entity_id": e.entity_id,
                            "entity_name": e.entity_name,
                            "user": e.user,
                            "message": e.message,
                            "data": e.data,
                        })
                    })
                    .collect();
                vec![
                    json_entry(&format!("{dir}/tasks.json"), &Value::Array(tasks)),
                    json_entry(&format!("{dir}/events.json"), &Value::Array(events)),
                ]
            }
            Manifest::Store => {
                let tables = self.store.data_tables().await?;
                let sizes = self.store.table_sizes(&tables).await?;
                let db = self.health_database(caller).await?;
                vec![json_entry(
                    &format!("{dir}/store.json"),
                    &json!({
                        "engine": self.store.engine(),
                        "schema_version": self.store.schema_version().await?,
                        "database_health": {
                            "status": db.status.as_str(),
                            "messages": db.messages.iter().map(|m| json!({
                                "severity": m.severity.as_str(),
                                "message": m.message.default_message,
                            })).collect::<Vec<_>>(),
                        },
                        "tables": sizes.iter().map(|t| json!({
                            "table": t.table, "rows": t.rows, "bytes": t.bytes,
                        })).collect::<Vec<_>>(),
                    }),
                )]
            }
            Manifest::Health => {
                let mut items = Vec::new();
                for c in Component::ALL {
                    let level = self.health_level(caller, c).await?;
                    let messages = self.health_messages(caller, c.as_str()).await?;
                    items.push(json!({
                        "item": c.as_str(),
                        "level": level.as_str(),
                        "messages": messages.iter().map(|m| json!({
                            "id": m.id,
                            "message": m.message.default_message,
                            "resolution": m.resolution.as_ref().map(|r| r.default_message.clone()),
                        })).collect::<Vec<_>>(),
                    }));
                }
                let checked = self.health_lastcheck(caller).await?;
                vec![json_entry(
                    &format!("{dir}/health.json"),
                    &json!({"checked_at": time_text(checked), "items": items}),
                )]
            }
            Manifest::Statistics => {
                let items = self.monitoring_list(caller).await?;
                let now = self.clock.now();
                let data = self
                    .monitoring_query(
                        caller,
                        &DataRequest {
                            names: items.iter().map(|i| i.id.clone()).collect(),
                            interval: "MINUTES5".into(),
                            function: "MAX".into(),
                            start_time: now - time::Duration::hours(1),
                            end_time: now,
                        },
                    )
                    .await?;
                vec![json_entry(
                    &format!("{dir}/statistics.json"),
                    &json!({
                        "interval": "MINUTES5",
                        "function": "MAX",
                        "start_time": time_text(now - time::Duration::hours(1)),
                        "end_time": time_text(now),
                        "items": items.iter().map(|i| {
                            let d = data.iter().find(|d| d.name == i.id);
                            json!({
                                "id": i.id,
                                "name": i.name,
                                "units": i.units,
                                "category": i.category,
                                "data": d.map(|d| d.data.clone()).unwrap_or_default(),
                            })
                        }).collect::<Vec<_>>(),
                    }),
                )]
            }
            Manifest::Fleet => {
                let hosts = self.store.list_hosts(&HostFilter::default()).await?;
                let hosts: Vec<Value> = hosts
                    .iter()
                    .map(|h| {
                        let f = h.facts.as_deref();
                        json!({
                            "id": h.id,
                            "moid": h.moid,
                            "name": h.name,
                            "address": h.address,
                            "port": h.port,
                            "connection_state": h.connection_state.as_str(),
                            "state": h.state.as_str(),
                            "agent_version": f.map(|f| f.agent_version.clone()),
                            "os": f.map(|f| format!("{} {}", f.os_name, f.os_version)),
                            "hypervisor": f.map(|f| json!({
                                "name": f.hypervisor.name,
                                "version": f.hypervisor.version,
                                "libvirt_version": f.hypervisor.libvirt_version,
                                "qemu_version": f.hypervisor.qemu_version,
                            })),
                        })
                    })
                    .collect();
                vec![json_entry(
                    &format!("{dir}/agents.json"),
                    &json!({"server_version": env!("CARGO_PKG_VERSION"), "hosts": hosts}),
                )]
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_redacted_and_names_kept_inside() {
        let mut out = String::new();
        redact_line(
            "{\"fields\":{\"password\":\"P1\",\"message\":\"x\"}}",
            &mut out,
        );
        redact_line("plain pwd=P2 here", &mut out);
        assert!(!out.contains("P1") && !out.contains("P2"), "{out}");
        assert_eq!(log_path("../../etc/passwd").as_deref(), Some("logs/passwd"));
        assert_eq!(log_path("..").as_deref(), None);
    }
}
