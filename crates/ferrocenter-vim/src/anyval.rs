//! Boxing values placed in vim `Any` slots (DynamicProperty.val, PropertyChange.val): data
//! objects go inline, primitives and enums as `{"_typeName": T, "_value": v}`, arrays as
//! `ArrayOf<T>`.
use serde_json::{json, Value};

/// Enum-typed and dateTime-typed leaves, by the last segment of their path (and the owning
/// type where the same name means different enums).
fn leaf_type(mo_type: &str, path: &str) -> Option<&'static str> {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    Some(match (mo_type, leaf) {
        (_, "overallStatus" | "configStatus" | "guestHeartbeatStatus") => "ManagedEntityStatus",
        ("HostSystem", "connectionState") => "HostSystemConnectionState",
        ("HostSystem", "powerState") => "HostSystemPowerState",
        ("VirtualMachine", "connectionState") => "VirtualMachineConnectionState",
        ("VirtualMachine", "powerState") => "VirtualMachinePowerState",
        ("VirtualMachine", "faultToleranceState") => "VirtualMachineFaultToleranceState",
        ("Task", "state") => "TaskInfoState",
        (_, "lockdownMode") => "HostLockdownMode",
        (
            _,
            "bootTime" | "queueTime" | "startTime" | "completeTime" | "loginTime"
            | "lastActiveTime" | "createdTime",
        ) => "dateTime",
        (
            _,
            "memorySize" | "capacity" | "freeSpace" | "totalMemory" | "hz" | "maxFileSize"
            | "maxMemoryFileSize" | "effectiveMemory" | "uptime",
        ) => "long",
        _ => return None,
    })
}

/// Element types of arrays that may be empty (so the type cannot be read off an element).
fn array_type(path: &str) -> &'static str {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    match leaf {
        "recentTask" | "vm" | "datastore" | "network" | "host" | "childEntity" | "view"
        | "resourcePool" | "filter" | "locked" => "ArrayOfManagedObjectReference",
        "customValue" | "value" => "ArrayOfCustomFieldValue",
        "availableField" | "field" => "ArrayOfCustomFieldDef",
        "configIssue" => "ArrayOfEvent",
        "permission" => "ArrayOfPermission",
        "triggeredAlarmState" | "declaredAlarmState" => "ArrayOfAlarmState",
        "tag" => "ArrayOfTag",
        "effectiveRole" => "ArrayOfInt",
        _ => "ArrayOfString",
    }
}

pub fn boxed(mo_type: &str, path: &str, v: Value) -> Value {
    match v {
        Value::Object(ref o) if o.contains_key("_typeName") => v,
        Value::Array(a) => {
            let t = match a.first() {
                Some(Value::Object(o)) => match o.get("_typeName").and_then(Value::as_str) {
                    Some("ManagedObjectReference") => "ArrayOfManagedObjectReference".to_string(),
                    Some(t) => format!("ArrayOf{t}"),
                    None => "ArrayOfAnyType".to_string(),
                },
                Some(Value::String(_)) => "ArrayOfString".to_string(),
                Some(Value::Number(n)) if n.is_i64() || n.is_u64() => "ArrayOfInt".to_string(),
                Some(Value::Bool(_)) => "ArrayOfBoolean".to_string(),
                _ => array_type(path).to_string(),
            };
            json!({"_typeName": t, "_value": a})
        }
        Value::String(_) => {
            let t = leaf_type(mo_type, path).unwrap_or("string");
            json!({"_typeName": t, "_value": v})
        }
        Value::Bool(_) => json!({"_typeName": "boolean", "_value": v}),
        Value::Number(ref n) => {
            let t = match leaf_type(mo_type, path) {
                Some(t) => t,
                None if n.is_f64() => "double",
                None if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => "int",
                None => "long",
            };
            json!({"_typeName": t, "_value": v})
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_enums_and_arrays_are_boxed() {
        assert_eq!(
            boxed("HostSystem", "name", json!("h1")),
            json!({"_typeName": "string", "_value": "h1"})
        );
        assert_eq!(
            boxed("HostSystem", "runtime.connectionState", json!("connected")),
            json!({"_typeName": "HostSystemConnectionState", "_value": "connected"})
        );
        assert_eq!(
            boxed("Task", "info.state", json!("success"))["_typeName"],
            "TaskInfoState"
        );
        assert_eq!(
            boxed("HostSystem", "recentTask", json!([]))["_typeName"],
            "ArrayOfManagedObjectReference"
        );
        assert_eq!(
            boxed("HostSystem", "summary.hardware.memorySize", json!(5))["_typeName"],
            "long"
        );
        assert_eq!(boxed("X", "n", json!(5))["_typeName"], "int");
        assert_eq!(boxed("X", "b", json!(true))["_typeName"], "boolean");
        let obj = json!({"_typeName": "HostRuntimeInfo", "inMaintenanceMode": false});
        assert_eq!(boxed("HostSystem", "runtime", obj.clone()), obj);
    }
}
