//! `vm …`: listing VMs, powering them on and off, live migration.
use clap::Subcommand;
use ferrocenter_client::task::moref;
use serde_json::json;

use super::resolve::{resolve, Kind};
use super::session::resume;
use super::tasks::follow;
use super::{output, CliError, ClientArgs};

#[derive(Debug, Subcommand)]
pub enum VmCommand {
    /// List VMs.
    List {
        /// Only the VMs on this host (name or id).
        #[arg(long)]
        host: Option<String>,
    },
    /// Power a VM on (a task).
    PowerOn { vm: String },
    /// Power a VM off (a task).
    PowerOff { vm: String },
    /// Move a running or stopped VM to another host of its datacenter (a task).
    Migrate {
        vm: String,
        /// The destination host (name or id).
        #[arg(long)]
        host: String,
    },
}

pub async fn vm(args: &ClientArgs, cmd: &VmCommand) -> Result<(), CliError> {
    let c = resume(args)?;
    let (vm, method, body) = match cmd {
        VmCommand::List { host } => {
            let path = match host {
                Some(h) => format!("/vcenter/vm?hosts={}", resolve(&c, Kind::Host, h).await?),
                None => "/vcenter/vm".into(),
            };
            let v = c.api("GET", &path, None).await?;
            output::rows(
                args.output,
                v.as_array().map(Vec::as_slice).unwrap_or(&[]),
                &["vm", "name", "power_state", "cpu_count", "memory_size_MiB"],
            );
            return Ok(());
        }
        VmCommand::PowerOn { vm } => (vm, "PowerOnVM_Task", json!({})),
        VmCommand::PowerOff { vm } => (vm, "PowerOffVM_Task", json!({})),
        VmCommand::Migrate { vm, host } => {
            let dest = resolve(&c, Kind::Host, host).await?;
            (
                vm,
                "MigrateVM_Task",
                json!({"host": moref("HostSystem", &dest), "priority": "defaultPriority"}),
            )
        }
    };
    let id = resolve(&c, Kind::Vm, vm).await?;
    let started = c.call("VirtualMachine", &id, method, body).await?;
    follow(args, &c, started).await
}
