//! Task, TaskManager and EventManager.
use ferrocenter_core::inventory::{Event, EventFilter, EventScope};
use ferrocenter_core::tasks::{Task, TaskState};
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use super::ctx::{moref_of, opt_int, opt_obj, opt_str, Ctx};
use super::faults::{moref, VimFault};
use super::mo::{self, Mo};
use super::render::{self, TaskEntity};

/// Events one QueryEvents returns at most when the filter sets no maxCount.
const QUERY_EVENTS_CAP: u32 = 1000;

async fn task_entity(ctx: &Ctx<'_>, t: &Task) -> Option<TaskEntity> {
    let target = t.target.as_ref()?;
    let core = &ctx.state.core;
    match target.kind.as_str() {
        "host" => core
            .get_host(&ctx.caller, &target.id)
            .await
            .ok()
            .map(|h| TaskEntity {
                moref: moref("HostSystem", &h.moid),
                name: h.name,
            }),
        "vm" => core
            .get_vm(&ctx.caller, &target.id)
            .await
            .ok()
            .map(|v| TaskEntity {
                moref: moref("VirtualMachine", &v.moid),
                name: v.name,
            }),
        "cluster" => core
            .get_cluster(&ctx.caller, &target.id)
            .await
            .ok()
            .map(|c| TaskEntity {
                moref: moref("ClusterComputeResource", &c.moid),
                name: c.name,
            }),
        _ => None,
    }
}

/// The vim result of a finished task: adds answer the new host's MoRef (a ComputeResource for
/// a standalone add); the others have none.
fn task_result(t: &Task) -> Option<Value> {
    if t.state != TaskState::Success {
        return None;
    }
    use ferrocenter_core::tasks::TaskKind as K;
    if t.kind == K::VmCreate {
        return Some(moref(
            "VirtualMachine",
            t.result.as_ref()?.created_vm_moid()?,
        ));
    }
    let moid = t.result.as_ref()?.added_host_moid()?;
    match t.kind {
        K::HostAdd => Some(moref("HostSystem", moid)),
        K::HostAddStandalone => Some(moref(
            "ComputeResource",
            &ferrocenter_core::moids::compute_resource(moid),
        )),
        _ => None,
    }
}

pub async fn task_info(ctx: &Ctx<'_>, t: &Task) -> Result<Value, VimFault> {
    let entity = task_entity(ctx, t).await;
    Ok(render::task_info(t, entity.as_ref(), task_result(t)))
}

/// CancelTask. vim answers NotSupported for a task that cannot be cancelled; the core decides
/// the rest (InvalidState once finished).
pub async fn cancel(ctx: &Ctx<'_>, t: &Task) -> Result<(), VimFault> {
    if !t.cancelable {
        return Err(CoreError::not_supported(format!(
            "CancelTask on {} ({} cannot be cancelled)",
            t.moid,
            render::task_names(t.kind).0
        ))
        .into());
    }
    ctx.state.core.cancel_task(&ctx.caller, &t.id).await?;
    Ok(())
}

pub async fn render_event(ctx: &Ctx<'_>, e: &Event) -> Result<Value, VimFault> {
    let core = &ctx.state.core;
    let host = if e.entity_kind == "host" {
        core.get_host(&ctx.caller, &e.entity_id).await.ok()
    } else {
        None
    };
    let dc = match &host {
        Some(h) => core
            .get_datacenter(&ctx.caller, &h.datacenter_id)
            .await
            .ok(),
        None => None,
    };
    Ok(render::event(
        e,
        host.as_ref(),
        dc.as_ref().map(|d| (d.name.as_str(), d.moid.as_str())),
    ))
}

/// EventManager.QueryEvents: filter.entity (by entity), filter.eventTypeId, filter.maxCount.
pub async fn query_events(ctx: &Ctx<'_>) -> Result<Value, VimFault> {
    let spec = ctx.req_obj("filter")?;
    let mut filter = EventFilter {
        limit: Some(QUERY_EVENTS_CAP),
        ..Default::default()
    };
    if let Some(by) = opt_obj(spec, "entity")? {
        let e = by.get("entity").and_then(Value::as_object).ok_or_else(|| {
            VimFault::from(CoreError::invalid("filter.entity.entity", "is required"))
        })?;
        let (t, id) = moref_of(e, "filter.entity.entity")?;
        filter.scope = match opt_str(by, "recursion")? {
            None | Some("self") => EventScope::Entity,
            Some("children" | "all") => EventScope::WithContents,
            Some(_) => {
                return Err(CoreError::invalid(
                    "filter.entity.recursion",
                    "must be self, children or all",
                )
                .into())
            }
        };
        filter.entity_id = Some(match mo::resolve(ctx, &t, &id).await? {
            Mo::Host(h) => h.id,
            Mo::Vm(v) => v.id,
            Mo::Cluster(c) => c.id,
            Mo::Datacenter(d) => d.id,
            other => {
                return Err(CoreError::not_supported(format!(
                    "QueryEvents for a {}",
                    other.type_name()
                ))
                .into())
            }
        });
    }
    if let Some(n) = opt_int(spec, "maxCount")? {
        if n <= 0 {
            return Err(CoreError::invalid("filter.maxCount", "must be positive").into());
        }
        filter.limit = Some(n.min(QUERY_EVENTS_CAP as i64) as u32);
    }
    let types: Vec<String> = match spec.get("eventTypeId") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    };
    // Clients name vim25's types (and an EventEx's eventTypeId); the log holds core kinds.
    let kinds: Vec<&str> = types.iter().map(|t| render::core_event_kind(t)).collect();
    if kinds.len() == 1 {
        filter.kind = Some(kinds[0].to_string());
    }
    let events = ctx.state.core.list_events(&ctx.caller, &filter).await?;
    let mut out = Vec::new();
    for e in events
        .iter()
        .filter(|e| kinds.is_empty() || kinds.contains(&e.kind.as_str()))
    {
        out.push(render_event(ctx, e).await?);
    }
    Ok(json!(out))
}
