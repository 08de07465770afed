//! Core records as ZStack inventories. Null fields are left out, as ZStack does.
use ferrocenter_core::hosts::Capacity;
use ferrocenter_core::inventory::{
    Cluster, ConnectionState, Datacenter, Host, HostFacts, Sensor, SensorStatus, VmRecord,
};
use serde_json::{json, Map, Value};
use time::macros::format_description;
use time::OffsetDateTime;

/// ZStack's date form, `Oct 30, 2017 3:02:06 PM` (UTC here), written and read.
pub const ZS_DATE: &[time::format_description::BorrowedFormatItem<'static>] = format_description!(
    "[month repr:short] [day padding:none], [year] [hour repr:12 padding:none]:[minute]:[second] [period]"
);

pub fn zs_date(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(ZS_DATE)
        .unwrap_or_default()
}

pub fn host_status(c: ConnectionState) -> &'static str {
    c.zstack_status()
}

/// The nine hardware monitor statuses, from the agent's sensors.
const SENSORS: [(&str, Sensor); 9] = [
    ("cpuStatus", Sensor::Cpu),
    ("memoryStatus", Sensor::Memory),
    ("diskStatus", Sensor::Disk),
    ("nicStatus", Sensor::Nic),
    ("gpuStatus", Sensor::Gpu),
    ("powerSupplyStatus", Sensor::PowerSupply),
    ("fanStatus", Sensor::Fan),
    ("raidStatus", Sensor::Raid),
    ("temperatureStatus", Sensor::Temperature),
];

/// A KVM host inventory with every field seeds/004 lists that ferrocenter knows.
pub fn host(h: &Host, cap: &Capacity) -> Value {
    let facts = h.facts.as_deref();
    let mut v = Map::new();
    let mut put = |k: &str, x: Value| {
        if !x.is_null() {
            v.insert(k.into(), x);
        }
    };
    // A host whose facts were never read leaves out what only they tell.
    let fact = |read: &dyn Fn(&HostFacts) -> Value| facts.map(read).unwrap_or(Value::Null);
    put("uuid", json!(h.id));
    put("name", json!(h.name));
    // A description never given is null in ZStack, so left out (and `is null` in queries).
    if !h.description.is_empty() {
        put("description", json!(h.description));
    }
    put("zoneUuid", json!(h.datacenter_id));
    put("clusterUuid", json!(h.cluster_id));
    put("managementIp", json!(h.address));
    put("hypervisorType", json!("KVM"));
    put("state", json!(h.state.as_str()));
    put("status", json!(host_status(h.connection_state)));
    put("totalCpuCapacity", json!(cap.total_cpu_capacity));
    put("availableCpuCapacity", json!(cap.available_cpu_capacity));
    put("cpuSockets", fact(&|f| json!(f.hardware.cpu_packages)));
    put("totalMemoryCapacity", json!(cap.total_memory_bytes));
    put("availableMemoryCapacity", json!(cap.available_memory_bytes));
    put("cpuNum", json!(cap.cpu_num));
    put("architecture", fact(&|f| json!(f.architecture)));
    put("hostname", fact(&|f| json!(f.hostname)));
    put("ipmiAddress", fact(&|f| json!(f.ipmi_address)));
    put("ipmiUsername", fact(&|f| json!(f.ipmi.username)));
    put("ipmiPort", fact(&|f| json!(f.ipmi.port)));
    put("ipmiPowerStatus", fact(&|f| json!(f.ipmi.power_status)));
    put("nqn", fact(&|f| json!(f.nqn)));
    put("sshPort", json!(h.ssh_port.unwrap_or(22)));
    put("username", json!(h.ssh_user));
    put("osDistribution", fact(&|f| json!(f.os_name)));
    put("osRelease", fact(&|f| json!(f.os_release)));
    put("osVersion", fact(&|f| json!(f.os_version)));
    for (field, sensor) in SENSORS {
        let s = facts.map_or(SensorStatus::Unknown, |f| f.sensor(sensor));
        put(field, json!(s.as_str()));
    }
    put("createDate", json!(zs_date(h.created_at)));
    put("lastOpDate", json!(zs_date(h.last_op_at)));
    Value::Object(v)
}

/// A zone inventory (a datacenter).
pub fn zone(d: &Datacenter) -> Value {
    json!({
        "uuid": d.id,
        "name": d.name,
        "description": d.description,
        "state": d.state.as_str(),
        "type": "zstack",
        "isDefault": d.is_default,
        "createDate": zs_date(d.created_at),
        "lastOpDate": zs_date(d.last_op_at),
    })
}

/// A cluster inventory; `architecture` is left out until the first host sets it.
pub fn cluster(c: &Cluster) -> Value {
    let mut v = json!({
        "uuid": c.id,
        "name": c.name,
        "description": c.description,
        "state": c.state.as_str(),
        "hypervisorType": c.hypervisor_type,
        "type": c.kind,
        "zoneUuid": c.datacenter_id,
        "createDate": zs_date(c.created_at),
        "lastOpDate": zs_date(c.last_op_at),
    });
    if let Some(a) = &c.architecture {
        v["architecture"] = json!(a);
    }
    v
}

/// ZStack's VM state: Unknown while the host does not answer.
pub fn vm_state(vm: &VmRecord, host: Option<&Host>) -> &'static str {
    if host.is_some_and(|h| {
        matches!(
            h.connection_state,
            ConnectionState::NotResponding | ConnectionState::Disconnected
        )
    }) {
        return "Unknown";
    }
    match vm.power_state.as_str() {
        "poweredOn" => "Running",
        "suspended" => "Paused",
        _ => "Stopped",
    }
}

/// A VM instance inventory, read-only: the fields that show where a VM runs and what it uses.
pub fn vm(vm: &VmRecord, host: Option<&Host>) -> Value {
    let mut v = Map::new();
    let mut put = |k: &str, x: Value| {
        if !x.is_null() {
            v.insert(k.into(), x);
        }
    };
    put("uuid", json!(vm.id));
    put("name", json!(vm.name));
    put("type", json!("UserVm"));
    put("hypervisorType", json!("KVM"));
    put("hostUuid", json!(vm.host_id));
    put("lastHostUuid", json!(vm.host_id));
    put(
        "clusterUuid",
        json!(host.and_then(|h| h.cluster_id.clone())),
    );
    put("zoneUuid", json!(host.map(|h| h.datacenter_id.clone())));
    put("state", json!(vm_state(vm, host)));
    put("cpuNum", json!(vm.vcpus));
    put("memorySize", json!(vm.memory_bytes));
    put("guestOsType", json!(vm.guest_os_id));
    put("createDate", json!(zs_date(vm.created_at)));
    put("lastOpDate", json!(zs_date(vm.last_op_at)));
    Value::Object(v)
}

/// A query reply: the inventories (projected onto `fields` when given) with their `schema`,
/// and `total` when counted; a count-only reply has no inventories.
pub fn listing(
    inventories: Vec<Value>,
    class: &str,
    total: Option<u64>,
    count_only: bool,
    fields: Option<&[String]>,
) -> Value {
    let mut body = json!({});
    if count_only {
        body["schema"] = json!({});
    } else {
        let mut schema = Map::new();
        let rows: Vec<Value> = inventories
            .into_iter()
            .enumerate()
            .map(|(i, inv)| {
                schema.insert(format!("inventories[{i}]"), json!(class));
                match fields {
                    Some(f) => project(inv, f),
                    None => inv,
                }
            })
            .collect();
        body["inventories"] = Value::Array(rows);
        body["schema"] = Value::Object(schema);
    }
    if let Some(t) = total {
        body["total"] = json!(t);
    }
    body
}

/// Keeps only the asked fields of each inventory (the `fields` parameter).
pub fn project(inv: Value, fields: &[String]) -> Value {
    match inv {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| fields.iter().any(|f| f == k))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_zstack_writes_them() {
        let t = OffsetDateTime::from_unix_timestamp(1_509_375_726).unwrap();
        assert_eq!(zs_date(t), "Oct 30, 2017 3:02:06 PM");
        // The query parser reads the same form back.
        let p = super::super::query::parse_params(&[(
            "q".to_string(),
            format!("createDate={}", zs_date(t)),
        )])
        .unwrap();
        let q = super::super::query::host_query(&p).unwrap();
        assert_eq!(
            q.conditions[0].values,
            vec![ferrocenter_core::inventory::query::QueryValue::Int(
                1_509_375_726_000
            )]
        );
    }
}
