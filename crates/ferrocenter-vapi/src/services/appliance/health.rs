//! `com.vmware.appliance.health.*` (each component's level, the system's composite and its last
//! check, the database's status), `com.vmware.appliance.health` (messages) and
//! `com.vmware.appliance.health_check_settings` (get, update). The rules are the core's
//! (`appliance::health`); this renders them.
use ferrocenter_core::appliance::health::{
    Component, HealthCheckSettings, HealthCheckSettingsUpdate, HealthMessage,
};
use serde_json::{json, Value};

use crate::errors::ApiError;
use crate::registry::{http, op, Call, Op, Out, Reply};
use crate::services::std_types::LOCALIZABLE_MESSAGE;
use crate::types::{field, StructDef, Ty};
use crate::wire::{datetime, text_msg};

/// Every component's `health_level` enumeration has these values, in the SDK's order.
const LEVELS: &[&str] = &["orange", "gray", "green", "red", "yellow"];
const LEVEL: Ty = Ty::Enum(LEVELS);

const DATABASE_MESSAGE: StructDef = StructDef {
    name: "com.vmware.appliance.health.database.message",
    fields: &[
        field("severity", Ty::Enum(&["ERROR", "WARNING"])),
        field("message", Ty::Struct(&LOCALIZABLE_MESSAGE)),
    ],
};

const DATABASE_INFO: StructDef = StructDef {
    name: "com.vmware.appliance.health.database.info",
    fields: &[
        field("status", Ty::Enum(&["UNHEALTHY", "DEGRADED", "HEALTHY"])),
        field("messages", Ty::List(&Ty::Struct(&DATABASE_MESSAGE))),
    ],
};

pub(crate) const NOTIFICATION: StructDef = StructDef {
    name: "com.vmware.appliance.notification",
    fields: &[
        field("id", Ty::String),
        field("time", Ty::Optional(&Ty::DateTime)),
        field("message", Ty::Struct(&LOCALIZABLE_MESSAGE)),
        field(
            "resolution",
            Ty::Optional(&Ty::Struct(&LOCALIZABLE_MESSAGE)),
        ),
    ],
};

const SETTING_SPEC: StructDef = StructDef {
    name: "com.vmware.appliance.health_check_settings.setting_spec",
    fields: &[
        field("db_health_check_state_manual_backup", Ty::Bool),
        field("db_health_check_state_scheduled_backup", Ty::Bool),
    ],
};

const UPDATE_SPEC: StructDef = StructDef {
    name: "com.vmware.appliance.health_check_settings.update_spec",
    fields: &[
        field(
            "db_health_check_state_manual_backup",
            Ty::Optional(&Ty::Bool),
        ),
        field(
            "db_health_check_state_scheduled_backup",
            Ty::Optional(&Ty::Bool),
        ),
    ],
};

const HEALTH: &str = "com.vmware.appliance.health";
const SETTINGS: &str = "com.vmware.appliance.health_check_settings";

pub const OPS: &[Op] = &[
    op(
        "com.vmware.appliance.health.applmgmt",
        "get",
        &[],
        // The SDK types this one as a plain string; its values are the levels all the same.
        Ty::String,
        &[http("GET", "/appliance/health/applmgmt")],
        applmgmt,
    ),
    op(
        "com.vmware.appliance.health.database",
        "get",
        &[],
        Ty::Struct(&DATABASE_INFO),
        &[http("GET", "/appliance/health/database")],
        database,
    ),
    op(
        "com.vmware.appliance.health.databasestorage",
        "get",
        &[],
        LEVEL,
        &[http("GET", "/appliance/health/database-storage")],
        databasestorage,
    ),
    op(
        "com.vmware.appliance.health.load",
        "get",
        &[],
        LEVEL,
        &[http("GET", "/appliance/health/load")],
        load,
    ),
    op(
        "com.vmware.appliance.health.mem",
        "get",
        &[],
        LEVEL,
        &[http("GET", "/appliance/health/mem")],
        mem,
    ),
    op(
        "com.vmware.appliance.health.softwarepackages",
        "get",
        &[],
        LEVEL,
        &[http("GET", "/appliance/health/software-packages")],
        softwarepackages,
    ),
    op(
        "com.vmware.appliance.health.storage",
        "get",
        &[],
        LEVEL,
        &[http("GET", "/appliance/health/storage")],
        storage,
    ),
    op(
        "com.vmware.appliance.health.swap",
        "get",
        &[],
        LEVEL,
        &[http("GET", "/appliance/health/swap")],
        swap,
    ),
    op(
        "com.vmware.appliance.health.system",
        "lastcheck",
        &[],
        Ty::DateTime,
        &[http("GET", "/appliance/health/system/lastcheck")],
        lastcheck,
    ),
    op(
        "com.vmware.appliance.health.system",
        "get",
        &[],
        LEVEL,
        &[http("GET", "/appliance/health/system")],
        system,
    ),
    op(
        HEALTH,
        "messages",
        &[field("item", Ty::Id)],
        Ty::List(&Ty::Struct(&NOTIFICATION)),
        &[http("GET", "/appliance/health/{item}/messages")],
        messages,
    ),
    op(
        SETTINGS,
        "get",
        &[],
        Ty::Struct(&SETTING_SPEC),
        &[http("GET", "/appliance/health/settings")],
        settings_get,
    ),
    op(
        SETTINGS,
        "update",
        &[field("health_settings", Ty::Struct(&UPDATE_SPEC))],
        Ty::Void,
        &[http("PATCH", "/appliance/health/settings")],
        settings_update,
    ),
];

async fn level(call: Call, component: Component) -> Result<Out, ApiError> {
    let caller = call.caller().await?;
    let level = call.state.core.health_level(&caller, component).await?;
    Ok(Out::Value(json!(level.as_str())))
}

fn applmgmt(call: Call) -> Reply {
    Box::pin(level(call, Component::Applmgmt))
}

fn databasestorage(call: Call) -> Reply {
    Box::pin(level(call, Component::DatabaseStorage))
}

fn load(call: Call) -> Reply {
    Box::pin(level(call, Component::Load))
}

fn mem(call: Call) -> Reply {
    Box::pin(level(call, Component::Mem))
}

fn softwarepackages(call: Call) -> Reply {
    Box::pin(level(call, Component::SoftwarePackages))
}

fn storage(call: Call) -> Reply {
    Box::pin(level(call, Component::Storage))
}

fn swap(call: Call) -> Reply {
    Box::pin(level(call, Component::Swap))
}

fn system(call: Call) -> Reply {
    Box::pin(level(call, Component::System))
}

fn lastcheck(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let at = call.state.core.health_lastcheck(&caller).await?;
        Ok(Out::Value(json!(datetime(at))))
    })
}

fn database(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let db = call.state.core.health_database(&caller).await?;
        let messages: Vec<Value> = db
            .messages
            .iter()
            .map(|m| json!({"severity": m.severity.as_str(), "message": text_msg(&m.message)}))
            .collect();
        Ok(Out::Value(
            json!({"status": db.status.as_str(), "messages": messages}),
        ))
    })
}

fn notification(m: &HealthMessage) -> Value {
    let mut v = json!({"id": m.id, "time": datetime(m.time), "message": text_msg(&m.message)});
    if let Some(r) = &m.resolution {
        v["resolution"] = text_msg(r);
    }
    v
}

fn messages(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let list = call
            .state
            .core
            .health_messages(&caller, call.text("item"))
            .await?;
        Ok(Out::Value(Value::Array(
            list.iter().map(notification).collect(),
        )))
    })
}

fn settings_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let HealthCheckSettings {
            db_health_check_state_manual_backup,
            db_health_check_state_scheduled_backup,
        } = call.state.core.health_check_settings(&caller).await?;
        Ok(Out::Value(json!({
            "db_health_check_state_manual_backup": db_health_check_state_manual_backup,
            "db_health_check_state_scheduled_backup": db_health_check_state_scheduled_backup,
        })))
    })
}

fn settings_update(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let spec = call.get("health_settings");
        let flag = |name: &str| spec.and_then(|s| s.get(name)).and_then(Value::as_bool);
        let update = HealthCheckSettingsUpdate {
            db_health_check_state_manual_backup: flag("db_health_check_state_manual_backup"),
            db_health_check_state_scheduled_backup: flag("db_health_check_state_scheduled_backup"),
        };
        call.state
            .core
            .update_health_check_settings(&caller, update)
            .await?;
        Ok(Out::Value(Value::Null))
    })
}
