//! VM lifecycle on every surface over simulated hosts: a VM created through vim (VI/JSON),
//! vAPI or ZStack is defined on a host agent and seen through all three surfaces; deleted, it is
//! gone from the agent; a disk made from an image reaches the host with the image's name; bad
//! input names the field; a create that fails part-way leaves nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::sync::Arc;

use common::sdk::{run_sdk_script, run_soap_script, sdk_python, soap_python};
use common::vim::{self, call, moref, path_of};
use common::zstack::{uuid_hex, ZsClient};
use common::*;
use ferrocenter_agent::simulate::Fleet;
use ferrocenter_core::auth::Caller;
use ferrocenter_core::inventory::{EventFilter, FolderKind};
use ferrocenter_core::saga::Drill;
use ferrocenter_core::Core;
use reqwest::Method;
use serde_json::{json, Value};

/// A server managing a two-host cluster `C0` of datacenter `DC0`.
struct Env {
    fleet: Fleet,
    ts: TestServer,
    core: Arc<Core>,
    admin: Caller,
    token: String,
    cluster_moid: String,
    vm_folder: String,
    datastore: (String, String),
    network: (String, String, String),
}

async fn env(octet: u8) -> Env {
    let fleet = sim_fleet(2, 0, octet, 71).await;
    let ts = TestServer::start().await;
    let (core, admin) = ts.core_admin().await;
    let dc = core.create_datacenter(&admin, "DC0", "").await.unwrap();
    let cl = core
        .create_cluster(
            &admin,
            &dc.id,
            "C0",
            ferrocenter_core::inventory::AutomationLevel::FullyAutomated,
            "",
        )
        .await
        .unwrap();
    for h in &fleet.manifest.hosts {
        let t = core
            .add_host(
                &admin,
                ferrocenter_core::hosts::AddHostSpec {
                    cluster_id: Some(cl.id.clone()),
                    host_name: h.address.clone(),
                    port: Some(h.port),
                    ssl_thumbprint: Some(h.thumbprint.clone()),
                    user_name: "root".into(),
                    password: ROOT_PW.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let t = core.tasks.wait(&t.id).await.unwrap();
        assert!(t.error.is_none(), "{:?}", t.error);
    }
    let vm_folder = core
        .datacenter_folder(&dc.id, FolderKind::Vm)
        .await
        .unwrap()
        .moid;
    // A datastore and a network of the first host (datastores are local to each host).
    let hosts = core.list_hosts(&admin, &Default::default()).await.unwrap();
    let ds = core.datastores_of_host(&admin, &hosts[0].id).await.unwrap();
    let ds = ds.into_iter().next().unwrap();
    let nets = core.networks_of_host(&admin, &hosts[0].id).await.unwrap();
    let net = nets.into_iter().next().unwrap();
    let token = ts.login(ADMIN).await;
    Env {
        fleet,
        core,
        admin,
        token,
        cluster_moid: cl.moid,
        vm_folder,
        datastore: (ds.moid, ds.name),
        network: (net.moid, net.name, net.id),
        ts,
    }
}

impl Env {
    /// Which agent has a VM named `name` (and how many do).
    fn agents_with(&self, name: &str) -> Vec<usize> {
        (0..self.fleet.manifest.hosts.len())
            .filter(|i| self.fleet.agent(*i).vms().iter().any(|v| v.name == name))
            .collect()
    }

    async fn vapi_names(&self) -> Vec<String> {
        let listed: Value = self
            .ts
            .call(Method::GET, "/api/vcenter/vm", Some(&self.token), None)
            .await
            .json()
            .await
            .unwrap();
        listed
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_string())
            .collect()
    }

    async fn zstack(&self) -> ZsClient {
        ZsClient::new(self.ts.client.clone(), &self.ts.api(""), "admin", PASSWORD).await
    }

    async fn zstack_names(&self) -> Vec<String> {
        self.zstack()
            .await
            .inventories("/zstack/v1/vm-instances")
            .await
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_string())
            .collect()
    }

    async fn vim_names(&self) -> Vec<String> {
        let (s, children) = call(
            &self.ts,
            Some(&self.token),
            Method::GET,
            &format!("Folder/{}/childEntity", self.vm_folder),
            None,
        )
        .await;
        assert_eq!(s, 200, "{children}");
        let mut out = Vec::new();
        for c in children.as_array().unwrap() {
            let (_, name) = call(
                &self.ts,
                Some(&self.token),
                Method::GET,
                &format!("{}/name", path_of(c)),
                None,
            )
            .await;
            out.push(name.as_str().unwrap().to_string());
        }
        out
    }

    /// Whether every surface lists `name` (or none does).
    async fn seen_everywhere(&self, name: &str, present: bool) {
        let n = name.to_string();
        assert_eq!(
            self.vapi_names().await.contains(&n),
            present,
            "vAPI, {name}"
        );
        assert_eq!(self.vim_names().await.contains(&n), present, "vim, {name}");
        assert_eq!(
            self.zstack_names().await.contains(&n),
            present,
            "ZStack, {name}"
        );
        assert_eq!(
            self.agents_with(name).len(),
            usize::from(present),
            "agents, {name}"
        );
    }

    async fn event_kinds(&self, entity_name: &str) -> Vec<String> {
        self.core
            .list_events(&self.admin, &EventFilter::default())
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.entity_name == entity_name)
            .map(|e| e.kind)
            .collect()
    }
}

fn config_spec(name: &str, cpus: i64, e: &Env) -> Value {
    json!({
        "_typeName": "VirtualMachineConfigSpec",
        "name": name,
        "guestId": "debian12_64Guest",
        "numCPUs": cpus,
        "memoryMB": 512,
        "files": {"_typeName": "VirtualMachineFileInfo", "vmPathName": format!("[{}]", e.datastore.1)},
        "deviceChange": [
            {"_typeName": "VirtualDeviceConfigSpec", "operation": "add",
             "device": {"_typeName": "ParaVirtualSCSIController", "key": 1000, "busNumber": 0,
                        "sharedBus": "noSharing"}},
            {"_typeName": "VirtualDeviceConfigSpec", "operation": "add", "fileOperation": "create",
             "device": {"_typeName": "VirtualDisk", "key": -1, "controllerKey": 1000,
                        "unitNumber": 0, "capacityInKB": 1 << 20,
                        "backing": {"_typeName": "VirtualDiskFlatVer2BackingInfo",
                                    "fileName": "", "diskMode": "persistent",
                                    "thinProvisioned": true}}},
            {"_typeName": "VirtualDeviceConfigSpec", "operation": "add",
             "device": {"_typeName": "VirtualVmxnet3", "key": -2,
                        "backing": {"_typeName": "VirtualEthernetCardNetworkBackingInfo",
                                    "deviceName": e.network.1,
                                    "network": moref("Network", &e.network.0)}}},
        ],
    })
}

/// [`config_spec`] with its disk a copy of `file` (`[datastore] name`): no fileOperation.
fn image_config_spec(name: &str, file: &str, e: &Env) -> Value {
    let mut c = config_spec(name, 1, e);
    let disk = c["deviceChange"][1].as_object_mut().unwrap();
    disk.remove("fileOperation");
    disk["device"]["backing"]["fileName"] = json!(file);
    c
}

/// The image of each disk of the VM named `name`, as its host holds it.
fn images_on_host(e: &Env, name: &str) -> Vec<(Option<String>, String, u64)> {
    let on = e.agents_with(name);
    assert_eq!(on.len(), 1, "{name} on {on:?}");
    let vm = e
        .fleet
        .agent(on[0])
        .vms()
        .into_iter()
        .find(|v| v.name == name)
        .unwrap();
    vm.disks
        .into_iter()
        .map(|d| (d.image, d.datastore, d.capacity_bytes))
        .collect()
}

async fn create_vm_task(e: &Env, config: Value) -> (u16, Value) {
    call(
        &e.ts,
        Some(&e.token),
        Method::POST,
        &format!("Folder/{}/CreateVM_Task", e.vm_folder),
        Some(json!({
            "config": config,
            "pool": moref("ResourcePool", &format!("resgroup-c{}",
                ferrocenter_core::moids::number(&e.cluster_moid).unwrap())),
        })),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vim_creates_and_destroys_vms_on_the_hosts() {
    let e = env(40).await;

    // Created through CreateVM_Task: the task's result and entity are the new VM.
    let (s, task) = create_vm_task(&e, config_spec("web-1", 2, &e)).await;
    assert_eq!(s, 200, "{task}");
    let info = vim::finished_task(&e.ts, &e.token, &task).await;
    assert_eq!(info["state"], "success", "{info}");
    assert_eq!(info["descriptionId"], "Folder.createVm", "{info}");
    let vm = info["result"].clone();
    assert_eq!(vm["type"], "VirtualMachine", "{info}");
    let (_, summary) = call(
        &e.ts,
        Some(&e.token),
        Method::GET,
        &format!("{}/summary", path_of(&vm)),
        None,
    )
    .await;
    assert_eq!(summary["config"]["numCpu"], 2, "{summary}");
    assert_eq!(summary["config"]["memorySizeMB"], 512, "{summary}");
    e.seen_everywhere("web-1", true).await;
    let on = e.agents_with("web-1")[0];
    let agent_vm = e
        .fleet
        .agent(on)
        .vms()
        .into_iter()
        .find(|v| v.name == "web-1")
        .unwrap();
    assert_eq!(agent_vm.vcpus, 2);
    assert_eq!(agent_vm.memory_bytes, 512 << 20);
    assert_eq!(agent_vm.disks.len(), 1, "{agent_vm:?}");
    assert_eq!(agent_vm.disks[0].capacity_bytes, 1 << 30);
    assert_eq!(agent_vm.disks[0].datastore, e.datastore.1);
    assert_eq!(agent_vm.nics.len(), 1);
    assert_eq!(agent_vm.nics[0].network, e.network.1);

    // The same name again: DuplicateName, and nothing new anywhere.
    let (s, task) = create_vm_task(&e, config_spec("web-1", 1, &e)).await;
    assert_eq!(s, 500, "{task}");
    assert_eq!(task["_typeName"], "DuplicateName", "{task}");
    assert_eq!(e.agents_with("web-1").len(), 1);

    // Bad input names the field as the spec spells it.
    let mut no_name = config_spec("x", 1, &e);
    no_name.as_object_mut().unwrap().remove("name");
    for (config, field) in [
        (config_spec("zero", 0, &e), "config.numCPUs"),
        (no_name, "config.name"),
        (
            {
                let mut c = config_spec("bad-net", 1, &e);
                c["deviceChange"][2]["device"]["backing"]["network"] =
                    moref("Network", "network-9999");
                c
            },
            "config.deviceChange[2].device.backing.network",
        ),
        (
            {
                let mut c = config_spec("bad-ds", 1, &e);
                c["files"]["vmPathName"] = json!("[no-such-datastore]");
                c
            },
            "config.files.vmPathName",
        ),
        (
            {
                let mut c = config_spec("bad-disk", 1, &e);
                c["deviceChange"][1]["device"]["capacityInKB"] = json!(-5);
                c
            },
            "config.deviceChange[1].device.capacityInKB",
        ),
    ] {
        let (s, f) = create_vm_task(&e, config).await;
        assert_eq!(s, 500, "{field}: {f}");
        assert_eq!(f["_typeName"], "InvalidArgument", "{field}: {f}");
        assert_eq!(f["invalidProperty"], field, "{f}");
    }
    let (s, f) = call(
        &e.ts,
        Some(&e.token),
        Method::POST,
        &format!("Folder/{}/CreateVM_Task", e.vm_folder),
        Some(json!({"config": config_spec("bad-host", 1, &e),
                    "pool": moref("ResourcePool", "resgroup-c9999")})),
    )
    .await;
    assert_eq!(s, 500, "{f}");
    for name in ["zero", "x", "bad-net", "bad-ds", "bad-disk", "bad-host"] {
        assert!(e.agents_with(name).is_empty(), "{name} was defined");
    }

    // A VirtualDisk without fileOperation whose backing names a file: a copy of that image.
    let image = format!("[{}] debian-12.qcow2", e.datastore.1);
    let (s, task) = create_vm_task(&e, image_config_spec("from-image", &image, &e)).await;
    assert_eq!(s, 200, "{task}");
    let info = vim::finished_task(&e.ts, &e.token, &task).await;
    assert_eq!(info["state"], "success", "{info}");
    assert_eq!(
        images_on_host(&e, "from-image"),
        [(
            Some("debian-12.qcow2".to_string()),
            e.datastore.1.clone(),
            1 << 30
        )]
    );
    let file_name = "config.deviceChange[1].device.backing.fileName";
    for file in [
        "[no-such-datastore] debian-12.qcow2".to_string(),
        format!("[{}] ../etc/shadow", e.datastore.1),
        format!("[{}] images/base.qcow2", e.datastore.1),
        format!("[{}]", e.datastore.1),
        "debian-12.qcow2".to_string(),
    ] {
        let (s, f) = create_vm_task(&e, image_config_spec("bad-image", &file, &e)).await;
        assert_eq!(s, 500, "{file}: {f}");
        assert_eq!(f["_typeName"], "InvalidArgument", "{file}: {f}");
        assert_eq!(f["invalidProperty"], file_name, "{file}: {f}");
    }
    let mut replace = config_spec("bad-op", 1, &e);
    replace["deviceChange"][1]["fileOperation"] = json!("replace");
    let (_, f) = create_vm_task(&e, replace).await;
    assert_eq!(
        f["invalidProperty"], "config.deviceChange[1].fileOperation",
        "{f}"
    );
    assert!(e.agents_with("bad-image").is_empty());
    assert!(e.agents_with("bad-op").is_empty());

    // A powered-on VM is not destroyed (InvalidState); powered off, it is, from its host too.
    let t = call(
        &e.ts,
        Some(&e.token),
        Method::POST,
        &format!("{}/PowerOnVM_Task", path_of(&vm)),
        Some(json!({})),
    )
    .await
    .1;
    assert_eq!(
        vim::finished_task(&e.ts, &e.token, &t).await["state"],
        "success"
    );
    let f = vim::fault(
        &e.ts,
        &e.token,
        &format!("{}/Destroy_Task", path_of(&vm)),
        json!({}),
    )
    .await;
    assert_eq!(f["_typeName"], "InvalidState", "{f}");
    assert_eq!(e.agents_with("web-1").len(), 1);
    let t = call(
        &e.ts,
        Some(&e.token),
        Method::POST,
        &format!("{}/PowerOffVM_Task", path_of(&vm)),
        Some(json!({})),
    )
    .await
    .1;
    assert_eq!(
        vim::finished_task(&e.ts, &e.token, &t).await["state"],
        "success"
    );
    let (s, t) = call(
        &e.ts,
        Some(&e.token),
        Method::POST,
        &format!("{}/Destroy_Task", path_of(&vm)),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let info = vim::finished_task(&e.ts, &e.token, &t).await;
    assert_eq!(info["state"], "success", "{info}");
    e.seen_everywhere("web-1", false).await;
    assert_eq!(
        e.event_kinds("web-1").await,
        ["VmCreatedEvent", "VmRemovedEvent"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_fails_part_way_leaves_nothing_behind() {
    let e = env(41).await;
    // 80 characters pass the inventory's name rule; 160 bytes are more than the agent takes.
    let long = "é".repeat(80);
    let (s, task) = create_vm_task(&e, config_spec(&long, 1, &e)).await;
    assert_eq!(s, 200, "{task}");
    let info = vim::finished_task(&e.ts, &e.token, &task).await;
    assert_eq!(info["state"], "error", "{info}");
    // The host refused it inside the task; the fault still names the spec's field.
    assert_eq!(info["error"]["_typeName"], "InvalidArgument", "{info}");
    assert_eq!(info["error"]["invalidProperty"], "config.name", "{info}");
    assert!(e.agents_with(&long).is_empty());
    assert!(!e.vapi_names().await.contains(&long));

    // The host defined the VM, then recording it failed (or a failure came right after):
    // the saga's undos take both back.
    for step in [0, 1] {
        e.core.drill(
            "vm create",
            Drill {
                fail_after: Some(step),
                ..Drill::default()
            },
        );
        let (s, task) = create_vm_task(&e, config_spec("half-made", 1, &e)).await;
        assert_eq!(s, 200, "{task}");
        let info = vim::finished_task(&e.ts, &e.token, &task).await;
        assert_eq!(info["state"], "error", "{info}");
        assert!(
            info["error"].to_string().contains("injected failure"),
            "{info}"
        );
        e.seen_everywhere("half-made", false).await;
    }
    // The name was released: the same create, undisturbed, succeeds.
    e.core.drill("vm create", Drill::default());
    let (_, task) = create_vm_task(&e, config_spec("half-made", 1, &e)).await;
    let info = vim::finished_task(&e.ts, &e.token, &task).await;
    assert_eq!(info["state"], "success", "{info}");
    e.seen_everywhere("half-made", true).await;
}

/// The official SDK (JSON-RPC) creates a VM on the cluster and deletes it; faults name fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_vapi_sdk_creates_and_deletes_a_vm() {
    let Some(python) = sdk_python() else {
        eprintln!("SKIPPED: the vSphere Automation SDK for Python is not installed");
        return;
    };
    let e = env(42).await;
    let server = e.ts.api("").trim_start_matches("https://").to_string();
    let v = run_sdk_script(
        &python,
        "vm_lifecycle.py",
        &[
            &server,
            ADMIN,
            PASSWORD,
            &e.vm_folder,
            &e.cluster_moid,
            &e.datastore.0,
            &e.network.0,
            &e.datastore.1,
        ],
    )
    .await;
    assert!(v["created"].as_str().unwrap().starts_with("vm-"), "{v}");
    // The VMDK_FILE backing: a disk copied from that image, of new_vmdk's default size.
    assert!(v["image_vm"].as_str().unwrap().starts_with("vm-"), "{v}");
    assert_eq!(
        images_on_host(&e, "sdk-image-vm"),
        [(
            Some("debian-12.qcow2".to_string()),
            e.datastore.1.clone(),
            16 << 30
        )]
    );
    for key in ["image_unknown_datastore", "image_path", "image_empty"] {
        assert_eq!(v[key]["error"], "InvalidArgument", "{key}: {v}");
        assert_eq!(
            v[key]["args"],
            json!(["spec.disks[0].backing.vmdk_file"]),
            "{key}: {v}"
        );
    }
    assert!(e.agents_with("sdk-bad-image").is_empty());
    assert_eq!(v["name"], "sdk-vm-1", "{v}");
    assert_eq!(v["guest_os"], "DEBIAN_12_64", "{v}");
    assert_eq!(v["cpu"], 2, "{v}");
    assert_eq!(v["memory"], 512, "{v}");
    assert_eq!(v["listed"], json!(["sdk-vm-1"]), "{v}");
    assert_eq!(v["duplicate"]["error"], "AlreadyExists", "{v}");
    assert_eq!(v["zero_cpus"]["error"], "InvalidArgument", "{v}");
    assert_eq!(v["zero_cpus"]["args"], json!(["spec.cpu.count"]), "{v}");
    assert_eq!(v["unknown_network"]["error"], "InvalidArgument", "{v}");
    assert_eq!(
        v["unknown_network"]["args"],
        json!(["spec.nics[0].backing.network"]),
        "{v}"
    );
    assert_eq!(
        v["delete_running"]["error"], "NotAllowedInCurrentState",
        "{v}"
    );
    assert_eq!(v["after_delete"], json!([]), "{v}");
    e.seen_everywhere("sdk-vm-1", false).await;
    for name in ["sdk-zero", "sdk-bad-net"] {
        assert!(e.agents_with(name).is_empty(), "{name}");
    }
    assert_eq!(
        e.event_kinds("sdk-vm-1").await,
        ["VmCreatedEvent", "VmRemovedEvent"]
    );
}

/// `/api` takes the create spec as the body and answers the new VM's id; `/rest` wraps both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vapi_rest_creates_on_a_host_and_deletes() {
    let e = env(43).await;
    let hosts = e
        .core
        .list_hosts(&e.admin, &Default::default())
        .await
        .unwrap();
    let spec = |name: &str| {
        json!({
            "name": name,
            "guest_OS": "OTHER_LINUX_64",
            "placement": {"folder": e.vm_folder, "host": hosts[0].moid, "datastore": e.datastore.0},
            "cpu": {"count": 1},
            "memory": {"size_MiB": 256},
            "nics": [{"backing": {"type": "STANDARD_PORTGROUP", "network": e.network.0}}],
        })
    };
    let r =
        e.ts.call(
            Method::POST,
            "/api/vcenter/vm",
            Some(&e.token),
            Some(spec("api-vm")),
        )
        .await;
    let status = r.status();
    assert_eq!(status, 200, "{}", r.text().await.unwrap());
    let id: Value = r.json().await.unwrap();
    let id = id.as_str().unwrap().to_string();
    assert!(id.starts_with("vm-"));
    e.seen_everywhere("api-vm", true).await;
    // On the host named (whose datastore it is), not elsewhere.
    let named = e
        .fleet
        .manifest
        .hosts
        .iter()
        .position(|h| h.address == hosts[0].address)
        .unwrap();
    assert_eq!(e.agents_with("api-vm"), [named]);

    let r =
        e.ts.call(
            Method::POST,
            "/rest/vcenter/vm",
            Some(&e.token),
            Some(json!({"spec": spec("rest-vm")})),
        )
        .await;
    assert_eq!(r.status(), 200);
    let rest: Value = r.json().await.unwrap();
    let rest_id = rest["value"].as_str().unwrap().to_string();
    e.seen_everywhere("rest-vm", true).await;

    // An empty name, unknown datastore: 400 naming the field.
    let empty_name = spec("");
    let mut bad_ds = spec("bad-ds");
    bad_ds["placement"]["datastore"] = json!("datastore-9999");
    // 160 bytes: refused by the host, inside the create's task, named as the spec spells it.
    let too_long_for_host = spec(&"é".repeat(80));
    for (body, field) in [
        (empty_name, "spec.name"),
        (too_long_for_host, "spec.name"),
        (bad_ds, "spec.placement.datastore"),
    ] {
        let r =
            e.ts.call(Method::POST, "/api/vcenter/vm", Some(&e.token), Some(body))
                .await;
        assert_eq!(r.status(), 400, "{field}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error_type"], "INVALID_ARGUMENT", "{err}");
        assert!(err.to_string().contains(field), "{field}: {err}");
    }

    // A disk copied from an image on the host's datastore, grown to new_vmdk's capacity.
    let mut from_image = spec("api-image-vm");
    let image_disk = |file: &str| {
        json!([{"backing": {"type": "VMDK_FILE", "vmdk_file": file},
                "new_vmdk": {"capacity": 2u64 << 30}}])
    };
    from_image["disks"] = image_disk(&format!("[{}] debian-12.qcow2", e.datastore.1));
    let r =
        e.ts.call(
            Method::POST,
            "/api/vcenter/vm",
            Some(&e.token),
            Some(from_image),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(
        images_on_host(&e, "api-image-vm"),
        [(
            Some("debian-12.qcow2".to_string()),
            e.datastore.1.clone(),
            2 << 30
        )]
    );
    for file in [
        "[no-such-datastore] debian-12.qcow2".to_string(),
        format!("[{}] ../x", e.datastore.1),
        format!("[{}] ", e.datastore.1),
        "debian-12.qcow2".to_string(),
    ] {
        let mut body = spec("bad-image");
        body["disks"] = image_disk(&file);
        let r =
            e.ts.call(Method::POST, "/api/vcenter/vm", Some(&e.token), Some(body))
                .await;
        assert_eq!(r.status(), 400, "{file}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error_type"], "INVALID_ARGUMENT", "{file}: {err}");
        assert!(
            err.to_string().contains("spec.disks[0].backing.vmdk_file"),
            "{file}: {err}"
        );
    }
    assert!(e.agents_with("bad-image").is_empty());

    // CPUs and memory of the powered-off VM, on its host too; a bad count names the field.
    let on_agent = |name: &str| {
        e.fleet
            .agent(named)
            .vms()
            .into_iter()
            .find(|v| v.name == name)
            .unwrap()
    };
    for (path, body) in [
        (
            format!("/api/vcenter/vm/{id}/hardware/cpu"),
            json!({"count": 3}),
        ),
        (
            format!("/rest/vcenter/vm/{id}/hardware/memory"),
            json!({"spec": {"size_MiB": 768}}),
        ),
    ] {
        let r =
            e.ts.call(Method::PATCH, &path, Some(&e.token), Some(body))
                .await;
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }
    let vm = on_agent("api-vm");
    assert_eq!((vm.vcpus, vm.memory_bytes), (3, 768 << 20));
    // An update spec that sets nothing changes nothing, and succeeds.
    let r =
        e.ts.call(
            Method::PATCH,
            &format!("/api/vcenter/vm/{id}/hardware/memory"),
            Some(&e.token),
            Some(json!({})),
        )
        .await;
    assert!(r.status().is_success(), "empty update: {}", r.status());
    let vm = on_agent("api-vm");
    assert_eq!((vm.vcpus, vm.memory_bytes), (3, 768 << 20));
    let r =
        e.ts.call(
            Method::PATCH,
            &format!("/api/vcenter/vm/{id}/hardware/cpu"),
            Some(&e.token),
            Some(json!({"count": 0})),
        )
        .await;
    assert_eq!(r.status(), 400);
    let err: Value = r.json().await.unwrap();
    assert!(err.to_string().contains("spec.count"), "{err}");
    assert_eq!(on_agent("api-vm").vcpus, 3);

    for (path, name) in [
        (format!("/api/vcenter/vm/{id}"), "api-vm"),
        (format!("/rest/vcenter/vm/{rest_id}"), "rest-vm"),
    ] {
        let r = e.ts.call(Method::DELETE, &path, Some(&e.token), None).await;
        assert!(r.status().is_success(), "{path}: {}", r.status());
        e.seen_everywhere(name, false).await;
    }
}

/// ZStack: CreateVmInstance starts the VM on a host of the cluster (InstantStart), Destroy
/// stops and removes it with its disks, Expunge of a VM that is gone succeeds; offerings and
/// images ferrocenter has not are refused naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstack_creates_destroys_and_expunges_vms() {
    let e = env(44).await;
    let zc = e.zstack().await;
    let cluster = e
        .core
        .list_clusters(&e.admin, None)
        .await
        .unwrap()
        .remove(0)
        .id;
    let body = |name: &str| {
        json!({"params": {
            "name": name,
            "cpuNum": 2,
            "memorySize": 256u64 << 20,
            "rootDiskSize": 1u64 << 30,
            "dataDiskSizes": [2u64 << 30],
            "l3NetworkUuids": [e.network.2],
            "clusterUuid": cluster,
        }})
    };
    let (s, v) = zc
        .sdk(
            Method::POST,
            "/zstack/v1/vm-instances",
            Some(body("zs-vm-1")),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let inv = &v["inventory"];
    assert_eq!(inv["name"], "zs-vm-1", "{v}");
    assert_eq!(inv["state"], "Running", "{v}");
    assert_eq!(inv["cpuNum"], 2, "{v}");
    assert_eq!(inv["memorySize"], 256u64 << 20, "{v}");
    assert_eq!(inv["clusterUuid"], cluster.as_str(), "{v}");
    let uuid = inv["uuid"].as_str().unwrap().to_string();
    e.seen_everywhere("zs-vm-1", true).await;
    let on = e.agents_with("zs-vm-1")[0];
    let agent_vm = e
        .fleet
        .agent(on)
        .vms()
        .into_iter()
        .find(|v| v.name == "zs-vm-1")
        .unwrap();
    let sizes: Vec<u64> = agent_vm.disks.iter().map(|d| d.capacity_bytes).collect();
    assert_eq!(sizes, [1 << 30, 2 << 30]);
    assert_eq!(agent_vm.nics[0].network, e.network.1);

    // Refusals name the field (SYS.1007), and leave nothing.
    let mut offering = body("zs-offering");
    offering["params"]["instanceOfferingUuid"] = json!(uuid_hex());
    let mut image = body("zs-image");
    image["params"]["imageUuid"] = json!(uuid_hex());
    let mut no_cpu = body("zs-nocpu");
    no_cpu["params"].as_object_mut().unwrap().remove("cpuNum");
    let mut zero = body("zs-zero");
    zero["params"]["cpuNum"] = json!(0);
    let mut bad_net = body("zs-badnet");
    bad_net["params"]["l3NetworkUuids"] = json!([uuid_hex()]);
    let mut bad_root = body("zs-badroot");
    bad_root["params"]["rootDiskSize"] = json!(0);
    let mut bad_host = body("zs-badhost");
    bad_host["params"]["hostUuid"] = json!(uuid_hex());
    for (b, field) in [
        (offering, "instanceOfferingUuid"),
        (image, "imageUuid"),
        (no_cpu, "cpuNum"),
        (zero, "cpuNum"),
        (bad_net, "l3NetworkUuids[0]"),
        (bad_root, "rootDiskSize"),
        (bad_host, "hostUuid"),
        (body("zs-vm-1"), "zs-vm-1"),
    ] {
        let (s, v) = zc
            .sdk(Method::POST, "/zstack/v1/vm-instances", Some(b))
            .await;
        assert_eq!(s, 503, "{field}: {v}");
        assert_eq!(v["error"]["code"], "SYS.1007", "{field}: {v}");
        assert!(
            v["error"]["details"].as_str().unwrap().contains(field),
            "{field}: {v}"
        );
    }
    assert_eq!(e.agents_with("zs-vm-1").len(), 1);
    assert_eq!(e.zstack_names().await, ["zs-vm-1"]);

    // Expunging a VM that was not destroyed is refused; destroying a running VM stops and
    // removes it; expunging it then is a success.
    let action = format!("/zstack/v1/vm-instances/{uuid}/actions");
    let (s, v) = zc
        .sdk(Method::PUT, &action, Some(json!({"expungeVmInstance": {}})))
        .await;
    assert_eq!(s, 503, "{v}");
    assert_eq!(e.agents_with("zs-vm-1").len(), 1);
    let (s, v) = zc
        .sdk(
            Method::DELETE,
            &format!("/zstack/v1/vm-instances/{uuid}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    e.seen_everywhere("zs-vm-1", false).await;
    let (s, v) = zc
        .sdk(Method::PUT, &action, Some(json!({"expungeVmInstance": {}})))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        e.event_kinds("zs-vm-1").await,
        ["VmCreatedEvent", "VmRemovedEvent"]
    );
}

/// pyVmomi over SOAP: CreateVM_Task with a ConfigSpec as a script builds it (controller,
/// thin disk, vmxnet3 on a network), the VM in the folder, faults as pyVmomi's classes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyvmomi_creates_and_destroys_a_vm_over_soap() {
    let Some(python) = soap_python() else {
        eprintln!("SKIPPED: pyVmomi is not installed (scripts/test.sh installs it)");
        return;
    };
    let e = env(45).await;
    let server = e.ts.api("").trim_start_matches("https://").to_string();
    let v = run_soap_script(&python, "vm_lifecycle.py", &[&server, ADMIN, PASSWORD]).await;
    assert_eq!(v["result_type"], "VirtualMachine", "{v}");
    assert_eq!(v["name"], "py-vm-1", "{v}");
    assert_eq!(v["cpus"], 2, "{v}");
    assert_eq!(v["memory"], 256, "{v}");
    assert_eq!(v["in_folder"], true, "{v}");
    assert_eq!(v["duplicate"], "DuplicateName", "{v}");
    assert_eq!(v["zero_cpus"]["fault"], "InvalidArgument", "{v}");
    assert_eq!(v["zero_cpus"]["property"], "config.numCPUs", "{v}");
    assert_eq!(v["reconfigured"], json!([3, 384]), "{v}");
    assert_eq!(v["reconfigure_running"]["fault"], "InvalidState", "{v}");
    assert_eq!(v["destroy_running"]["fault"], "InvalidState", "{v}");
    assert_eq!(v["after"], json!([]), "{v}");
    e.seen_everywhere("py-vm-1", false).await;
    // A VirtualDisk without fileOperation: a copy of the image its backing's fileName names.
    assert_eq!(v["image_vm"], "py-image-vm", "{v}");
    let (image, _, capacity) = images_on_host(&e, "py-image-vm").remove(0);
    assert_eq!(image.as_deref(), Some("debian-12.qcow2"));
    assert_eq!(capacity, 2 << 30);
    for key in ["image_unknown_datastore", "image_path", "image_empty"] {
        assert_eq!(v[key]["fault"], "InvalidArgument", "{key}: {v}");
        assert_eq!(
            v[key]["property"], "config.deviceChange[1].device.backing.fileName",
            "{key}: {v}"
        );
    }
    assert!(e.agents_with("py-bad").is_empty());
    assert_eq!(
        e.event_kinds("py-vm-1").await,
        ["VmCreatedEvent", "VmReconfiguredEvent", "VmRemovedEvent"]
    );
}
