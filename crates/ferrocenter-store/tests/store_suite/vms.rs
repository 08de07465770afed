//! Virtual machines.
use std::sync::Arc;

use ferrocenter_core::inventory::VmRecord;
use ferrocenter_core::ports::Store;

use crate::fixtures::{at, conflict, datacenter, host, vm};
use crate::Case;

pub(crate) const CASES: &[(&str, Case)] = crate::cases![vms_round_trip_and_unique_uuid];

async fn vms_round_trip_and_unique_uuid(s: Arc<dyn Store>) {
    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "DC"))
        .await
        .unwrap();
    for (id, moid, address) in [("h1", "host-1", "10.0.0.1"), ("h2", "host-2", "10.0.0.2")] {
        s.insert_host(&host(id, moid, "dc1", address))
            .await
            .unwrap();
    }
    let mut v = vm("v1", "vm-1", "h1", "4c4c4544-0042", "web");
    v.vcpus = u32::MAX;
    v.memory_bytes = i64::MAX as u64;
    s.insert_vm(&v).await.unwrap();
    assert_eq!(s.get_vm("v1").await.unwrap(), Some(v.clone()));
    assert_eq!(
        s.find_vm_by_instance_uuid("4c4c4544-0042").await.unwrap(),
        Some(v.clone())
    );
    assert_eq!(s.find_vm_by_instance_uuid("nope").await.unwrap(), None);
    assert_eq!(s.get_vm("nope").await.unwrap(), None);
    // uuid, moId and id are unique.
    conflict(
        s.insert_vm(&vm("v2", "vm-2", "h1", "4c4c4544-0042", "x"))
            .await,
    );
    conflict(s.insert_vm(&vm("v2", "vm-1", "h1", "other", "x")).await);
    conflict(s.insert_vm(&vm("v1", "vm-2", "h1", "other", "x")).await);
    // A VM on an unknown host is refused.
    conflict(s.insert_vm(&vm("v2", "vm-2", "noh", "other", "x")).await);
    s.insert_vm(&vm("v2", "vm-2", "h1", "u2", "app"))
        .await
        .unwrap();
    s.insert_vm(&vm("v3", "vm-3", "h2", "u3", "zz"))
        .await
        .unwrap();
    let names = |v: Vec<VmRecord>| v.into_iter().map(|v| v.name).collect::<Vec<_>>();
    assert_eq!(names(s.list_vms(Some("h1")).await.unwrap()), ["app", "web"]);
    assert_eq!(names(s.list_vms(None).await.unwrap()), ["app", "web", "zz"]);
    assert_eq!(s.count_vms().await.unwrap(), 3);
    // Powered-on usage per host, in one query: only powered-on VMs count.
    let mut v2 = s.get_vm("v2").await.unwrap().unwrap();
    v2.power_state = "poweredOn".into();
    s.update_vm(&v2).await.unwrap();
    let mut v3 = s.get_vm("v3").await.unwrap().unwrap();
    v3.power_state = "poweredOn".into();
    v3.vcpus = 3;
    s.update_vm(&v3).await.unwrap();
    let usage = s
        .powered_on_usage(&["h1".into(), "h2".into(), "nope".into()])
        .await
        .unwrap();
    assert_eq!(usage.get("h1"), Some(&(2, 4 << 30)));
    assert_eq!(usage.get("h2"), Some(&(3, 4 << 30)));
    assert_eq!(usage.len(), 2);
    // A batch goes in whole or not at all: a duplicate uuid leaves none of it.
    let batch = [
        vm("v4", "vm-4", "h1", "u4", "b1"),
        vm("v5", "vm-5", "h1", "u2", "dup"),
    ];
    conflict(s.insert_vms(&batch).await);
    assert_eq!(s.get_vm("v4").await.unwrap(), None);
    s.insert_vms(&[batch[0].clone(), vm("v5", "vm-5", "h2", "u5", "b2")])
        .await
        .unwrap();
    let mut found = s
        .find_vms_by_instance_uuids(&["u4".into(), "u5".into(), "u3".into(), "none".into()])
        .await
        .unwrap();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        found.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
        ["v3", "v4", "v5"]
    );
    assert_eq!(found[1], batch[0]);
    for id in ["v4", "v5"] {
        assert!(s.delete_vm(id).await.unwrap());
    }

    // Updates write every field but id, moid and created_at, including moving host.
    v.host_id = "h2".into();
    v.uuid = "new-uuid".into();
    v.name = "web2".into();
    v.power_state = "poweredOn".into();
    v.vcpus = 8;
    v.memory_bytes = 16 << 30;
    v.guest_os_id = "rhel9_64Guest".into();
    v.info.name = "web2".into();
    v.info.migrating_to = Some("h3".into());
    v.last_op_at = at(1_800_000_000_000);
    assert!(s.update_vm(&v).await.unwrap());
    assert_eq!(s.get_vm("v1").await.unwrap(), Some(v.clone()));
    // The instance uuid is the VM's identity and stays; the BIOS uuid names it on its host.
    assert_eq!(
        s.find_vm_by_instance_uuid("4c4c4544-0042").await.unwrap(),
        Some(v.clone())
    );
    assert_eq!(
        s.find_vm_on_host("h2", "4c4c4544-0042").await.unwrap(),
        None
    );
    assert_eq!(
        s.find_vm_on_host("h2", "new-uuid").await.unwrap(),
        Some(v.clone())
    );
    assert_eq!(names(s.list_vms(Some("h2")).await.unwrap()), ["web2", "zz"]);
    // A clone shares another VM's BIOS uuid; its instance uuid keeps them two VMs.
    let mut clone = v.clone();
    clone.uuid = "u2".into();
    assert!(s.update_vm(&clone).await.unwrap());
    assert_eq!(s.find_vm_on_host("h2", "u2").await.unwrap(), Some(clone));
    assert!(!s
        .update_vm(&vm("nope", "vm-9", "h1", "u9", "x"))
        .await
        .unwrap());
    assert!(s.delete_vm("v1").await.unwrap());
    assert!(!s.delete_vm("v1").await.unwrap());
    assert_eq!(names(s.list_vms(None).await.unwrap()), ["app", "zz"]);

    // A heartbeat's power observation lands only on the VM as it read it.
    let seen = s.find_vm_by_instance_uuid("u2").await.unwrap().unwrap();
    let mut op = seen.clone();
    op.power_state = "poweredOn".into();
    op.last_op_at = at(1_800_000_001_000);
    assert!(s.update_vm(&op).await.unwrap());
    let later = at(1_800_000_002_000);
    assert!(!s.record_vm_power(&seen, "poweredOff", later).await.unwrap());
    assert_eq!(s.get_vm(&seen.id).await.unwrap(), Some(op.clone()));
    assert!(s.record_vm_power(&op, "suspended", later).await.unwrap());
    let got = s.get_vm(&seen.id).await.unwrap().unwrap();
    assert_eq!(
        (got.power_state.as_str(), got.last_op_at),
        ("suspended", later)
    );
    assert_eq!(
        got.info, op.info,
        "only the power state and its time are written"
    );
    let mut moved = got.clone();
    moved.host_id = "elsewhere".into();
    assert!(!s.record_vm_power(&moved, "poweredOn", later).await.unwrap());
}
