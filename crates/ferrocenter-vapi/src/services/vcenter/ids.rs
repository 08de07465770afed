//! vCenter's vAPI ids are vim moIds (`host-12`, `datacenter-3`, `domain-c7`, `vm-1031`,
//! `group-h4`): looking them up, and the errors that name an id nobody has.
use ferrocenter_core::auth::Caller;
use ferrocenter_core::inventory::query::{Condition, HostField, QueryOp, QueryValue};
use ferrocenter_core::inventory::{Cluster, Datacenter, Folder, Host, VmRecord};
use ferrocenter_core::ports::{MoidEntity, MoidKind};
use ferrocenter_core::CoreError;
use serde_json::Value;

use crate::registry::Call;

async fn find(
    call: &Call,
    caller: &Caller,
    kind: MoidKind,
    what: &str,
    id: &str,
) -> Result<MoidEntity, CoreError> {
    call.state
        .core
        .find_by_moid(caller, kind, id)
        .await?
        .ok_or_else(|| CoreError::not_found(what, id))
}

pub async fn host(call: &Call, caller: &Caller, id: &str) -> Result<Host, CoreError> {
    match find(call, caller, MoidKind::Host, "host", id).await? {
        MoidEntity::Host(h) => Ok(h),
        _ => Err(CoreError::not_found("host", id)),
    }
}

pub async fn datacenter(call: &Call, caller: &Caller, id: &str) -> Result<Datacenter, CoreError> {
    match find(call, caller, MoidKind::Datacenter, "datacenter", id).await? {
        MoidEntity::Datacenter(d) => Ok(d),
        _ => Err(CoreError::not_found("datacenter", id)),
    }
}

pub async fn cluster(call: &Call, caller: &Caller, id: &str) -> Result<Cluster, CoreError> {
    match find(call, caller, MoidKind::Cluster, "cluster", id).await? {
        MoidEntity::Cluster(c) => Ok(c),
        _ => Err(CoreError::not_found("cluster", id)),
    }
}

pub async fn folder(call: &Call, caller: &Caller, id: &str) -> Result<Folder, CoreError> {
    match find(call, caller, MoidKind::Folder, "folder", id).await? {
        MoidEntity::Folder(f) => Ok(f),
        _ => Err(CoreError::not_found("folder", id)),
    }
}

pub async fn vm(call: &Call, caller: &Caller, id: &str) -> Result<VmRecord, CoreError> {
    match find(call, caller, MoidKind::Vm, "vm", id).await? {
        MoidEntity::Vm(v) => Ok(v),
        _ => Err(CoreError::not_found("vm", id)),
    }
}

/// The core ids of the datacenters or clusters a filter names by moId, so the filter can go
/// to the store (listing every cluster per call cost a millisecond per hundred). None when
/// the filter does not constrain; moIds nobody has are dropped, and when none is left a value
/// no id takes keeps the set non-empty, so it still matches nothing.
pub async fn ids_of(
    call: &Call,
    caller: &Caller,
    kind: MoidKind,
    moids: &Option<Vec<String>>,
) -> Result<Option<Vec<String>>, CoreError> {
    let Some(moids) = moids else {
        return Ok(None);
    };
    let mut ids = Vec::new();
    for m in moids {
        match call.state.core.find_by_moid(caller, kind, m).await? {
            Some(MoidEntity::Datacenter(d)) => ids.push(d.id),
            Some(MoidEntity::Cluster(c)) => ids.push(c.id),
            _ => {}
        }
    }
    if ids.is_empty() {
        ids.push(String::new());
    }
    Ok(Some(ids))
}

/// A store condition `field IN values` for a filter set, when the set is given (vAPI filters
/// become store queries rather than scans).
pub fn one_of(
    field: HostField,
    values: &Option<Vec<String>>,
) -> Option<Result<Condition<HostField>, CoreError>> {
    let v = values.as_ref()?;
    Some(Condition::new(
        field,
        QueryOp::In,
        v.iter().map(|x| QueryValue::Text(x.clone())).collect(),
        "filter",
    ))
}

/// The strings of an optional set in a filter (absent: no constraint).
pub fn set(filter: Option<&Value>, name: &str) -> Option<Vec<String>> {
    filter
        .and_then(|f| f.get(name))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
}

/// Whether `value` passes an optional set constraint.
pub fn admits(set: &Option<Vec<String>>, value: &str) -> bool {
    set.as_ref().is_none_or(|s| s.iter().any(|x| x == value))
}
