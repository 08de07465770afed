//! The Prometheus metrics of `GET /metrics` (when `enable_metrics` is set), kept with the
//! `prometheus-client` crate: requests and their latencies per API surface, connections the
//! inbound firewall let in or refused — counted as they happen — and, read from the core when
//! scraped, tasks by state, hosts by connection state, the last heartbeat round and the store's
//! answer time, and the syslog forwarding's delivery figures per receiver. Counts and timings
//! only: no label carries a user, a host or a path (a syslog receiver is labelled by its
//! position in the configuration and its protocol).
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ferrocenter_core::appliance::firewall::Verdict;
use ferrocenter_core::Core;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    surface: &'static str,
    /// The status code's class (`2xx` … `5xx`), so the label set stays small.
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SurfaceLabel {
    surface: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionLabels {
    listener: &'static str,
    verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SyslogLabels {
    /// The receiver's position in `appliance.logging.forwarding` (0 to 2).
    receiver: String,
    protocol: &'static str,
}

type Seconds = Gauge<f64, AtomicU64>;

/// The syslog forwarding's figures, read from the forwarder when scraped.
#[derive(Default)]
struct SyslogFigures {
    sent: Family<SyslogLabels, Gauge>,
    dropped: Family<SyslogLabels, Gauge>,
    queued: Family<SyslogLabels, Gauge>,
    queued_bytes: Family<SyslogLabels, Gauge>,
}

/// Every metric, registered once per server.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<SurfaceLabel, Histogram>,
    connections: Family<ConnectionLabels, Counter>,
    tasks: Family<StateLabel, Gauge>,
    hosts: Family<StateLabel, Gauge>,
    read_model: Family<KindLabel, Gauge>,
    heartbeat_seconds: Seconds,
    heartbeat_hosts: Gauge,
    heartbeat_answered: Gauge,
    store_seconds: Seconds,
    syslog: SyslogFigures,
}

/// The task states of `TaskState::as_str`, reported as 0 when none is recorded.
const TASK_STATES: [&str; 4] = ["queued", "running", "success", "error"];

fn latency_histogram() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<SurfaceLabel, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let connections = Family::<ConnectionLabels, Counter>::default();
        let tasks = Family::<StateLabel, Gauge>::default();
        let hosts = Family::<StateLabel, Gauge>::default();
        let heartbeat_seconds = Seconds::default();
        let read_model = Family::<KindLabel, Gauge>::default();
        let heartbeat_hosts = Gauge::default();
        let heartbeat_answered = Gauge::default();
        let store_seconds = Seconds::default();
        registry.register(
            "ferrocenter_http_requests",
            "HTTP requests answered, by API surface (vapi: /api and /rest; vi-json: /sdk; zstack; other) and status class",
            requests.clone(),
        );
        registry.register(
            "ferrocenter_http_request_duration_seconds",
            "Time to answer an HTTP request, by API surface",
            latency.clone(),
        );
        registry.register(
            "ferrocenter_connections",
            "TCP connections accepted by a listener, by the inbound firewall's verdict (accept, ignore, reject)",
            connections.clone(),
        );
        registry.register(
            "ferrocenter_tasks",
            "Tasks recorded, by state",
            tasks.clone(),
        );
        registry.register(
            "ferrocenter_hosts",
            "Managed hosts, by connection state",
            hosts.clone(),
        );
        registry.register(
            "ferrocenter_read_model_records",
            "Records the in-memory read model holds, by kind (its memory grows with these)",
            read_model.clone(),
        );
        registry.register(
            "ferrocenter_heartbeat_round_seconds",
            "How long the last heartbeat round over the connected hosts took",
            heartbeat_seconds.clone(),
        );
        registry.register(
            "ferrocenter_heartbeat_round_hosts",
            "Hosts checked by the last heartbeat round",
            heartbeat_hosts.clone(),
        );
        registry.register(
            "ferrocenter_heartbeat_round_answered",
            "Hosts that answered the last heartbeat round",
            heartbeat_answered.clone(),
        );
        registry.register(
            "ferrocenter_store_query_seconds",
            "The store's answer time to a trivial query, measured when scraped",
            store_seconds.clone(),
        );
        let syslog = SyslogFigures::default();
        for (name, help, family) in [
            (
                "ferrocenter_syslog_sent_messages",
                "Log messages a syslog receiver took since it was configured, by receiver",
                &syslog.sent,
            ),
            (
                "ferrocenter_syslog_dropped_messages",
                "Log messages dropped because a syslog receiver's queue was full, by receiver",
                &syslog.dropped,
            ),
            (
                "ferrocenter_syslog_queued_messages",
                "Log messages waiting for a syslog receiver",
                &syslog.queued,
            ),
            (
                "ferrocenter_syslog_queued_bytes",
                "Bytes of log messages waiting for a syslog receiver",
                &syslog.queued_bytes,
            ),
        ] {
            registry.register(name, help, family.clone());
        }
        Metrics {
            syslog,
            registry,
            requests,
            latency,
            connections,
            tasks,
            hosts,
            read_model,
            heartbeat_seconds,
            heartbeat_hosts,
            heartbeat_answered,
            store_seconds,
        }
    }
}

/// The surface a request path belongs to, as the metrics name it.
pub fn surface_of(path: &str) -> &'static str {
    let under = |p: &str| path == p || path.starts_with(p) && path[p.len()..].starts_with('/');
    if under("/api") || under("/rest") {
        "vapi"
    } else if under("/sdk") {
        "vi-json"
    } else if under("/zstack") {
        "zstack"
    } else if under("/lookupservice") {
        "lookup"
    } else {
        "other"
    }
}

fn status_class(s: StatusCode) -> &'static str {
    match s.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Metrics {
    /// A connection a listener accepted, and what the firewall made of it.
    pub fn connection(&self, listener: &'static str, verdict: Verdict) {
        let verdict = match verdict {
            Verdict::Accept => "accept",
            Verdict::Ignore => "ignore",
            Verdict::Reject => "reject",
        };
        self.connections
            .get_or_create(&ConnectionLabels { listener, verdict })
            .inc();
    }

    /// The text exposition, with the figures read from the core now.
    pub async fn render(&self, core: &Core) -> Result<String, String> {
        let figures = core
            .operator_figures()
            .await
            .map_err(|e| format!("the figures could not be read: {e}"))?;
        for s in TASK_STATES {
            self.tasks
                .get_or_create(&StateLabel { state: s.into() })
                .set(0);
        }
        for (state, n) in &figures.tasks_by_state {
            self.tasks
                .get_or_create(&StateLabel {
                    state: state.clone(),
                })
                .set(gauge(*n));
        }
        for (state, n) in &figures.hosts_by_state {
            self.hosts
                .get_or_create(&StateLabel {
                    state: (*state).to_string(),
                })
                .set(gauge(*n));
        }
        let size = core.read_model.size();
        for (kind, n) in [
            ("hosts", size.hosts),
            ("tagged_resources", size.tagged_resources),
            ("containers", size.containers),
            ("hosts_with_vm_usage", size.hosts_with_vm_usage),
        ] {
            self.read_model
                .get_or_create(&KindLabel { kind })
                .set(gauge(n as u64));
        }
        if let Some(r) = figures.last_heartbeat_round {
            self.heartbeat_seconds.set(r.seconds);
            self.heartbeat_hosts.set(gauge(r.hosts as u64));
            self.heartbeat_answered.set(gauge(r.answered as u64));
        }
        if let Some(d) = figures.store_latency {
            self.store_seconds.set(d.as_secs_f64());
        }
        for family in [
            &self.syslog.sent,
            &self.syslog.dropped,
            &self.syslog.queued,
            &self.syslog.queued_bytes,
        ] {
            family.clear();
        }
        for (i, c) in core.log_forwarding_counters().iter().enumerate() {
            let labels = SyslogLabels {
                receiver: i.to_string(),
                protocol: c.target.protocol.as_str(),
            };
            self.syslog.sent.get_or_create(&labels).set(gauge(c.sent));
            self.syslog
                .dropped
                .get_or_create(&labels)
                .set(gauge(c.dropped));
            self.syslog
                .queued
                .get_or_create(&labels)
                .set(gauge(c.queued));
            self.syslog
                .queued_bytes
                .get_or_create(&labels)
                .set(gauge(c.queued_bytes));
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .map_err(|e| format!("the metrics could not be written: {e}"))?;
        Ok(out)
    }
}

/// Counts each request and its latency by surface.
pub async fn count_requests(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let surface = surface_of(req.uri().path());
    let started = Instant::now();
    let resp = next.run(req).await;
    metrics
        .latency
        .get_or_create(&SurfaceLabel { surface })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            surface,
            status: status_class(resp.status()),
        })
        .inc();
    resp
}

/// `GET /metrics`.
pub async fn serve(metrics: Arc<Metrics>, core: Arc<Core>) -> Response {
    match metrics.render(&core).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surfaces() {
        assert_eq!(surface_of("/api/session"), "vapi");
        assert_eq!(surface_of("/rest/com/vmware"), "vapi");
        assert_eq!(surface_of("/sdk"), "vi-json");
        assert_eq!(surface_of("/zstack/v1/hosts"), "zstack");
        assert_eq!(surface_of("/lookupservice/sdk"), "lookup");
        assert_eq!(surface_of("/apix"), "other");
        assert_eq!(surface_of("/healthz"), "other");
    }
}
