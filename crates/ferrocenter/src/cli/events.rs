//! `event list`: the event log (oldest first, as QueryEvents answers it), for everything or
//! one entity.
use clap::{ArgGroup, Args, Subcommand};
use ferrocenter_client::task::moref;
use serde_json::{json, Value};

use super::resolve::{resolve, Kind};
use super::session::resume;
use super::{output, CliError, ClientArgs};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("entity").args(["host", "vm", "cluster", "datacenter"])))]
pub struct EventListArgs {
    /// Only this host's events (name or id).
    #[arg(long)]
    pub host: Option<String>,
    /// Only this VM's events.
    #[arg(long)]
    pub vm: Option<String>,
    /// Only this cluster's events.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Only this datacenter's events.
    #[arg(long)]
    pub datacenter: Option<String>,
    /// Only events of this type (`HostConnectedEvent`, `EnteredMaintenanceModeEvent`, …).
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// At most this many (the server answers at most 1,000).
    #[arg(long, default_value_t = 100)]
    pub max: u32,
}

#[derive(Debug, Subcommand)]
pub enum EventCommand {
    /// List events.
    List(EventListArgs),
}

pub async fn event(args: &ClientArgs, cmd: &EventCommand) -> Result<(), CliError> {
    let c = resume(args)?;
    let EventCommand::List(a) = cmd;
    let mut filter = json!({"_typeName": "EventFilterSpec", "maxCount": a.max});
    let entity = [
        (&a.host, Kind::Host, "HostSystem"),
        (&a.vm, Kind::Vm, "VirtualMachine"),
        (&a.cluster, Kind::Cluster, "ClusterComputeResource"),
        (&a.datacenter, Kind::Datacenter, "Datacenter"),
    ]
    .into_iter()
    .find_map(|(arg, kind, ty)| arg.as_ref().map(|name| (name, kind, ty)));
    if let Some((name, kind, ty)) = entity {
        let id = resolve(&c, kind, name).await?;
        filter["entity"] = json!({
            "_typeName": "EventFilterSpecByEntity",
            "entity": moref(ty, &id),
            // A cluster's or datacenter's events are also those of what it holds.
            "recursion": "all",
        });
    }
    if let Some(k) = &a.kind {
        filter["eventTypeId"] = json!([k]);
    }
    let events = c
        .call(
            "EventManager",
            "EventManager",
            "QueryEvents",
            json!({"filter": filter}),
        )
        .await?;
    let rows: Vec<Value> = events
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|e| {
            json!({
                "key": e["key"],
                "time": e["createdTime"],
                "type": e["_typeName"],
                "user": e["userName"],
                "host": e["host"]["name"],
                "message": e["fullFormattedMessage"],
            })
        })
        .collect();
    output::rows(
        args.output,
        &rows,
        &["key", "time", "type", "user", "message"],
    );
    Ok(())
}
