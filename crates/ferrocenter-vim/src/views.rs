//! ViewManager's views: a ListView holds the objects it was given; a ContainerView shows what
//! lies under a container (of some types, directly or at any depth), computed when read so it
//! follows the inventory. Both belong to the session that made them.

use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use super::ctx::{moref_of, Ctx};
use super::faults::{moref, VimFault};
use super::mo::{self, is_a, Mo};
use super::props;
use super::session_objects::{Kind, View, ViewState};

const MAX_VIEWS: usize = 1000;
/// Inventory depth a recursive ContainerView walks at most (root → datacenter → folders →
/// clusters → hosts and pools → VMs is 6).
const MAX_DEPTH: usize = 12;

fn state<'a>(ctx: &'a Ctx<'_>) -> &'a ViewState {
    &ctx.state.vim.views
}

fn morefs(ctx: &Ctx<'_>, name: &str) -> Result<Vec<(String, String)>, VimFault> {
    match ctx.params.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let o = o.as_object().ok_or_else(|| {
                    VimFault::from(CoreError::invalid(
                        format!("{name}[{i}]"),
                        "must be a ManagedObjectReference",
                    ))
                })?;
                moref_of(o, &format!("{name}[{i}]"))
            })
            .collect(),
        Some(_) => {
            Err(CoreError::invalid(name, "must be an array of ManagedObjectReference").into())
        }
    }
}

fn insert(ctx: &Ctx<'_>, type_name: &str, kind: Kind) -> Result<Value, VimFault> {
    let id = ctx
        .state
        .vim
        .next_id(&format!("session[ferrocenter]{}", type_name.to_lowercase()));
    let mut g = state(ctx).views.lock();
    if g.values().filter(|v| v.owner == ctx.session_key).count() >= MAX_VIEWS {
        return Err(CoreError::invalid_state(format!(
            "this session has {MAX_VIEWS} views; destroy some first"
        ))
        .into());
    }
    g.insert(
        id.clone(),
        View {
            owner: ctx.session_key.clone(),
            kind,
        },
    );
    Ok(moref(type_name, &id))
}

pub async fn create_list_view(ctx: &Ctx<'_>) -> Result<Value, VimFault> {
    let mut objects = Vec::new();
    for (t, id) in morefs(ctx, "obj")? {
        // Objects that do not exist are left out, as vCenter does.
        if mo::resolve(ctx, &t, &id).await.is_ok() {
            objects.push((t, id));
        }
    }
    insert(ctx, "ListView", Kind::List(objects))
}

pub async fn create_container_view(ctx: &Ctx<'_>) -> Result<Value, VimFault> {
    let (t, id) = ctx.req_moref("container")?;
    let container = mo::resolve(ctx, &t, &id).await?;
    if !matches!(
        container,
        Mo::Folder(_)
            | Mo::Datacenter(_)
            | Mo::Cluster(_)
            | Mo::ComputeResource(_)
            | Mo::ResourcePool(_)
            | Mo::Host(_)
    ) {
        return Err(CoreError::invalid(
            "container",
            format!("a {} holds no inventory", container.type_name()),
        )
        .into());
    }
    let types: Vec<String> = match ctx.params.get("type") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    };
    let recursive = ctx.req_bool("recursive")?;
    insert(
        ctx,
        "ContainerView",
        Kind::Container {
            container: (t, id),
            types,
            recursive,
        },
    )
}

/// ModifyListView: adds then removes; answers the MoRefs that could not be added.
pub async fn modify_list_view(ctx: &Ctx<'_>, id: &str) -> Result<Value, VimFault> {
    owned(ctx, id, "ListView")?;
    let (add, remove) = (morefs(ctx, "add")?, morefs(ctx, "remove")?);
    let mut found = Vec::new();
    let mut unresolved = Vec::new();
    for (t, m) in add {
        if mo::resolve(ctx, &t, &m).await.is_ok() {
            found.push((t, m));
        } else {
            unresolved.push(moref(&t, &m));
        }
    }
    let mut g = state(ctx).views.lock();
    if let Some(View {
        kind: Kind::List(objects),
        ..
    }) = g.get_mut(id)
    {
        for o in found {
            if !objects.contains(&o) {
                objects.push(o);
            }
        }
        objects.retain(|o| !remove.contains(o));
    }
    Ok(Value::Array(unresolved))
}

pub fn destroy_view(ctx: &Ctx<'_>, id: &str, type_name: &str) -> Result<(), VimFault> {
    owned(ctx, id, type_name)?;
    state(ctx).views.lock().remove(id);
    Ok(())
}

fn owned(ctx: &Ctx<'_>, id: &str, type_name: &str) -> Result<(), VimFault> {
    let g = state(ctx).views.lock();
    match g.get(id) {
        Some(v) if v.owner == ctx.session_key => Ok(()),
        _ => Err(VimFault::not_found(type_name, id)),
    }
}

/// A view's properties: `view` for both kinds, `container`, `type` and `recursive` for a
/// ContainerView.
pub async fn property(
    ctx: &Ctx<'_>,
    id: &str,
    type_name: &str,
    name: &str,
) -> Result<Option<Value>, VimFault> {
    let snapshot = {
        let g = state(ctx).views.lock();
        match g.get(id) {
            Some(v) if v.owner == ctx.session_key => match &v.kind {
                Kind::List(o) => Ok(o.clone()).map(|o| (Some(o), None)),
                Kind::Container {
                    container,
                    types,
                    recursive,
                } => Ok((None, Some((container.clone(), types.clone(), *recursive)))),
            },
            _ => Err(VimFault::not_found(type_name, id)),
        }
    }?;
    match (snapshot, name) {
        ((Some(objects), _), "view") => Ok(Some(Value::Array(
            objects.iter().map(|(t, m)| moref(t, m)).collect(),
        ))),
        ((_, Some((c, types, recursive))), n) => match n {
            "view" => {
                let root = mo::resolve(ctx, &c.0, &c.1).await?;
                let mut out = Vec::new();
                walk(ctx, &root, &types, recursive, 0, &mut out).await?;
                Ok(Some(Value::Array(out)))
            }
            "container" => Ok(Some(moref(&c.0, &c.1))),
            "type" => Ok(Some(json!(types))),
            "recursive" => Ok(Some(json!(recursive))),
            _ => Ok(None),
        },
        _ => Ok(None),
    }
}

/// The inventory children of an object (what a ContainerView descends into).
async fn children(ctx: &Ctx<'_>, mo: &Mo) -> Result<Vec<Mo>, VimFault> {
    let paths: &[&str] = match mo {
        Mo::Folder(_) => &["childEntity"],
        Mo::Datacenter(_) => &["hostFolder", "vmFolder", "datastoreFolder", "networkFolder"],
        Mo::Cluster(_) | Mo::ComputeResource(_) => &["host", "resourcePool"],
        Mo::ResourcePool(_) => &["resourcePool", "vm"],
        _ => &[],
    };
    let mut out = Vec::new();
    for p in paths {
        let refs = match props::get(ctx, mo, p).await? {
            Some(Value::Array(a)) => a,
            Some(one) => vec![one],
            None => Vec::new(),
        };
        for r in refs {
            if let Some((t, id)) = r.as_object().and_then(|o| moref_of(o, p).ok()) {
                if let Ok(child) = mo::resolve(ctx, &t, &id).await {
                    out.push(child);
                }
            }
        }
    }
    Ok(out)
}

async fn walk(
    ctx: &Ctx<'_>,
    from: &Mo,
    types: &[String],
    recursive: bool,
    depth: usize,
    out: &mut Vec<Value>,
) -> Result<(), VimFault> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    for child in children(ctx, from).await? {
        if types.is_empty() || types.iter().any(|t| is_a(child.type_name(), t)) {
            out.push(child.moref());
        }
        if recursive {
            Box::pin(walk(ctx, &child, types, recursive, depth + 1, out)).await?;
        }
    }
    Ok(())
}
