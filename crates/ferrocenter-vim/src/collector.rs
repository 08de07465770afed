//! PropertyCollector and PropertyFilter: retrieving properties across traversals and
//! waiting for their changes. Filters, private collectors and views belong to the session that
//! made them and live in memory, as vCenter's do; a client reconnecting after a restart makes
//! new ones. Views (views.rs) are what traversals usually start from.
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use ferrocenter_core::CoreError;
use serde_json::{json, Map, Value};

use super::anyval::boxed;
use super::ctx::{moref_of, opt_bool, opt_int, opt_obj, opt_str, Ctx};
use super::faults::{moref, VimFault};
use super::filters::{collector_key, state, with_collector};
use super::mo::{self, is_a, Mo};
use super::names;
use super::read;
use super::session_objects::{Continuation, Filter, Snapshot};

/// How often a waiting WaitForUpdatesEx looks again.
const POLL: Duration = Duration::from_millis(100);
/// An unset maxWaitSeconds waits at most this long, then answers "no change" (clients loop).
const LONGEST_WAIT: Duration = Duration::from_secs(600);
/// Per-session limits, so a client that never destroys what it makes cannot exhaust memory.
const MAX_FILTERS: usize = 1000;
const MAX_TRAVERSAL_DEPTH: usize = 16;

pub async fn create_filter(ctx: &Ctx<'_>, collector: &str) -> Result<Value, VimFault> {
    let spec = ctx.req_obj("spec")?.clone();
    let partial = ctx.opt_bool("partialUpdates")?.unwrap_or(false);
    // Validates the spec and its objects now, as vCenter does.
    collect(ctx, &spec).await?;
    with_collector(ctx, collector, |_| ())?;
    let key = collector_key(ctx, collector);
    let id = state(ctx).next_id("session[ferrocenter]filter");
    let mut g = state(ctx).inner.lock();
    if g.filters
        .values()
        .filter(|f| f.owner == ctx.session_key)
        .count()
        >= MAX_FILTERS
    {
        return Err(CoreError::invalid_state(format!(
            "this session has {MAX_FILTERS} property filters; destroy some first"
        ))
        .into());
    }
    g.filters.insert(
        id.clone(),
        Filter {
            owner: ctx.session_key.clone(),
            collector: key,
            spec,
            partial_updates: partial,
            reported: HashMap::new(),
        },
    );
    Ok(moref("PropertyFilter", &id))
}

/// One object with the paths asked of it.
struct Wanted {
    mo: Mo,
    paths: Vec<String>,
}

fn all_paths(t: &str) -> Vec<String> {
    let own: &[&str] = match t {
        "HostSystem" => &["runtime", "summary", "parent", "vm", "datastore", "network"],
        "VirtualMachine" => &["runtime", "summary", "parent"],
        "ClusterComputeResource" | "ComputeResource" => &["host", "resourcePool", "parent"],
        "Datacenter" => &[
            "hostFolder",
            "vmFolder",
            "datastoreFolder",
            "networkFolder",
            "parent",
        ],
        "Folder" => &["childEntity", "childType", "parent"],
        "Datastore" | "Network" => &["summary", "host", "parent"],
        "Task" => &["info"],
        _ => &[],
    };
    let mut v: Vec<String> = own.iter().map(ToString::to_string).collect();
    if is_a(t, "ManagedEntity") {
        v.extend(["name", "overallStatus"].map(String::from));
    }
    v
}

fn invalid(field: &str, what: &str) -> VimFault {
    CoreError::invalid(field, format!("must be {what}")).into()
}

/// Named TraversalSpecs anywhere in the spec, so SelectionSpecs can refer to them.
fn named_specs(v: &Value, out: &mut HashMap<String, Map<String, Value>>) {
    match v {
        Value::Object(o) => {
            if let (Some(Value::String(n)), true) = (o.get("name"), o.contains_key("path")) {
                out.entry(n.clone()).or_insert_with(|| o.clone());
            }
            for child in o.values() {
                named_specs(child, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| named_specs(x, out)),
        _ => {}
    }
}

/// MoRefs found in a property value (one or an array).
fn morefs_in(v: &Value) -> Vec<(String, String)> {
    let one = |x: &Value| x.as_object().and_then(|o| moref_of(o, "").ok());
    match v {
        Value::Array(a) => a.iter().filter_map(one).collect(),
        // DatastoreHostMount and the like carry the MoRef in `key`.
        Value::Object(o)
            if o.get("_typeName").and_then(Value::as_str) != Some("ManagedObjectReference") =>
        {
            o.get("key").and_then(one).into_iter().collect()
        }
        other => one(other).into_iter().collect(),
    }
}

async fn traverse(
    ctx: &Ctx<'_>,
    from: &Mo,
    selects: &[Value],
    named: &HashMap<String, Map<String, Value>>,
    depth: usize,
    seen: &mut HashSet<(String, String)>,
    out: &mut Vec<Mo>,
) -> Result<(), VimFault> {
    if depth > MAX_TRAVERSAL_DEPTH {
        return Ok(());
    }
    for sel in selects {
        let Some(sel) = sel.as_object() else { continue };
        let ts = if sel.contains_key("path") {
            sel.clone()
        } else {
            match sel
                .get("name")
                .and_then(Value::as_str)
                .and_then(|n| named.get(n))
            {
                Some(t) => t.clone(),
                None => return Err(invalid("selectSet", "a TraversalSpec or the name of one")),
            }
        };
        let ty = opt_str(&ts, "type")?.unwrap_or_default();
        let path = opt_str(&ts, "path")?.unwrap_or_default();
        if !is_a(from.type_name(), ty) {
            continue;
        }
        let key = (
            format!("{}:{}", from.type_name(), from.moid()),
            format!("{ty}.{path}"),
        );
        if !seen.insert(key) {
            continue;
        }
        let skip = opt_bool(&ts, "skip")?.unwrap_or(false);
        let children = match read::get(ctx, from, path).await? {
            Some(v) => morefs_in(&v),
            None => Vec::new(),
        };
        let next: Vec<Value> = match ts.get("selectSet") {
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        for (t, id) in children {
            let Ok(child) = mo::resolve(ctx, &t, &id).await else {
                continue;
            };
            if !skip {
                out.push(child.clone());
            }
            Box::pin(traverse(ctx, &child, &next, named, depth + 1, seen, out)).await?;
        }
    }
    Ok(())
}

/// The objects a PropertyFilterSpec reaches, each with the paths its PropertySpecs ask for.
async fn collect(ctx: &Ctx<'_>, spec: &Map<String, Value>) -> Result<Vec<Wanted>, VimFault> {
    let prop_set = match spec.get("propSet") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => return Err(invalid("propSet", "a non-empty array of PropertySpec")),
    };
    let object_set = match spec.get("objectSet") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => return Err(invalid("objectSet", "a non-empty array of ObjectSpec")),
    };
    let mut props_by_type: Vec<(String, Vec<String>)> = Vec::new();
    for (i, p) in prop_set.iter().enumerate() {
        let p = p
            .as_object()
            .ok_or_else(|| invalid(&format!("propSet[{i}]"), "a PropertySpec"))?;
        let t = opt_str(p, "type")?
            .ok_or_else(|| invalid(&format!("propSet[{i}].type"), "a type name"))?;
        if !names::served(t) && t != "ManagedEntity" && t != "ComputeResource" {
            return Err(
                VimFault::new("InvalidType", format!("ferrocenter serves no type {t}"))
                    .with("argument", json!(format!("propSet[{i}].type"))),
            );
        }
        let mut paths: Vec<String> = match p.get("pathSet") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        if opt_bool(p, "all")?.unwrap_or(false) {
            paths.extend(all_paths(t));
        }
        for path in &paths {
            let top = path.split('.').next().unwrap_or_default();
            let known =
                names::defines(t, top) || (t == "ManagedEntity" && names::defines("Folder", top));
            if !known {
                return Err(VimFault::new(
                    "InvalidProperty",
                    format!("{t} has no property {path}"),
                )
                .with("name", json!(path)));
            }
        }
        props_by_type.push((t.to_string(), paths));
    }
    let mut named = HashMap::new();
    named_specs(&Value::Array(object_set.clone()), &mut named);
    let mut reached = Vec::new();
    let mut seen = HashSet::new();
    for (i, o) in object_set.iter().enumerate() {
        let o = o
            .as_object()
            .ok_or_else(|| invalid(&format!("objectSet[{i}]"), "an ObjectSpec"))?;
        let obj = opt_obj(o, "obj")?
            .ok_or_else(|| invalid(&format!("objectSet[{i}].obj"), "a ManagedObjectReference"))?;
        let (t, id) = moref_of(obj, &format!("objectSet[{i}].obj"))?;
        let root = mo::resolve(ctx, &t, &id).await?;
        if !opt_bool(o, "skip")?.unwrap_or(false) {
            reached.push(root.clone());
        }
        let selects: Vec<Value> = match o.get("selectSet") {
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        traverse(ctx, &root, &selects, &named, 0, &mut seen, &mut reached).await?;
    }
    let mut out: Vec<Wanted> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for mo in reached {
        let mut paths: Vec<String> = Vec::new();
        for (t, ps) in &props_by_type {
            if is_a(mo.type_name(), t) {
                paths.extend(ps.iter().cloned());
            }
        }
        if paths.is_empty() {
            continue;
        }
        let key = format!("{}:{}", mo.type_name(), mo.moid());
        match index.get(&key) {
            Some(&i) => out[i].paths.extend(paths),
            None => {
                index.insert(key, out.len());
                out.push(Wanted { mo, paths });
            }
        }
    }
    for w in &mut out {
        w.paths.sort();
        w.paths.dedup();
    }
    Ok(out)
}

/// The current values of one object's paths; faults other than InvalidProperty become
/// missingSet entries.
async fn read(ctx: &Ctx<'_>, w: &Wanted) -> Result<(Snapshot, Vec<Value>), VimFault> {
    let mut tops: HashMap<String, Option<Value>> = HashMap::new();
    let mut snap = Snapshot::new();
    let mut missing = Vec::new();
    for path in &w.paths {
        let mut parts = path.split('.');
        let top = parts.next().unwrap_or_default().to_string();
        if !tops.contains_key(&top) {
            match read::get(ctx, &w.mo, &top).await {
                Ok(v) => {
                    tops.insert(top.clone(), v);
                }
                Err(f) if f.type_name == "InvalidProperty" => return Err(f),
                Err(f) => {
                    missing.push(
                        json!({"_typeName": "MissingProperty", "path": path, "fault": f.body()}),
                    );
                    continue;
                }
            }
        }
        let mut v = tops.get(&top).cloned().flatten();
        for seg in parts {
            v = v.and_then(|x| x.get(seg).cloned());
        }
        snap.insert(path.clone(), v);
    }
    Ok((snap, missing))
}

fn dynamic_props(mo: &Mo, snap: &Snapshot) -> Vec<Value> {
    snap.iter()
        .filter_map(|(path, v)| {
            let v = v.clone()?;
            Some(json!({"_typeName": "DynamicProperty", "name": path, "val": boxed(mo.type_name(), path, v)}))
        })
        .collect()
}

/// RetrievePropertiesEx / RetrieveProperties: every object once, unset properties left out.
pub async fn retrieve(ctx: &Ctx<'_>, paged: bool) -> Result<Option<Value>, VimFault> {
    let specs = match ctx.params.get("specSet") {
        Some(Value::Array(a)) if !a.is_empty() => a.clone(),
        _ => {
            return Err(invalid(
                "specSet",
                "a non-empty array of PropertyFilterSpec",
            ))
        }
    };
    let mut objects = Vec::new();
    let mut seen = HashSet::new();
    for (i, s) in specs.iter().enumerate() {
        let s = s
            .as_object()
            .ok_or_else(|| invalid(&format!("specSet[{i}]"), "a PropertyFilterSpec"))?;
        for w in collect(ctx, s).await? {
            if !seen.insert(format!("{}:{}", w.mo.type_name(), w.mo.moid())) {
                continue;
            }
            let (snap, missing) = read(ctx, &w).await?;
            let mut oc = json!({"_typeName": "ObjectContent", "obj": w.mo.moref(), "propSet": dynamic_props(&w.mo, &snap)});
            if !missing.is_empty() {
                oc["missingSet"] = json!(missing);
            }
            objects.push(oc);
        }
    }
    if !paged {
        return Ok(Some(Value::Array(objects)));
    }
    if objects.is_empty() {
        return Ok(None);
    }
    let page = match ctx
        .opt_obj("options")?
        .map(|o| opt_int(o, "maxObjects"))
        .transpose()?
        .flatten()
    {
        Some(n) if n > 0 => n as usize,
        _ => usize::MAX,
    };
    Ok(Some(page_out(ctx, objects, page)))
}

fn page_out(ctx: &Ctx<'_>, mut objects: Vec<Value>, page: usize) -> Value {
    let mut result = json!({"_typeName": "RetrieveResult"});
    if objects.len() > page {
        let rest = objects.split_off(page);
        let token = state(ctx).next_id("retrieve");
        state(ctx).inner.lock().continuations.insert(
            token.clone(),
            Continuation {
                owner: ctx.session_key.clone(),
                rest,
                page,
            },
        );
        result["token"] = json!(token);
    }
    result["objects"] = Value::Array(objects);
    result
}

pub fn continue_retrieve(ctx: &Ctx<'_>, cancel: bool) -> Result<Option<Value>, VimFault> {
    let token = ctx.req_str("token")?.to_string();
    let c = {
        let mut g = state(ctx).inner.lock();
        match g.continuations.get(&token) {
            Some(c) if c.owner == ctx.session_key => g.continuations.remove(&token),
            _ => None,
        }
    };
    let Some(c) = c else {
        return Err(CoreError::invalid("token", "is not a retrieval of this session").into());
    };
    if cancel {
        return Ok(None);
    }
    Ok(Some(page_out(ctx, c.rest, c.page)))
}

/// The filters of one collector with what they last reported.
fn filters_for(ctx: &Ctx<'_>, key: &str) -> Vec<(String, Map<String, Value>)> {
    let g = state(ctx).inner.lock();
    let mut v: Vec<_> = g
        .filters
        .iter()
        .filter(|(_, f)| f.collector == key)
        .map(|(id, f)| (id.clone(), f.spec.clone()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The three ways of asking a collector for changes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// WaitForUpdatesEx: up to `options.maxWaitSeconds` (unset: 10 minutes).
    Ex,
    /// WaitForUpdates (pyVmomi's WaitForTask uses it): until something changes.
    UntilChanged,
    /// CheckForUpdates: no waiting.
    Check,
}

/// The changes since `version` ("" or unset: everything, as `enter`), or None when nothing
/// changed within the wait.
pub async fn wait_for_updates(
    ctx: &Ctx<'_>,
    collector: &str,
    how: Wait,
) -> Result<Option<Value>, VimFault> {
    let version = ctx.opt_str("version")?.unwrap_or("").to_string();
    let max_wait = match how {
        Wait::Ex => ctx
            .opt_obj("options")?
            .map(|o| opt_int(o, "maxWaitSeconds"))
            .transpose()?
            .flatten(),
        Wait::UntilChanged => None,
        Wait::Check => Some(0),
    };
    let key = collector_key(ctx, collector);
    let (current, cancel) = with_collector(ctx, collector, |c| (c.version, c.cancel.clone()))?;
    if version.is_empty() {
        let mut g = state(ctx).inner.lock();
        for f in g.filters.values_mut().filter(|f| f.collector == key) {
            f.reported.clear();
        }
    } else if version != current.to_string() {
        return Err(VimFault::new(
            "InvalidCollectorVersion",
            format!("version {version} is not this collector's current version {current}"),
        ));
    }
    let deadline = match max_wait {
        Some(s) if s <= 0 => Some(Duration::ZERO),
        Some(s) => Some(Duration::from_secs(s as u64)),
        None if how == Wait::UntilChanged => None,
        None => Some(LONGEST_WAIT),
    };
    let started = Instant::now();
    let cancelled = cancel.notified();
    tokio::pin!(cancelled);
    loop {
        let mut filter_set = Vec::new();
        let mut snapshots = Vec::new();
        for (fid, spec) in filters_for(ctx, &key) {
            let mut current: HashMap<String, (Value, Snapshot)> = HashMap::new();
            for w in collect(ctx, &spec).await? {
                let (snap, _) = read(ctx, &w).await?;
                current.insert(
                    format!("{}:{}", w.mo.type_name(), w.mo.moid()),
                    (w.mo.moref(), snap),
                );
            }
            let updates = {
                let g = state(ctx).inner.lock();
                let Some(f) = g.filters.get(&fid) else {
                    continue;
                };
                diff(&f.reported, &current)
            };
            if !updates.is_empty() {
                filter_set.push(json!({
                    "_typeName": "PropertyFilterUpdate",
                    "filter": moref("PropertyFilter", &fid),
                    "objectSet": updates,
                }));
            }
            snapshots.push((fid, current));
        }
        if !filter_set.is_empty() || version.is_empty() {
            let mut g = state(ctx).inner.lock();
            for (fid, snap) in snapshots {
                if let Some(f) = g.filters.get_mut(&fid) {
                    f.reported = snap;
                }
            }
            let c = g
                .collectors
                .get_mut(&key)
                .ok_or_else(|| VimFault::not_found("PropertyCollector", collector))?;
            c.version += 1;
            let mut set = json!({"_typeName": "UpdateSet", "version": c.version.to_string(), "truncated": false});
            if !filter_set.is_empty() {
                set["filterSet"] = Value::Array(filter_set);
            }
            return Ok(Some(set));
        }
        if deadline.is_some_and(|d| started.elapsed() >= d) {
            return Ok(None);
        }
        tokio::select! {
            _ = &mut cancelled => {
                return Err(VimFault::new("RequestCanceled", "CancelWaitForUpdates was called"));
            }
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// ObjectUpdates turning `before` into `after`.
fn diff(
    before: &HashMap<String, (Value, Snapshot)>,
    after: &HashMap<String, (Value, Snapshot)>,
) -> Vec<Value> {
    let mut out = Vec::new();
    let change = |path: &str, v: &Option<Value>, obj_type: &str| match v {
        Some(v) => {
            json!({"_typeName": "PropertyChange", "name": path, "op": "assign", "val": boxed(obj_type, path, v.clone())})
        }
        None => json!({"_typeName": "PropertyChange", "name": path, "op": "assign"}),
    };
    let mut keys: Vec<&String> = after.keys().collect();
    keys.sort();
    for k in keys {
        let (obj, snap) = &after[k];
        let obj_type = obj["type"].as_str().unwrap_or_default();
        match before.get(k) {
            None => out.push(json!({
                "_typeName": "ObjectUpdate",
                "kind": "enter",
                "obj": obj,
                "changeSet": snap.iter().filter(|(_, v)| v.is_some()).map(|(p, v)| change(p, v, obj_type)).collect::<Vec<_>>(),
            })),
            Some((_, old)) => {
                let changes: Vec<Value> = snap
                    .iter()
                    .filter(|(p, v)| old.get(*p) != Some(*v))
                    .map(|(p, v)| change(p, v, obj_type))
                    .collect();
                if !changes.is_empty() {
                    out.push(json!({"_typeName": "ObjectUpdate", "kind": "modify", "obj": obj, "changeSet": changes}));
                }
            }
        }
    }
    let mut gone: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    gone.sort();
    for k in gone {
        out.push(json!({"_typeName": "ObjectUpdate", "kind": "leave", "obj": before[k].0}));
    }
    out
}
