//! `datacenter …` and `cluster …`.
use clap::{Subcommand, ValueEnum};
use ferrocenter_client::task::moref;
use ferrocenter_client::Connection;
use serde_json::{json, Value};

use super::resolve::{resolve, Kind};
use super::session::resume;
use super::tasks::follow;
use super::{output, CliError, ClientArgs};

#[derive(Debug, Subcommand)]
pub enum DatacenterCommand {
    /// List datacenters.
    List,
    /// Create a datacenter.
    Create { name: String },
}

/// A cluster's DRS automation level: whether entering maintenance moves VMs by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Automation {
    #[value(name = "fullyAutomated")]
    FullyAutomated,
    #[value(name = "partiallyAutomated")]
    PartiallyAutomated,
    #[value(name = "manual")]
    Manual,
}

impl Automation {
    fn as_vim(self) -> &'static str {
        match self {
            Automation::FullyAutomated => "fullyAutomated",
            Automation::PartiallyAutomated => "partiallyAutomated",
            Automation::Manual => "manual",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// List clusters with their automation level.
    List {
        /// Only the clusters of this datacenter (name or id).
        #[arg(long)]
        datacenter: Option<String>,
    },
    /// Create a cluster in a datacenter.
    Create {
        name: String,
        /// The datacenter (name or id).
        #[arg(long)]
        datacenter: String,
        #[arg(long, value_enum, default_value_t = Automation::FullyAutomated)]
        automation: Automation,
    },
    /// Change how maintenance mode moves VMs (a task).
    SetAutomation {
        /// The cluster (name or id).
        cluster: String,
        #[arg(value_enum)]
        level: Automation,
    },
}

pub async fn datacenter(args: &ClientArgs, cmd: &DatacenterCommand) -> Result<(), CliError> {
    let c = resume(args)?;
    match cmd {
        DatacenterCommand::List => {
            let v = c.api("GET", "/vcenter/datacenter", None).await?;
            output::rows(
                args.output,
                v.as_array().map(Vec::as_slice).unwrap_or(&[]),
                &["datacenter", "name"],
            );
        }
        DatacenterCommand::Create { name } => {
            let id = c
                .api(
                    "POST",
                    "/vcenter/datacenter",
                    Some(json!({"spec": {"name": name}})),
                )
                .await?;
            output::rows(
                args.output,
                &[json!({"datacenter": id, "name": name})],
                &["datacenter", "name"],
            );
        }
    }
    Ok(())
}

/// A cluster's automation level, from its configuration.
async fn automation_of(c: &Connection, cluster: &str) -> Result<Value, CliError> {
    let cfg = c
        .get("ClusterComputeResource", cluster, "configurationEx")
        .await?;
    Ok(cfg["drsConfig"]["defaultVmBehavior"].clone())
}

pub async fn cluster(args: &ClientArgs, cmd: &ClusterCommand) -> Result<(), CliError> {
    let c = resume(args)?;
    match cmd {
        ClusterCommand::List { datacenter } => {
            let path = match datacenter {
                Some(d) => format!(
                    "/vcenter/cluster?datacenters={}",
                    resolve(&c, Kind::Datacenter, d).await?
                ),
                None => "/vcenter/cluster".into(),
            };
            let v = c.api("GET", &path, None).await?;
            let mut rows = Vec::new();
            for cl in v.as_array().map(Vec::as_slice).unwrap_or(&[]) {
                let mut r = cl.clone();
                let id = cl["cluster"].as_str().unwrap_or_default();
                r["automation"] = automation_of(&c, id).await?;
                rows.push(r);
            }
            output::rows(
                args.output,
                &rows,
                &["cluster", "name", "automation", "drs_enabled", "ha_enabled"],
            );
        }
        ClusterCommand::Create {
            name,
            datacenter,
            automation,
        } => {
            let dc = resolve(&c, Kind::Datacenter, datacenter).await?;
            let folder = c.get("Datacenter", &dc, "hostFolder").await?;
            let folder = folder["value"].as_str().unwrap_or_default();
            let made = c
                .call(
                    "Folder",
                    folder,
                    "CreateClusterEx",
                    json!({
                        "name": name,
                        "spec": {
                            "_typeName": "ClusterConfigSpecEx",
                            "drsConfig": {
                                "_typeName": "ClusterDrsConfigInfo",
                                "defaultVmBehavior": automation.as_vim(),
                            },
                        },
                    }),
                )
                .await?;
            output::rows(
                args.output,
                &[json!({
                    "cluster": made["value"],
                    "name": name,
                    "datacenter": dc,
                    "automation": automation.as_vim(),
                })],
                &["cluster", "name", "datacenter", "automation"],
            );
        }
        ClusterCommand::SetAutomation { cluster, level } => {
            let id = resolve(&c, Kind::Cluster, cluster).await?;
            let started = c
                .call(
                    "ClusterComputeResource",
                    &id,
                    "ReconfigureComputeResource_Task",
                    json!({
                        "spec": {
                            "_typeName": "ClusterConfigSpecEx",
                            "drsConfig": {
                                "_typeName": "ClusterDrsConfigInfo",
                                "defaultVmBehavior": level.as_vim(),
                            },
                        },
                        "modify": true,
                    }),
                )
                .await?;
            follow(args, &c, started).await?;
        }
    }
    Ok(())
}

/// The moRef of a cluster or datacenter host folder a host is added to.
pub(crate) async fn add_target(
    c: &Connection,
    cluster: Option<&str>,
    datacenter: Option<&str>,
) -> Result<(Value, &'static str), CliError> {
    if let Some(cl) = cluster {
        let id = resolve(c, Kind::Cluster, cl).await?;
        return Ok((moref("ClusterComputeResource", &id), "AddHost_Task"));
    }
    let dc = resolve(c, Kind::Datacenter, datacenter.unwrap_or_default()).await?;
    let folder = c.get("Datacenter", &dc, "hostFolder").await?;
    Ok((folder, "AddStandaloneHost_Task"))
}
