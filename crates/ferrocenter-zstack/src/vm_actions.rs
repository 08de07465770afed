//! CreateVmInstance (`POST /zstack/v1/vm-instances`), DestroyVmInstance (`DELETE
//! /zstack/v1/vm-instances/{uuid}`) and ExpungeVmInstance (`PUT …/{uuid}/actions`
//! `{"expungeVmInstance":{}}`), as asynchronous jobs over the core's create and delete.
//!
//! ferrocenter has no instance offerings, images, disk offerings or L3 networks of its own:
//! `cpuNum` and `memorySize` give the size (as newer ZStack allows without an offering), a root
//! disk of `rootDiskSize` and data disks of `dataDiskSizes` are created empty, and each of
//! `l3NetworkUuids` is a network the hosts report (its uuid). An offering or image uuid is
//! refused with SYS.1007 naming the field. Destroy behaves as ZStack with the global config
//! `vm.deletionPolicy = Direct`: the VM is stopped and expunged with its disks at once, so
//! nothing is left to recover; expunging a VM that is gone is a success.
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use ferrocenter_core::tasks::with_task_id;
use ferrocenter_core::vms::{IfPoweredOn, NewDisk, NewNic, VmCreateSpec};
use ferrocenter_core::CoreError;
use serde_json::json;

use super::errors::ZsError;
use super::jobs::{self, Job, Wrap};
use super::params::{no_action, Action, Create, Params};
use super::state::ZstackState;

/// Which request field each core disk came from.
struct Origins {
    /// The first core disk is the root disk.
    root: bool,
}

impl Origins {
    fn name(&self, core: &str) -> String {
        if let Some(rest) = core.strip_prefix("disks[") {
            if let Some((i, _)) = rest.split_once(']') {
                if let Ok(i) = i.parse::<usize>() {
                    return match (self.root, i) {
                        (true, 0) => "rootDiskSize".into(),
                        (true, i) => format!("dataDiskSizes[{}]", i - 1),
                        (false, i) => format!("dataDiskSizes[{i}]"),
                    };
                }
            }
        }
        if let Some(rest) = core.strip_prefix("nics[") {
            if let Some((i, _)) = rest.split_once(']') {
                return format!("l3NetworkUuids[{i}]");
            }
        }
        match core {
            "id" => "resourceUuid",
            "cpus" => "cpuNum",
            "memory_mib" => "memorySize",
            "datastore" => "primaryStorageUuidForRootVolume",
            "host" => "hostUuid",
            "cluster" => "clusterUuid",
            "datacenter" | "placement" => "zoneUuid",
            other => other,
        }
        .to_string()
    }

    fn fault(&self, e: CoreError) -> CoreError {
        match e {
            CoreError::InvalidArgument { field, reason } => {
                CoreError::invalid(self.name(&field), reason)
            }
            e => e,
        }
    }
}

const NO_OFFERINGS: &str = "ferrocenter has no offerings: give cpuNum and memorySize";

fn read_spec(p: &Params) -> Result<(VmCreateSpec, Origins), ZsError> {
    for (field, why) in [
        ("instanceOfferingUuid", NO_OFFERINGS),
        (
            "imageUuid",
            "ferrocenter has no image store: leave it out for an empty root disk of rootDiskSize",
        ),
        (
            "rootDiskOfferingUuid",
            "ferrocenter has no disk offerings: give rootDiskSize",
        ),
        (
            "dataDiskOfferingUuids",
            "ferrocenter has no disk offerings: give dataDiskSizes",
        ),
    ] {
        if p.present(field) {
            return Err(CoreError::invalid(field, why).into());
        }
    }
    let cpus = p
        .int("cpuNum")?
        .ok_or_else(|| CoreError::invalid("cpuNum", NO_OFFERINGS))?;
    let memory = p
        .int("memorySize")?
        .ok_or_else(|| CoreError::invalid("memorySize", NO_OFFERINGS))?;
    let power_on = match p.text("strategy")?.as_deref() {
        None | Some("InstantStart") => true,
        Some("CreateStopped") => false,
        Some(other) => {
            return Err(CoreError::invalid(
                "strategy",
                format!("'{other}' is not InstantStart or CreateStopped"),
            )
            .into())
        }
    };
    let root = p.int("rootDiskSize")?;
    let mut disks: Vec<NewDisk> = root
        .into_iter()
        .map(|b| NewDisk {
            capacity_bytes: b,
            ..Default::default()
        })
        .collect();
    for b in p.ints("dataDiskSizes")? {
        disks.push(NewDisk {
            capacity_bytes: b,
            ..Default::default()
        });
    }
    let spec = VmCreateSpec {
        id: p.text("resourceUuid")?,
        name: p.required_string("name")?,
        guest_os_id: None,
        datacenter_id: p.text("zoneUuid")?,
        cluster_id: p.text("clusterUuid")?,
        host_id: p.text("hostUuid")?,
        datastore_id: p.text("primaryStorageUuidForRootVolume")?,
        vcpus: cpus,
        // Bytes to MiB, rounded up; a negative size stays negative for the core to refuse.
        memory_mib: if memory < 0 {
            -1
        } else {
            (memory + (1 << 20) - 1) >> 20
        },
        disks,
        nics: p
            .list("l3NetworkUuids")?
            .into_iter()
            .map(|network_id| NewNic { network_id })
            .collect(),
        power_on,
    };
    Ok((
        spec,
        Origins {
            root: root.is_some(),
        },
    ))
}

/// `POST /zstack/v1/vm-instances`: the job is the core's create task.
pub async fn create(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Job { id: job, caller }: Job,
    Create(p): Create,
) -> Response {
    let (spec, origins) = match read_spec(&p) {
        Ok(s) => s,
        Err(e) => return jobs::finished(&state, &headers, &job, Err(e)),
    };
    let r = with_task_id(job.clone(), state.core.create_vm(&caller, spec)).await;
    match r {
        Ok(_) => jobs::accepted(&state, &headers, &job),
        Err(e) => jobs::task_refused(&state, &headers, &job, origins.fault(e), Wrap::Plain),
    }
}

/// DestroyVmInstance: a running VM is stopped first; an unknown VM is a success.
pub async fn destroy(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    Job { id: job, caller }: Job,
) -> Response {
    match pairs
        .iter()
        .find(|(k, _)| k == "deleteMode")
        .map(|(_, v)| v.as_str())
    {
        None | Some("Permissive" | "Enforcing") => {}
        Some(other) => {
            let e = CoreError::invalid(
                "deleteMode",
                format!("'{other}' is not Permissive or Enforcing"),
            );
            return jobs::finished(&state, &headers, &job, Err(e.into()));
        }
    }
    remove(&state, &headers, &job, &caller, &uuid).await
}

async fn remove(
    state: &ZstackState,
    headers: &HeaderMap,
    job: &str,
    caller: &ferrocenter_core::auth::Caller,
    uuid: &str,
) -> Response {
    match state.core.get_vm(caller, uuid).await {
        Err(CoreError::NotFound { .. }) => jobs::finished(state, headers, job, Ok(json!({}))),
        Err(e) => jobs::finished(state, headers, job, Err(e.into())),
        Ok(_) => {
            let r = with_task_id(
                job.to_string(),
                state.core.delete_vm(caller, uuid, IfPoweredOn::PowerOff),
            )
            .await;
            match r {
                Ok(_) => jobs::accepted(state, headers, job),
                Err(e) => jobs::task_refused(state, headers, job, e, Wrap::Plain),
            }
        }
    }
}

/// `PUT /zstack/v1/vm-instances/{uuid}/actions`: expungeVmInstance. Destroy already expunged
/// (deletionPolicy Direct), so a VM that is gone is a success; one that was never destroyed is
/// refused, as ZStack refuses to expunge a VM that is not Destroyed.
pub async fn actions(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    Job { id: job, caller }: Job,
    Action(action, _p): Action,
) -> Response {
    match action.as_str() {
        "expungeVmInstance" => {
            let outcome = match state.core.get_vm(&caller, &uuid).await {
                Err(CoreError::NotFound { .. }) => Ok(json!({})),
                Err(e) => Err(e.into()),
                Ok(vm) => Err(ZsError::from(CoreError::invalid_state(format!(
                    "VM {} is not destroyed: destroy it first (DestroyVmInstance)",
                    vm.name
                )))),
            };
            jobs::finished(&state, &headers, &job, outcome)
        }
        _ => no_action(&format!("/v1/vm-instances/{uuid}/actions")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_fields_are_named_as_zstack_spells_them() {
        let o = Origins { root: true };
        assert_eq!(o.name("disks[0].capacity"), "rootDiskSize");
        assert_eq!(o.name("disks[2].capacity"), "dataDiskSizes[1]");
        assert_eq!(o.name("nics[1].network"), "l3NetworkUuids[1]");
        assert_eq!(o.name("cpus"), "cpuNum");
        let o = Origins { root: false };
        assert_eq!(o.name("disks[0].capacity"), "dataDiskSizes[0]");
    }
}
