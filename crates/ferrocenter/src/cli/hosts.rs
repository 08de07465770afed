//! `host …`: listing and showing hosts, and every host operation (each a task the command
//! follows).
use clap::{ArgGroup, Args, Subcommand};
use ferrocenter_client::Connection;
use serde_json::{json, Value};

use super::inventory::add_target;
use super::resolve::{resolve, Kind};
use super::session::{prompt_secret, resume};
use super::tasks::follow;
use super::{output, usage, CliError, ClientArgs};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("place").required(true).args(["cluster", "datacenter"])))]
pub struct HostAddArgs {
    /// The host's address (IP or DNS name) where its agent listens.
    pub address: String,
    /// Add into this cluster (name or id) …
    #[arg(long)]
    pub cluster: Option<String>,
    /// … or as a standalone host of this datacenter (name or id).
    #[arg(long)]
    pub datacenter: Option<String>,
    /// The agent's port [default: the server's agent_port].
    #[arg(long)]
    pub port: Option<u16>,
    /// The agent's administrator; the password comes from FERROCENTER_HOST_PASSWORD or a prompt.
    #[arg(long, default_value = "root")]
    pub host_user: String,
    /// The SHA-256 thumbprint the host's certificate must have. Without it the add fails with
    /// the thumbprint the host presented, to check and pass here.
    #[arg(long)]
    pub host_thumbprint: Option<String>,
    /// Take the host over from another server that manages it.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum MaintenanceCommand {
    /// Enter maintenance mode: VMs move away (fully automated clusters) or must be moved.
    Enter {
        host: String,
        /// Give up after this many seconds (0: wait as long as it takes).
        #[arg(long, default_value_t = 0)]
        timeout: i64,
        /// Move powered-off VMs as well.
        #[arg(long)]
        evacuate_powered_off: bool,
    },
    /// Leave maintenance mode.
    Exit {
        host: String,
        #[arg(long, default_value_t = 0)]
        timeout: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// List hosts.
    List {
        /// Only this cluster's hosts (name or id).
        #[arg(long)]
        cluster: Option<String>,
        /// Only this datacenter's hosts (name or id).
        #[arg(long)]
        datacenter: Option<String>,
    },
    /// One host's state, hardware and certificate thumbprint.
    Show { host: String },
    /// Add a host (its agent) to a cluster or, standalone, to a datacenter.
    Add(HostAddArgs),
    /// Connect again to a disconnected or not-responding host.
    Reconnect {
        host: String,
        /// A new thumbprint to trust (after the host's certificate changed).
        #[arg(long)]
        host_thumbprint: Option<String>,
        /// Take the host over from another server that manages it.
        #[arg(long)]
        force: bool,
    },
    /// Stop managing the host for now (it keeps running; reconnect resumes).
    Disconnect { host: String },
    /// Maintenance mode.
    #[command(subcommand)]
    Maintenance(MaintenanceCommand),
    /// Remove the host from the inventory (its agent is released).
    Remove { host: String },
    /// Reboot the host (in maintenance mode, or with --force).
    Reboot {
        host: String,
        #[arg(long)]
        force: bool,
    },
    /// Shut the host down (in maintenance mode, or with --force).
    Shutdown {
        host: String,
        #[arg(long)]
        force: bool,
    },
    /// Give the host another name.
    Rename { host: String, new_name: String },
}

/// A host's record as `host show` prints it.
async fn show(c: &Connection, id: &str) -> Result<Value, CliError> {
    let get = |p: &'static str| c.get("HostSystem", id, p);
    let (name, runtime, summary, parent, vms) = (
        get("name").await?,
        get("runtime").await?,
        get("summary").await?,
        get("parent").await?,
        get("vm").await?,
    );
    let hw = &summary["hardware"];
    Ok(json!({
        "host": id,
        "name": name,
        "parent": parent["value"],
        "parent_type": parent["type"],
        "connection_state": runtime["connectionState"],
        "power_state": runtime["powerState"],
        "in_maintenance_mode": runtime["inMaintenanceMode"],
        "boot_time": runtime["bootTime"],
        "thumbprint": summary["config"]["sslThumbprint"],
        "port": summary["config"]["port"],
        "vendor": hw["vendor"],
        "model": hw["model"],
        "cpu_cores": hw["numCpuCores"],
        "memory_bytes": hw["memorySize"],
        "vms": vms.as_array().map(Vec::len).unwrap_or(0),
    }))
}

/// Adds a host: the agent's password from FERROCENTER_HOST_PASSWORD or a prompt.
async fn add(args: &ClientArgs, c: &Connection, a: &HostAddArgs) -> Result<(), CliError> {
    let password = match std::env::var("FERROCENTER_HOST_PASSWORD") {
        Ok(p) => p,
        Err(_) => prompt_secret(&format!("Password for {}@{}: ", a.host_user, a.address))?,
    };
    let (target, method) = add_target(c, a.cluster.as_deref(), a.datacenter.as_deref()).await?;
    let mut spec = json!({
        "_typeName": "HostConnectSpec",
        "hostName": a.address,
        "userName": a.host_user,
        "password": password,
        "force": a.force,
    });
    if let Some(p) = a.port {
        spec["port"] = json!(p);
    }
    if let Some(t) = &a.host_thumbprint {
        spec["sslThumbprint"] = json!(t);
    }
    let connected = if method == "AddHost_Task" {
        "asConnected"
    } else {
        "addConnected"
    };
    let ty = target["type"].as_str().unwrap_or_default();
    let id = target["value"].as_str().unwrap_or_default();
    let started = c
        .call(ty, id, method, json!({"spec": spec, connected: true}))
        .await?;
    follow(args, c, started).await
}

pub async fn host(args: &ClientArgs, cmd: &HostCommand) -> Result<(), CliError> {
    let c = resume(args)?;
    let host_task = |host: &str, method: &'static str, body: Value| {
        let c = &c;
        let host = host.to_string();
        async move {
            let id = resolve(c, Kind::Host, &host).await?;
            let started = c.call("HostSystem", &id, method, body).await?;
            follow(args, c, started).await
        }
    };
    match cmd {
        HostCommand::List {
            cluster,
            datacenter,
        } => {
            let mut query = Vec::new();
            if let Some(cl) = cluster {
                query.push(format!(
                    "clusters={}",
                    resolve(&c, Kind::Cluster, cl).await?
                ));
            }
            if let Some(d) = datacenter {
                query.push(format!(
                    "datacenters={}",
                    resolve(&c, Kind::Datacenter, d).await?
                ));
            }
            let path = if query.is_empty() {
                "/vcenter/host".to_string()
            } else {
                format!("/vcenter/host?{}", query.join("&"))
            };
            let v = c.api("GET", &path, None).await?;
            output::rows(
                args.output,
                v.as_array().map(Vec::as_slice).unwrap_or(&[]),
                &["host", "name", "connection_state", "power_state"],
            );
        }
        HostCommand::Show { host } => {
            let id = resolve(&c, Kind::Host, host).await?;
            output::object(args.output, &show(&c, &id).await?);
        }
        HostCommand::Add(a) => add(args, &c, a).await?,
        HostCommand::Reconnect {
            host,
            host_thumbprint,
            force,
        } => {
            let mut body = json!({});
            if host_thumbprint.is_some() || *force {
                let mut cnx = json!({"_typeName": "HostConnectSpec", "force": force});
                if let Some(t) = host_thumbprint {
                    cnx["sslThumbprint"] = json!(t);
                }
                body["cnxSpec"] = cnx;
            }
            host_task(host, "ReconnectHost_Task", body).await?;
        }
        HostCommand::Disconnect { host } => {
            host_task(host, "DisconnectHost_Task", json!({})).await?;
        }
        HostCommand::Maintenance(MaintenanceCommand::Enter {
            host,
            timeout,
            evacuate_powered_off,
        }) => {
            host_task(
                host,
                "EnterMaintenanceMode_Task",
                json!({"timeout": timeout, "evacuatePoweredOffVms": evacuate_powered_off}),
            )
            .await?;
        }
        HostCommand::Maintenance(MaintenanceCommand::Exit { host, timeout }) => {
            host_task(
                host,
                "ExitMaintenanceMode_Task",
                json!({"timeout": timeout}),
            )
            .await?;
        }
        HostCommand::Remove { host } => {
            let id = resolve(&c, Kind::Host, host).await?;
            // A standalone host is removed through its ComputeResource, as in vSphere.
            let parent = c.get("HostSystem", &id, "parent").await?;
            let (ty, target) = match parent["type"].as_str() {
                Some("ComputeResource") => (
                    "ComputeResource",
                    parent["value"].as_str().unwrap_or_default().to_string(),
                ),
                _ => ("HostSystem", id),
            };
            let started = c.call(ty, &target, "Destroy_Task", json!({})).await?;
            follow(args, &c, started).await?;
        }
        HostCommand::Reboot { host, force } => {
            host_task(host, "RebootHost_Task", json!({"force": force})).await?;
        }
        HostCommand::Shutdown { host, force } => {
            host_task(host, "ShutdownHost_Task", json!({"force": force})).await?;
        }
        HostCommand::Rename { host, new_name } => {
            if new_name.trim().is_empty() {
                return Err(usage("the new name is empty"));
            }
            host_task(host, "Rename_Task", json!({"newName": new_name})).await?;
        }
    }
    Ok(())
}
