//! What the server says (its inventory, read through ZStack for uuids and vAPI for moIds) and
//! what the agents hold (read from the fleet in this process).
use std::collections::HashMap;

use reqwest::Method;
use serde_json::Value;

use super::server::Api;

#[derive(Debug, Clone)]
pub struct HostView {
    pub uuid: String,
    pub moid: Option<String>,
    pub address: String,
    /// ZStack status: Connecting, Connected, Disconnected.
    pub status: String,
    pub cpu_num: u64,
}

#[derive(Debug, Clone)]
pub struct VmView {
    pub name: String,
    pub moid: Option<String>,
    pub host_uuid: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ServerView {
    pub hosts: Vec<HostView>,
    pub vms: Vec<VmView>,
}

impl ServerView {
    pub fn host_at(&self, address: &str) -> Option<&HostView> {
        self.hosts.iter().find(|h| h.address == address)
    }

    pub fn vm(&self, name: &str) -> Option<&VmView> {
        self.vms.iter().find(|v| v.name == name)
    }
}

fn ok_list(r: super::server::Reply, key: &str, what: &str) -> Result<Vec<Value>, String> {
    let (s, v) = r?;
    if s != 200 {
        return Err(format!("{what} answered {s}: {v}"));
    }
    let list = if key.is_empty() { &v } else { &v[key] };
    list.as_array()
        .cloned()
        .ok_or_else(|| format!("{what}: no list in {v}"))
}

fn text(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

/// The server's inventory; an error when the server cannot be read.
pub async fn server_view(api: &Api) -> Result<ServerView, String> {
    let zhosts = ok_list(
        api.zstack(Method::GET, "/zstack/v1/hosts?limit=1000", None)
            .await,
        "inventories",
        "QueryHost",
    )?;
    let zvms = ok_list(
        api.zstack(Method::GET, "/zstack/v1/vm-instances?limit=1000", None)
            .await,
        "inventories",
        "QueryVmInstance",
    )?;
    let vhosts = ok_list(
        api.session_call(Method::GET, "/api/vcenter/host", None)
            .await,
        "",
        "host.list",
    )?;
    let vvms = ok_list(
        api.session_call(Method::GET, "/api/vcenter/vm", None).await,
        "",
        "VM.list",
    )?;
    let host_moids: HashMap<String, String> = vhosts
        .iter()
        .map(|h| (text(h, "name"), text(h, "host")))
        .collect();
    let vm_moids: HashMap<String, String> = vvms
        .iter()
        .map(|v| (text(v, "name"), text(v, "vm")))
        .collect();
    let hosts = zhosts
        .iter()
        .map(|h| HostView {
            uuid: text(h, "uuid"),
            moid: host_moids.get(&text(h, "name")).cloned(),
            address: text(h, "managementIp"),
            status: text(h, "status"),
            cpu_num: h["cpuNum"].as_u64().unwrap_or(0),
        })
        .collect();
    let vms = zvms
        .iter()
        .map(|v| VmView {
            name: text(v, "name"),
            moid: vm_moids.get(&text(v, "name")).cloned(),
            host_uuid: v["hostUuid"].as_str().map(String::from),
        })
        .collect();
    Ok(ServerView { hosts, vms })
}
