//! Host actions (`PUT /zstack/v1/hosts/{uuid}/actions`: changeHostState, reconnectHost) and
//! DeleteHost (`DELETE /zstack/v1/hosts/{uuid}?deleteMode=`), all asynchronous jobs.
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use ferrocenter_core::auth::Caller;
use ferrocenter_core::hosts::{AddHostSpec, HostUpdate, ReconnectSpec, RemoveMode, StateChange};
use ferrocenter_core::inventory::AdminState;
use ferrocenter_core::tasks::{with_task_id, Task};
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use super::errors::ZsError;
use super::jobs::Job;
use super::jobs::{self, Wrap};
use super::params::{no_action, Action, Create, Params};
use super::render;
use super::state::ZstackState;

/// A task started for the job, or why it could not start.
fn started(
    state: &ZstackState,
    headers: &HeaderMap,
    job: &str,
    r: Result<Task, CoreError>,
    wrap: Wrap,
) -> Response {
    match r {
        Ok(_) => jobs::accepted(state, headers, job),
        Err(e) => jobs::task_refused(state, headers, job, e, wrap),
    }
}

pub async fn actions(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    Job { id: job, caller }: Job,
    Action(action, p): Action,
) -> Response {
    let core = &state.core;
    match action.as_str() {
        "updateHost" => {
            let outcome = update(&state, &caller, &uuid, &p, false).await;
            jobs::finished(&state, &headers, &job, outcome)
        }
        "changeHostState" => {
            let event = match p.text("stateEvent") {
                Ok(e) => e.unwrap_or_default(),
                Err(e) => return e.into_response(),
            };
            match event.as_str() {
                "maintain" => {
                    let r = with_task_id(
                        job.clone(),
                        core.enter_maintenance(&caller, &uuid, 0, false),
                    )
                    .await;
                    started(&state, &headers, &job, r, Wrap::Maintenance)
                }
                "enable" | "disable" => {
                    let want = if event == "enable" {
                        AdminState::Enabled
                    } else {
                        AdminState::Disabled
                    };
                    let r = with_task_id(job.clone(), core.change_host_state(&caller, &uuid, want))
                        .await;
                    let outcome = match r {
                        // Leaving maintenance runs as a task: the job is that task.
                        Ok(StateChange::Started(_)) => {
                            return jobs::accepted(&state, &headers, &job)
                        }
                        Ok(StateChange::Done(h)) => match core.host_capacity(&h).await {
                            Ok(cap) => Ok(json!({"inventory": render::host(&h, &cap)})),
                            Err(e) => Err(e.into()),
                        },
                        // A taken job id.
                        Err(e @ CoreError::AlreadyExists { .. }) => {
                            return jobs::task_refused(&state, &headers, &job, e, Wrap::Plain)
                        }
                        Err(e @ CoreError::InvalidState { .. }) => {
                            Err(ZsError::api("SYS.1005", e.to_string()))
                        }
                        Err(e) => Err(e.into()),
                    };
                    jobs::finished(&state, &headers, &job, outcome)
                }
                other => jobs::finished(
                    &state,
                    &headers,
                    &job,
                    Err(CoreError::invalid(
                        "stateEvent",
                        format!("'{other}' is not enable, disable or maintain"),
                    )
                    .into()),
                ),
            }
        }
        "reconnectHost" => {
            let r = with_task_id(
                job.clone(),
                core.reconnect_host(
                    &caller,
                    &uuid,
                    ReconnectSpec {
                        also_when_connected: true,
                        refuse_in_maintenance: true,
                        ..Default::default()
                    },
                ),
            )
            .await;
            started(&state, &headers, &job, r, Wrap::Reconnect)
        }
        _ => no_action(&format!("/v1/hosts/{uuid}/actions")),
    }
}

/// UpdateHost (name, description, managementIp) and, for `kvm`, UpdateKVMHost (also
/// username, password, sshPort): the record changes, the host is not reconnected.
async fn update(
    state: &ZstackState,
    caller: &Caller,
    uuid: &str,
    p: &Params,
    kvm: bool,
) -> Result<Value, ZsError> {
    let mut u = HostUpdate {
        name: p.string("name")?,
        description: p.string("description")?,
        address: p.text("managementIp")?,
        ..Default::default()
    };
    if kvm {
        u.user_name = p.text("username")?;
        u.password = p.text("password")?;
        u.ssh_port = p.port("sshPort")?;
    }
    let h = state.core.update_host(caller, uuid, u).await?;
    let cap = state.core.host_capacity(&h).await?;
    Ok(json!({"inventory": render::host(&h, &cap)}))
}

/// `PUT /zstack/v1/hosts/kvm/{uuid}/actions` with `updateKVMHost`.
pub async fn kvm_actions(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    Job { id: job, caller }: Job,
    Action(action, p): Action,
) -> Response {
    if action != "updateKVMHost" {
        return no_action(&format!("/v1/hosts/kvm/{uuid}/actions"));
    }
    let outcome = update(&state, &caller, &uuid, &p, true).await;
    jobs::finished(&state, &headers, &job, outcome)
}

/// The system tag that pins the agent's certificate: `sslThumbprint::<thumbprint>`.
const THUMBPRINT_TAG: &str = "sslThumbprint::";

/// `POST /zstack/v1/hosts/kvm`: AddKVMHost. The agent at managementIp (on the agent port) is
/// logged into with username and password; sshPort and the system tags (such as
/// `pageTableExtensionDisabled`) are kept with the host.
pub async fn add_kvm_host(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Job { id: job, caller }: Job,
    Create(p): Create,
) -> Response {
    let spec = async {
        let ip = p.required("managementIp")?;
        // The core checks the address as hostName first; the ZStack caller spelled it managementIp.
        ferrocenter_core::validate::host_name("managementIp", &ip)?;
        let cluster = p.required("clusterUuid")?;
        let name = p.required_string("name")?;
        let user = p.required("username")?;
        let password = p.required("password")?;
        let ssh_port = p.port("sshPort")?.unwrap_or(22);
        for (field, v) in [
            ("name", &name),
            ("username", &user),
            ("password", &password),
        ] {
            if v.chars().count() > 255 {
                return Err(CoreError::invalid(field, "must be at most 255 characters").into());
            }
        }
        if p.present("tagUuids") {
            return Err(CoreError::not_supported("AddKVMHost tagUuids (tag patterns)").into());
        }
        let thumbprint = p
            .system_tags
            .iter()
            .find_map(|t| t.strip_prefix(THUMBPRINT_TAG))
            .map(String::from);
        Ok::<_, ZsError>(AddHostSpec {
            cluster_id: Some(cluster),
            host_name: ip.clone(),
            management_ip: Some(ip),
            user_name: user,
            password,
            ssh_port: Some(ssh_port),
            name: Some(name),
            description: p.string("description")?,
            resource_uuid: p.text("resourceUuid")?,
            tags: p.user_tags.clone(),
            system_tags: p.system_tags.clone(),
            ssl_thumbprint: thumbprint,
            trust_first_certificate: state.trust_agent_on_first_use,
            ..Default::default()
        })
    }
    .await;
    let spec = match spec {
        Ok(s) => s,
        Err(e) => return jobs::finished(&state, &headers, &job, Err(e)),
    };
    let r = with_task_id(job.clone(), state.core.add_host(&caller, spec)).await;
    started(&state, &headers, &job, r, Wrap::Plain)
}

/// DeleteHost: Permissive (default) or Enforcing; an unknown host is a success.
pub async fn delete(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    Job { id: job, caller }: Job,
) -> Response {
    let mode = match pairs
        .iter()
        .find(|(k, _)| k == "deleteMode")
        .map(|(_, v)| v.as_str())
    {
        None | Some("Permissive") => RemoveMode::Permissive,
        Some("Enforcing") => RemoveMode::Enforcing,
        Some(other) => {
            let e = CoreError::invalid(
                "deleteMode",
                format!("'{other}' is not Permissive or Enforcing"),
            );
            return jobs::finished(&state, &headers, &job, Err(e.into()));
        }
    };
    match state.core.get_host(&caller, &uuid).await {
        Err(CoreError::NotFound { .. }) => jobs::finished(&state, &headers, &job, Ok(json!({}))),
        Err(e) => jobs::finished(&state, &headers, &job, Err(e.into())),
        Ok(_) => {
            let r = with_task_id(job.clone(), state.core.remove_host(&caller, &uuid, mode)).await;
            started(&state, &headers, &job, r, Wrap::Delete)
        }
    }
}
