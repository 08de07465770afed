//! Operations through the three surfaces. Each is sent and not waited for beyond a moment, so
//! the next action (a SIGKILL among them) meets it in flight. An operation on something the
//! inventory does not hold right now is logged as skipped; refusals are answers, not failures.
use reqwest::Method;
use serde_json::{json, Value};

use super::actions::{Op, Surface};
use super::observe::{server_view, ServerView};
use super::World;
use crate::common::ROOT_PW;

/// A vim HostConnectSpec for agent `i`, with its pinned thumbprint.
pub fn connect_spec(w: &World, i: usize) -> Value {
    let h = &w.fleet.manifest.hosts[i];
    json!({"_typeName": "HostConnectSpec", "hostName": h.address, "port": h.port,
        "userName": "root", "password": ROOT_PW, "sslThumbprint": h.thumbprint, "force": false})
}

fn moref(t: &str, v: &str) -> Value {
    json!({"_typeName": "ManagedObjectReference", "type": t, "value": v})
}

pub async fn perform(w: &mut World, op: &Op) {
    let view = match server_view(&w.api).await {
        Ok(v) => v,
        Err(e) => {
            w.log(format!(
                "{op:?} skipped: the inventory cannot be read ({e})"
            ));
            return;
        }
    };
    let what = format!("{op:?}");
    match *op {
        Op::AddEveryHost { via } => {
            for agent in 0..w.settings.hosts {
                if view.host_at(w.agent_address(agent)).is_none() {
                    Box::pin(perform_add(
                        w,
                        agent,
                        via,
                        format!("{what} [agent {agent}]"),
                    ))
                    .await;
                }
            }
        }
        Op::AddHost { agent, via } => perform_add(w, agent, via, what).await,
        Op::RemoveHost { agent, via } => {
            let Some((uuid, moid)) = host_ids(w, &view, agent) else {
                w.log(format!("{what} skipped: not in the inventory"));
                return;
            };
            let (method, path, body, zs) = match via {
                Surface::Vapi => (
                    Method::DELETE,
                    format!("/api/vcenter/host/{moid}"),
                    None,
                    false,
                ),
                Surface::Vim => (
                    Method::POST,
                    format!("HostSystem/{moid}/Destroy_Task"),
                    Some(json!({})),
                    false,
                ),
                Surface::Zstack => (
                    Method::DELETE,
                    format!("/zstack/v1/hosts/{uuid}?deleteMode=Permissive"),
                    None,
                    true,
                ),
            };
            send_via(w, what, via, zs, method, path, body).await;
        }
        Op::DisconnectHost { agent, via } => {
            let Some((_, moid)) = host_ids(w, &view, agent) else {
                w.log(format!("{what} skipped: not in the inventory"));
                return;
            };
            let (path, body) = match via {
                Surface::Vim => (
                    format!("HostSystem/{moid}/DisconnectHost_Task"),
                    Some(json!({})),
                ),
                _ => (format!("/api/vcenter/host/{moid}/disconnect"), None),
            };
            send_via(w, what, via, false, Method::POST, path, body).await;
        }
        Op::ReconnectHost { agent, via } => {
            let Some((uuid, moid)) = host_ids(w, &view, agent) else {
                w.log(format!("{what} skipped: not in the inventory"));
                return;
            };
            let (method, path, body) = match via {
                Surface::Vapi => (
                    Method::POST,
                    format!("/api/vcenter/host/{moid}/connect"),
                    None,
                ),
                Surface::Vim => (
                    Method::POST,
                    format!("HostSystem/{moid}/ReconnectHost_Task"),
                    Some(json!({})),
                ),
                Surface::Zstack => (
                    Method::PUT,
                    format!("/zstack/v1/hosts/{uuid}/actions"),
                    Some(json!({"reconnectHost": {}})),
                ),
            };
            send_via(w, what, via, via == Surface::Zstack, method, path, body).await;
        }
        // Leaving maintenance is refused while the host is not connected (its agent stopped,
        // or it rebooted): an answer like any refusal.
        Op::EnterMaintenance { agent, via } | Op::ExitMaintenance { agent, via } => {
            let enter = matches!(op, Op::EnterMaintenance { .. });
            let Some((uuid, moid)) = host_ids(w, &view, agent) else {
                w.log(format!("{what} skipped: not in the inventory"));
                return;
            };
            let (method, path, body) = match (via, enter) {
                (Surface::Zstack, _) => (
                    Method::PUT,
                    format!("/zstack/v1/hosts/{uuid}/actions"),
                    Some(
                        json!({"changeHostState": {"stateEvent": if enter { "maintain" } else { "enable" }}}),
                    ),
                ),
                (_, true) => (
                    Method::POST,
                    format!("HostSystem/{moid}/EnterMaintenanceMode_Task"),
                    Some(json!({"timeout": 30})),
                ),
                (_, false) => (
                    Method::POST,
                    format!("HostSystem/{moid}/ExitMaintenanceMode_Task"),
                    Some(json!({"timeout": 0})),
                ),
            };
            send_via(w, what, via, via == Surface::Zstack, method, path, body).await;
        }
        Op::PowerVm { vm, on, via } => {
            let name = w.vm_names[vm].clone();
            let Some(moid) = view.vm(&name).and_then(|v| v.moid.clone()) else {
                w.log(format!("{what} skipped: {name} is not in the inventory"));
                return;
            };
            let (path, body) = match via {
                Surface::Vim => (
                    format!(
                        "VirtualMachine/{moid}/{}",
                        if on {
                            "PowerOnVM_Task"
                        } else {
                            "PowerOffVM_Task"
                        }
                    ),
                    Some(json!({})),
                ),
                _ => (
                    format!(
                        "/api/vcenter/vm/{moid}/power/{}",
                        if on { "start" } else { "stop" }
                    ),
                    None,
                ),
            };
            send_via(
                w,
                format!("{what} [{name}]"),
                via,
                false,
                Method::POST,
                path,
                body,
            )
            .await;
        }
        Op::MigrateVm { vm, to, via } => {
            let name = w.vm_names[vm].clone();
            let Some(moid) = view.vm(&name).and_then(|v| v.moid.clone()) else {
                w.log(format!("{what} skipped: {name} is not in the inventory"));
                return;
            };
            let Some((_, dest)) = host_ids(w, &view, to) else {
                w.log(format!(
                    "{what} skipped: the destination is not in the inventory"
                ));
                return;
            };
            let (path, body) = match via {
                Surface::Vim => (
                    format!("VirtualMachine/{moid}/MigrateVM_Task"),
                    json!({"host": moref("HostSystem", &dest), "priority": "defaultPriority"}),
                ),
                _ => (
                    format!("/api/vcenter/vm/{moid}?action=relocate&vmw-task=true"),
                    json!({"spec": {"placement": {"host": dest}}}),
                ),
            };
            send_via(
                w,
                format!("{what} [{name}]"),
                via,
                false,
                Method::POST,
                path,
                Some(body),
            )
            .await;
        }
    }
}

async fn perform_add(w: &mut World, agent: usize, via: Surface, what: String) {
    let api = w.api.clone();
    let h = w.fleet.manifest.hosts[agent].clone();
    match via {
        Surface::Vapi => {
            let body = json!({"spec": {"hostname": h.address, "port": h.port,
                        "user_name": "root", "password": ROOT_PW,
                        "thumbprint_verification": "THUMBPRINT", "thumbprint": h.thumbprint}});
            w.send(what, async move {
                api.session_call(Method::POST, "/api/vcenter/host", Some(body))
                    .await
            })
            .await;
        }
        Surface::Vim => {
            let path = format!("ClusterComputeResource/{}/AddHost_Task", w.cluster_moid);
            let body = json!({"spec": connect_spec(w, agent), "asConnected": true});
            w.send(what, async move {
                api.vim(Method::POST, &path, Some(body)).await
            })
            .await;
        }
        Surface::Zstack => {
            let body = json!({"params": {"name": h.address, "managementIp": h.address,
                        "clusterUuid": w.cluster_uuid, "username": "root", "password": ROOT_PW,
                        "systemTags": [format!("sslThumbprint::{}", h.thumbprint)]}});
            w.send(what, async move {
                api.zstack(Method::POST, "/zstack/v1/hosts/kvm", Some(body))
                    .await
            })
            .await;
        }
    }
}

/// The ZStack uuid and vim moId of agent `i`'s host, if the inventory holds it.
fn host_ids(w: &World, view: &ServerView, i: usize) -> Option<(String, String)> {
    let h = view.host_at(w.agent_address(i))?;
    Some((h.uuid.clone(), h.moid.clone()?))
}

async fn send_via(
    w: &mut World,
    what: String,
    via: Surface,
    zstack: bool,
    method: Method,
    path: String,
    body: Option<Value>,
) {
    let api = w.api.clone();
    w.send(what, async move {
        if zstack {
            api.zstack(method, &path, body).await
        } else if via == Surface::Vim {
            api.vim(method, &path, body).await
        } else {
            api.session_call(method, &path, body).await
        }
    })
    .await;
}
