//! Core records as ZStack inventories. Null fields are left out, as ZStack does.
use ferrocenter_core::hosts::Capacity;
use ferrocenter_core::inventory::{ConnectionState, Host};
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
    match c {
        ConnectionState::Connected => "Connected",
        ConnectionState::Connecting => "Connecting",
        ConnectionState::NotResponding | ConnectionState::Disconnected => "Disconnected",
    }
}

/// The nine hardware monitor statuses, from the agent's sensors.
const SENSORS: [(&str, &str); 9] = [
    ("cpuStatus", "cpu"),
    ("memoryStatus", "memory"),
    ("diskStatus", "disk"),
    ("nicStatus", "nic"),
    ("gpuStatus", "gpu"),
    ("powerSupplyStatus", "power_supply"),
    ("fanStatus", "fan"),
    ("raidStatus", "raid"),
    ("temperatureStatus", "temperature"),
];

/// A KVM host inventory with every field seeds/004 lists that ferrocenter knows.
pub fn host(h: &Host, cap: &Capacity) -> Value {
    let facts = h.facts.as_ref().unwrap_or(&Value::Null);
    let hw = &facts["hardware"];
    let mut v = Map::new();
    let mut put = |k: &str, x: Value| {
        if !x.is_null() {
            v.insert(k.into(), x);
        }
    };
    put("uuid", json!(h.id));
    put("name", json!(h.name));
    put("description", json!(h.description));
    put("zoneUuid", json!(h.datacenter_id));
    put("clusterUuid", json!(h.cluster_id));
    put("managementIp", json!(h.address));
    put("hypervisorType", json!("KVM"));
    put("state", json!(h.state.as_str()));
    put("status", json!(host_status(h.connection_state)));
    put("totalCpuCapacity", json!(cap.total_cpu_capacity));
    put("availableCpuCapacity", json!(cap.available_cpu_capacity));
    put("cpuSockets", hw["cpu_packages"].clone());
    put("totalMemoryCapacity", json!(cap.total_memory_bytes));
    put("availableMemoryCapacity", json!(cap.available_memory_bytes));
    put("cpuNum", json!(cap.cpu_num));
    put("architecture", facts["architecture"].clone());
    put("hostname", facts["hostname"].clone());
    put("ipmiAddress", facts["ipmi_address"].clone());
    put("sshPort", json!(h.ssh_port.unwrap_or(22)));
    put("osDistribution", facts["os_name"].clone());
    put("osVersion", facts["os_version"].clone());
    for (field, sensor) in SENSORS {
        let s = facts["sensors"][sensor].as_str().unwrap_or("Unknown");
        put(field, json!(s));
    }
    put("createDate", json!(zs_date(h.created_at)));
    put("lastOpDate", json!(zs_date(h.last_op_at)));
    Value::Object(v)
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
