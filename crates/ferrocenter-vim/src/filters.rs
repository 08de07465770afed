//! PropertyCollector and PropertyFilter objects: making, finding and dropping them, and their
//! own properties (`filter`, `spec`, `partialUpdates`). A filter's results come from
//! `collector.rs`.
use std::sync::Arc;

use ferrocenter_core::CoreError;
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::ctx::Ctx;
use super::faults::{moref, VimFault};
use super::session_objects::{Collector, CollectorState, DEFAULT_COLLECTOR};

pub(crate) fn state<'a>(ctx: &'a Ctx<'_>) -> &'a CollectorState {
    &ctx.state.vim
}

pub(crate) fn collector_key(ctx: &Ctx<'_>, id: &str) -> String {
    if id == DEFAULT_COLLECTOR {
        format!("{}/{id}", ctx.session_key)
    } else {
        id.to_string()
    }
}

/// The collector, created on first use for the default one; another session's is not found.
pub(crate) fn with_collector<T>(
    ctx: &Ctx<'_>,
    id: &str,
    f: impl FnOnce(&mut Collector) -> T,
) -> Result<T, VimFault> {
    let key = collector_key(ctx, id);
    let mut g = state(ctx).inner.lock();
    if id == DEFAULT_COLLECTOR {
        let c = g.collectors.entry(key).or_insert_with(|| Collector {
            owner: ctx.session_key.clone(),
            version: 0,
            cancel: Arc::new(Notify::new()),
        });
        return Ok(f(c));
    }
    match g.collectors.get_mut(&key) {
        Some(c) if c.owner == ctx.session_key => Ok(f(c)),
        _ => Err(VimFault::not_found("PropertyCollector", id)),
    }
}

pub fn create_collector(ctx: &Ctx<'_>) -> Value {
    let id = state(ctx).next_id("session[ferrocenter]propertyCollector");
    state(ctx).inner.lock().collectors.insert(
        id.clone(),
        Collector {
            owner: ctx.session_key.clone(),
            version: 0,
            cancel: Arc::new(Notify::new()),
        },
    );
    moref("PropertyCollector", &id)
}

pub fn destroy_collector(ctx: &Ctx<'_>, id: &str) -> Result<(), VimFault> {
    if id == DEFAULT_COLLECTOR {
        return Err(
            CoreError::invalid_state("the default PropertyCollector cannot be destroyed").into(),
        );
    }
    with_collector(ctx, id, |c| c.cancel.notify_waiters())?;
    let key = collector_key(ctx, id);
    let mut g = state(ctx).inner.lock();
    g.collectors.remove(&key);
    g.filters.retain(|_, f| f.collector != key);
    Ok(())
}

pub fn cancel_wait(ctx: &Ctx<'_>, id: &str) -> Result<(), VimFault> {
    with_collector(ctx, id, |c| c.cancel.notify_waiters())
}

pub fn filters_of(ctx: &Ctx<'_>, id: &str) -> Result<Value, VimFault> {
    with_collector(ctx, id, |_| ())?;
    let key = collector_key(ctx, id);
    let g = state(ctx).inner.lock();
    let mut ids: Vec<&String> = g
        .filters
        .iter()
        .filter(|(_, f)| f.collector == key)
        .map(|(id, _)| id)
        .collect();
    ids.sort();
    Ok(Value::Array(
        ids.into_iter()
            .map(|i| moref("PropertyFilter", i))
            .collect(),
    ))
}

pub fn filter_property(ctx: &Ctx<'_>, id: &str, name: &str) -> Result<Value, VimFault> {
    let g = state(ctx).inner.lock();
    match g.filters.get(id) {
        Some(f) if f.owner == ctx.session_key => Ok(match name {
            "spec" => Value::Object(f.spec.clone()),
            _ => json!(f.partial_updates),
        }),
        _ => Err(VimFault::not_found("PropertyFilter", id)),
    }
}

pub fn destroy_filter(ctx: &Ctx<'_>, id: &str) -> Result<(), VimFault> {
    let mut g = state(ctx).inner.lock();
    match g.filters.get(id) {
        Some(f) if f.owner == ctx.session_key => {
            g.filters.remove(id);
            Ok(())
        }
        _ => Err(VimFault::not_found("PropertyFilter", id)),
    }
}
