//! The unmodified pyVmomi (PyPI `pyvmomi` 9.1.1.0) against the real server's vim25 SOAP door
//! (`POST /sdk`) and a simulated fleet, as a vSphere automation script drives vCenter:
//! `SmartConnect` with certificate verification off and on (the server's certificate trusted
//! from a file), `RetrieveContent`, a datacenter and a fully automated cluster, `AddHost_Task`
//! refused with `SSLVerifyFault` and retried with the thumbprint it carried, `WaitForTask`,
//! maintenance with evacuation, `ReconnectHost_Task` to a changed port, a `ContainerView` read
//! through the `PropertyCollector`, `WaitForUpdatesEx` seeing a power change, faults as
//! pyVmomi's exception classes, and `Disconnect` ending the session on the server.
//! `scripts/test.sh` installs pyVmomi in a virtualenv and names its python in
//! `FERROCENTER_SOAP_PYTHON`; tests/vim_soap/flow.py is the script.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::collections::BTreeMap;

use common::sdk::{run_soap_script, soap_python};
use common::*;
use ferrocenter_agent_client::wire::PowerAction;
use serde_json::{json, Value};

const HOSTS: usize = 3;
const VMS: usize = 2;

#[tokio::test]
async fn pyvmomi_drives_hosts_maintenance_views_and_updates_over_soap() {
    let Some(python) = soap_python() else {
        eprintln!("SKIPPED: pyVmomi is not installed (scripts/test.sh installs it)");
        return;
    };
    let fleet = sim_fleet(HOSTS, VMS, 23, 97).await;
    // Every VM starts powered on: maintenance has running VMs to move, and a power-off to see.
    for i in 0..HOSTS {
        let a = fleet.agent(i);
        for v in a.vms() {
            let _ = a.power(&v.uuid, PowerAction::On).await;
        }
    }
    let ts = TestServer::start().await;
    let (core, _) = ts.core_admin().await;
    let dir = tempfile::tempdir().unwrap();
    let fleet_file = dir.path().join("fleet.json");
    let hosts: Vec<Value> = fleet
        .manifest
        .hosts
        .iter()
        .map(|h| json!({"address": h.address, "port": h.port, "thumbprint": h.thumbprint}))
        .collect();
    // The server's generated certificate names 127.0.0.1, the address the script connects to.
    let ca_file = ts.dir.path().join("tls/server.crt");
    std::fs::write(
        &fleet_file,
        json!({"hosts": hosts, "root_password": ROOT_PW, "ca_file": ca_file}).to_string(),
    )
    .unwrap();
    let sessions_before = core.auth.session_count();
    let server = ts.api("").trim_start_matches("https://").to_string();
    let v = run_soap_script(
        &python,
        "flow.py",
        &[&server, ADMIN, PASSWORD, &fleet_file.to_string_lossy()],
    )
    .await;
    let errors = v["errors"].as_object().unwrap();
    assert!(
        errors.is_empty(),
        "pyVmomi failed in {} step(s):\n{}\nwhat it saw: {v:#}",
        errors.len(),
        errors
            .iter()
            .map(|(k, e)| format!("== {k}\n{}", e.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Connection: verified through the CA file; refused against the system's roots.
    // UserSession.userName as vCenter spells it, DOMAIN\\user.
    let user = r"VSPHERE.LOCAL\administrator";
    assert_eq!(v["verified"]["user"], user, "{v}");
    assert_eq!(v["untrusted"], "SSLCertVerificationError");
    assert_eq!(v["bad_login"], "InvalidLogin");
    // SmartConnect chose the newest release /sdk/vimServiceVersions.xml names, the one
    // ServiceContent.about gives.
    let versions = &v["service_versions"];
    assert_eq!(versions["status"], 200, "{versions}");
    assert_eq!(versions["root"], "namespaces");
    assert_eq!(versions["format"], "1.0");
    let vim25 = &versions["namespaces"][0];
    assert_eq!(vim25["name"], "urn:vim25", "{versions}");
    let newest = vim25["version"].as_str().unwrap();
    assert!(
        vim25["prior"]
            .as_array()
            .unwrap()
            .contains(&json!("8.0.1.0")),
        "{versions}"
    );
    assert_eq!(v["soap_action"], format!("urn:vim25/{newest}"));
    let about = &v["about"];
    assert_eq!(about["apiType"], "VirtualCenter");
    assert_eq!(about["apiVersion"], newest);
    assert_eq!(v["verified"]["apiVersion"], newest);
    assert_eq!(about["rootFolderType"], "Folder");
    assert_eq!(about["rootFolder"], "group-d1");
    assert_eq!(about["user"], user);

    assert_eq!(
        v["datacenter"],
        json!({"type": "Datacenter", "name": "DC0"})
    );
    assert_eq!(v["root_children"], json!(["DC0"]));
    assert_eq!(
        v["cluster"],
        json!({"type": "ClusterComputeResource", "name": "C0", "behavior": "fullyAutomated"})
    );

    // The add without a thumbprint failed with the host's in an SSLVerifyFault.
    let first = &fleet.manifest.hosts[0];
    assert_eq!(
        v["add_without_thumbprint"],
        json!({"fault": "SSLVerifyFault", "thumbprint": first.thumbprint, "selfSigned": true,
               "task_state": "error", "task_error": "SSLVerifyFault"})
    );
    let task = &v["add_task"];
    assert_eq!(task["state"], "success");
    assert_eq!(task["descriptionId"], "ClusterComputeResource.addHost");
    assert_eq!(task["name"], "AddHost_Task");
    assert_eq!(task["result_type"], "HostSystem");
    let added = v["hosts"].as_array().unwrap();
    assert_eq!(added.len(), HOSTS);
    let host_ids: Vec<&str> = added.iter().map(|h| h["moid"].as_str().unwrap()).collect();
    for (h, m) in added.iter().zip(&fleet.manifest.hosts) {
        assert_eq!(h["state"], "connected", "{h}");
        assert_eq!(h["parent"], task["cluster"], "{h}");
        assert_eq!(h["thumbprint"], m.thumbprint, "{h}");
        assert_eq!(h["vms"], VMS, "{h}");
    }
    let mut sorted_ids = host_ids.clone();
    sorted_ids.sort();
    assert_eq!(v["cluster_hosts"], json!(sorted_ids));

    // Maintenance moved both running VMs off the host; it left maintenance again.
    let m = &v["maintenance"];
    assert_eq!(m["host"], host_ids[0]);
    assert_eq!(m["in_maintenance"], true);
    assert_eq!(m["vms_before"], VMS);
    assert_eq!(m["vms_left"], 0);
    let vm_hosts = m["vm_hosts_after"].as_array().unwrap();
    assert_eq!(vm_hosts.len(), VMS);
    assert!(
        vm_hosts
            .iter()
            .all(|h| h != host_ids[0] && host_ids.contains(&h.as_str().unwrap())),
        "{m}"
    );
    assert_eq!(m["in_maintenance_after_exit"], false);

    // Reconnected at another port: refused while connected, then reached through it.
    let r = &v["reconnect"];
    assert_eq!(r["while_connected"], "InvalidState", "{r}");
    assert_eq!(r["disconnected"], "disconnected");
    assert_eq!(r["state"], "connected");
    assert_eq!(r["port"], r["new_port"]);
    assert_ne!(r["port"], first.port);
    assert_eq!(r["through_forwarder"], true);

    // The ContainerView through the PropertyCollector: every host (one page each) and VM.
    let mut view_hosts = host_ids.clone();
    view_hosts.sort();
    assert_eq!(v["view_hosts"], json!(view_hosts));
    let pc_hosts = v["pc_hosts"].as_object().unwrap();
    assert_eq!(pc_hosts.len(), HOSTS);
    assert_eq!(v["pc_host_pages"], HOSTS);
    for (h, want) in added.iter().zip(&fleet.manifest.hosts) {
        let got = &pc_hosts[h["moid"].as_str().unwrap()];
        assert_eq!(got["name"], h["name"], "{got}");
        assert_eq!(got["name"], want.address, "{got}");
        assert_eq!(got["state"], "connected", "{got}");
    }
    let pc_vms = v["pc_vms"].as_object().unwrap();
    assert_eq!(pc_vms.len(), HOSTS * VMS);
    let mut per_host: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (moid, vm) in pc_vms {
        assert!(vm["name"].as_str().is_some_and(|n| !n.is_empty()), "{vm}");
        assert_eq!(vm["power"], "poweredOn", "{vm}");
        per_host
            .entry(vm["host"].as_str().unwrap().to_string())
            .or_default()
            .push(moid.clone());
    }
    for (host, vms) in &per_host {
        let listed = pc_hosts[host.as_str()]["vms"].as_array().unwrap();
        let mut vms = vms.clone();
        vms.sort();
        assert_eq!(listed, &vms.iter().map(|s| json!(s)).collect::<Vec<_>>());
    }
    assert_eq!(per_host.get(host_ids[0]), None, "host 0 was emptied");

    // WaitForUpdatesEx: the initial state, then the power-off; nothing more after.
    let w = &v["wait_updates"];
    assert_eq!(
        w["changes"],
        json!([
            ["runtime.powerState", "poweredOn"],
            ["runtime.powerState", "poweredOff"]
        ]),
        "{w}"
    );
    assert_eq!(w["kinds"], json!(["enter", "modify"]), "{w}");
    assert_eq!(w["quiet"], Value::Null);
    assert_eq!(w["filters"], 1);

    assert_eq!(v["not_supported"], "NotSupported");
    assert_eq!(v["unknown_method"], "MethodNotFound");
    assert_eq!(v["missing_object"], "ManagedObjectNotFound");

    // Disconnect logged out: no session of the script is left on the server.
    assert_eq!(v["session_after_disconnect"], Value::Null);
    assert_eq!(core.auth.session_count(), sessions_before);
    ts.stop().await;
}

/// Members vim defines that the server still calls unknown (InvalidProperty): a server defect
/// reported to the SOAP door's author (Folder.externallyManagedFolderInfo, vim 9.0); remove it
/// here once names.rs lists it.
const VIM_DEFINES_BUT_UNKNOWN: &[&str] = &["externallyManagedFolderInfo"];

/// Both doors give the same answer: every property pyVmomi knows on every kind of object the
/// server serves (inventory, host, VM, task, managers, a view), read through SOAP with pyVmomi
/// and through VI/JSON in the same session (tests/vim_soap/both_doors.py), answers the same
/// value or the same fault, and pyVmomi can read every answer (its data objects are strict: an
/// element vim does not define fails the call); every method with a required parameter, called
/// without its arguments, answers the same fault through both.
#[tokio::test]
async fn every_property_and_method_answers_the_same_through_soap_and_vi_json() {
    let Some(python) = soap_python() else {
        eprintln!("SKIPPED: pyVmomi is not installed (scripts/test.sh installs it)");
        return;
    };
    let fleet = sim_fleet(2, 2, 24, 98).await;
    for i in 0..2 {
        let a = fleet.agent(i);
        for v in a.vms() {
            let _ = a.power(&v.uuid, PowerAction::On).await;
        }
    }
    let ts = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let fleet_file = dir.path().join("fleet.json");
    let hosts: Vec<Value> = fleet
        .manifest
        .hosts
        .iter()
        .map(|h| json!({"address": h.address, "port": h.port, "thumbprint": h.thumbprint}))
        .collect();
    std::fs::write(
        &fleet_file,
        json!({"hosts": hosts, "root_password": ROOT_PW}).to_string(),
    )
    .unwrap();
    let server = ts.api("").trim_start_matches("https://").to_string();
    let v = run_soap_script(
        &python,
        "both_doors.py",
        &[&server, ADMIN, PASSWORD, &fleet_file.to_string_lossy()],
    )
    .await;
    let list = |k: &str| -> Vec<String> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect()
    };
    let errors = v["errors"].as_object().unwrap();
    assert!(errors.is_empty(), "steps failed: {errors:#?}");
    let client = list("client_errors");
    let mismatches = list("mismatches");
    assert!(
        client.is_empty() && mismatches.is_empty(),
        "pyVmomi could not read {} answer(s):\n{}\n\nthe doors differ on {} read(s):\n{}",
        client.len(),
        client.join("\n"),
        mismatches.len(),
        mismatches.join("\n")
    );
    let calls = v["calls"].as_array().unwrap();
    assert!(calls.len() > 40, "{} calls compared", calls.len());
    assert!(
        calls.iter().all(|c| c["soap"].is_string()),
        "a call without its required arguments succeeded: {calls:?}"
    );
    // vim defines every method and property pyVmomi knows on these types: one not implemented
    // is NotSupported, never MethodNotFound or InvalidProperty.
    let name = |v: &Value, member: &str| {
        format!(
            "{}.{}",
            v["object"].as_str().unwrap(),
            v[member].as_str().unwrap()
        )
    };
    let unknown: Vec<String> = calls
        .iter()
        .filter(|c| c["soap"] == "MethodNotFound")
        .map(|c| name(c, "method"))
        .chain(
            v["reads"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["fault"] == "InvalidProperty")
                .map(|r| name(r, "prop"))
                .filter(|n| !VIM_DEFINES_BUT_UNKNOWN.contains(&n.rsplit('.').next().unwrap())),
        )
        .collect();
    assert!(unknown.is_empty(), "vim defines these: {unknown:?}");
    let reads = v["reads"].as_array().unwrap();
    let ok = reads.iter().filter(|r| r["soap"] == "ok").count();
    eprintln!(
        "{} property reads compared, {ok} answered a value",
        reads.len()
    );
    // Whole objects through RetrievePropertiesEx(all=True), events and recent tasks.
    assert_eq!(v["retrieve_all"]["objects"], 2, "{}", v["retrieve_all"]);
    assert_eq!(v["retrieve_all"]["missing"], json!([]));
    assert!(v["retrieve_all"]["props"]
        .as_array()
        .unwrap()
        .contains(&json!("summary")));
    assert!(v["event_types"]
        .as_array()
        .unwrap()
        .contains(&json!("HostConnectedEvent")));
    assert_eq!(
        v["recent_tasks"],
        json!([
            "ClusterComputeResource.addHost",
            "VirtualMachine.migrate",
            "VirtualMachine.powerOff"
        ])
    );
    ts.stop().await;
}

/// Sessions and waits as pyVmomi scripts use them: a clone ticket logs a second connection in
/// once, SessionIsActive and TerminateSession; Timedout and RequestCanceled from tasks through
/// WaitForTask; InvalidArgument naming the field; CancelWaitForUpdates from another thread;
/// InvalidCollectorVersion; Logout; a session joined by its id (tests/vim_soap/sessions.py).
#[tokio::test]
async fn sessions_waits_and_task_faults_through_pyvmomi() {
    let Some(python) = soap_python() else {
        eprintln!("SKIPPED: pyVmomi is not installed (scripts/test.sh installs it)");
        return;
    };
    let fleet = sim_fleet(1, 1, 25, 99).await;
    let a = fleet.agent(0);
    for v in a.vms() {
        let _ = a.power(&v.uuid, PowerAction::On).await;
    }
    let ts = TestServer::start().await;
    let (core, _) = ts.core_admin().await;
    let dir = tempfile::tempdir().unwrap();
    let fleet_file = dir.path().join("fleet.json");
    let h = &fleet.manifest.hosts[0];
    std::fs::write(
        &fleet_file,
        json!({"hosts": [{"address": h.address, "port": h.port, "thumbprint": h.thumbprint}],
               "root_password": ROOT_PW})
        .to_string(),
    )
    .unwrap();
    let sessions_before = core.auth.session_count();
    let server = ts.api("").trim_start_matches("https://").to_string();
    let v = run_soap_script(
        &python,
        "sessions.py",
        &[&server, ADMIN, PASSWORD, &fleet_file.to_string_lossy()],
    )
    .await;
    let errors = v["errors"].as_object().unwrap();
    assert!(errors.is_empty(), "steps failed: {errors:#?}\n{v:#}");
    assert_eq!(v["clock_skew_under_a_minute"], true);
    let c = &v["clone"];
    assert_eq!(c["user"], r"VSPHERE.LOCAL\administrator", "{c}");
    assert_eq!(c["same_key"], false);
    assert_eq!(c["ticket_again"], "InvalidLogin");
    assert_eq!(c["active"], true);
    assert_eq!(c["active_after_terminate"], false);
    assert_eq!(c["current_after_terminate"], Value::Null);
    assert_eq!(c["call_after_terminate"], "NotAuthenticated");
    assert_eq!(v["timedout"], "Timedout");
    assert_eq!(v["timedout_in_maintenance"], false);
    assert_eq!(v["cancelable"], true);
    assert_eq!(v["cancelled"], "RequestCanceled");
    assert_eq!(v["cancelled_flag"], true);
    assert_eq!(v["cancel_again"], "InvalidState");
    assert_eq!(v["bad_port"], json!(["InvalidArgument", "cnxSpec.port"]));
    assert_eq!(v["bad_name"][0], "InvalidName", "{v}");
    assert_eq!(v["renamed"], "renamed-by-pyvmomi");
    assert_eq!(v["cancel_wait"], "RequestCanceled");
    assert_eq!(v["old_version"], "InvalidCollectorVersion");
    assert_eq!(v["destroyed_collector"], "ManagedObjectNotFound");
    assert_eq!(v["after_logout"], "NotAuthenticated");
    assert_eq!(
        v["reused"],
        json!({"user": r"VSPHERE.LOCAL\administrator", "same_key": true})
    );
    assert_eq!(core.auth.session_count(), sessions_before);
    ts.stop().await;
}
