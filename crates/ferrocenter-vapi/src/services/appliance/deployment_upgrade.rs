//! `com.vmware.vcenter.deployment.upgrade` (get, check; seeds/003 chapter 5, upgrade stage 2)
//! over the core's `deployment::upgrade`, and ferrocenter's own
//! `com.ferrocenter.deployment.export` that a server serves when it is an upgrade's source.
use ferrocenter_core::deployment::upgrade::{
    MigrationEstimate, UpgradeCheck, UpgradeExport, UpgradeSpec,
};
use ferrocenter_core::ports::SourceAbout;
use serde_json::{json, Value};

use super::deployment::{notifications, CHECK_INFO};
use crate::errors::ApiError;
use crate::registry::{http, http_action, op, Call, Op, Out, Reply};
use crate::types::{self, field, Form, StructDef, Ty};
use crate::wire::datetime;

const UPGRADE: &str = "com.vmware.vcenter.deployment.upgrade";
const EXPORT: &str = "com.ferrocenter.deployment.export";

const HISTORY_OPTION: &[&str] = &["EVENTS_TASKS", "ALL"];

const LOCATION_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.location_spec",
    fields: &[
        field("hostname", Ty::String),
        field("https_port", Ty::Optional(&Ty::Long)),
        field("ssl_thumbprint", Ty::Optional(&Ty::String)),
        field("ssl_certificate", Ty::Optional(&Ty::String)),
        field("ssl_verify", Ty::Optional(&Ty::Bool)),
        field("username", Ty::String),
        field("password", Ty::Secret),
    ],
};

const SOURCE_APPLIANCE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.upgrade.source_appliance_spec",
    fields: &[
        field("hostname", Ty::String),
        field("https_port", Ty::Optional(&Ty::Long)),
        field("ssl_thumbprint", Ty::Optional(&Ty::String)),
        field("ssl_certificate", Ty::Optional(&Ty::String)),
        field("ssl_verify", Ty::Optional(&Ty::Bool)),
        field("sso_admin_username", Ty::String),
        field("sso_admin_password", Ty::Secret),
        field("root_password", Ty::Secret),
        field("ssh_verify", Ty::Optional(&Ty::Bool)),
        field("ssh_thumbprint", Ty::Optional(&Ty::String)),
    ],
};

const HISTORY_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.history_migration_spec",
    fields: &[
        field("data_set", Ty::Enum(HISTORY_OPTION)),
        field("defer_import", Ty::Optional(&Ty::Bool)),
    ],
};

const VCSA_EMBEDDED_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.upgrade.vcsa_embedded_spec",
    fields: &[field("ceip_enabled", Ty::Bool)],
};

const PSC_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.upgrade.psc_spec",
    fields: &[field("ceip_enabled", Ty::Bool)],
};

const UPGRADE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.deployment.upgrade.upgrade_spec",
    fields: &[
        field("source_appliance", Ty::Struct(&SOURCE_APPLIANCE_SPEC)),
        field("source_location", Ty::Struct(&LOCATION_SPEC)),
        field("history", Ty::Optional(&Ty::Struct(&HISTORY_SPEC))),
        field(
            "vcsa_embedded",
            Ty::Optional(&Ty::Struct(&VCSA_EMBEDDED_SPEC)),
        ),
        field("psc", Ty::Optional(&Ty::Struct(&PSC_SPEC))),
        field("replicated_partner_hostname", Ty::Optional(&Ty::String)),
        field("export_directory", Ty::Optional(&Ty::String)),
        field("auto_answer", Ty::Optional(&Ty::Bool)),
        field("skip_products_prechecks", Ty::Optional(&Ty::Bool)),
    ],
};

/// What a server says of itself to the server that would take it over.
const SOURCE_ABOUT: StructDef = StructDef {
    name: "com.ferrocenter.deployment.export.source_info",
    fields: &[
        field("version", Ty::String),
        field("schema_version", Ty::Long),
        field("state", Ty::String),
        field("sso_domain_name", Ty::String),
        field("system_name", Ty::String),
        field("server_uuid", Ty::String),
        field("hosts", Ty::Long),
        field("vms", Ty::Long),
        field("data", Ty::Optional(&Ty::Struct(&SOURCE_DATA))),
        field("disk", Ty::Optional(&Ty::Struct(&SOURCE_DISK))),
    ],
};

/// A source's data by what an upgrade takes, in archive bytes before compression.
const SOURCE_DATA: StructDef = StructDef {
    name: "com.ferrocenter.deployment.export.source_data",
    fields: &[
        field("core_bytes", Ty::Long),
        field("events_tasks_bytes", Ty::Long),
        field("statistics_bytes", Ty::Long),
    ],
};

/// The filesystem a source writes its export on.
const SOURCE_DISK: StructDef = StructDef {
    name: "com.ferrocenter.deployment.export.source_disk",
    fields: &[
        field("mount_point", Ty::String),
        field("size_bytes", Ty::Long),
        field("used_bytes", Ty::Long),
        field("free_bytes", Ty::Long),
    ],
};

const EXPORT_SPEC: StructDef = StructDef {
    name: "com.ferrocenter.deployment.export.create_spec",
    fields: &[
        // The backup password the archive is encrypted under: the upgrade's target makes it.
        field("password", Ty::Secret),
        // With the history (the backup part `seat`).
        field("history", Ty::Optional(&Ty::Bool)),
    ],
};

const EXPORT_FILE: StructDef = StructDef {
    name: "com.ferrocenter.deployment.export.file",
    fields: &[field("name", Ty::String), field("bytes", Ty::Long)],
};

const EXPORT_STATE: &[&str] = &["RUNNING", "SUCCEEDED", "FAILED"];

/// An export just started: its id, its state, and the token its files are downloaded under
/// (`EXPORT_DOWNLOAD_PATH`), which only `create` answers.
const EXPORT_CREATED: StructDef = StructDef {
    name: "com.ferrocenter.deployment.export.created",
    fields: &[
        field("export", Ty::Id),
        field("token", Ty::String),
        field("state", Ty::Enum(EXPORT_STATE)),
    ],
};

/// Where an export stands: RUNNING with its progress, SUCCEEDED with its files
/// (`manifest.json` last), FAILED with the error; and when it is removed unless asked for.
const EXPORT_INFO: StructDef = StructDef {
    name: "com.ferrocenter.deployment.export.info",
    fields: &[
        field("export", Ty::Id),
        field("state", Ty::Enum(EXPORT_STATE)),
        field("progress", Ty::Long),
        field("message", Ty::Optional(&Ty::String)),
        field("files", Ty::List(&Ty::Struct(&EXPORT_FILE))),
        field("error", Ty::Optional(&Ty::String)),
        field("expires_at", Ty::DateTime),
    ],
};

pub const OPS: &[Op] = &[
    op(
        UPGRADE,
        "get",
        &[],
        Ty::Struct(&UPGRADE_SPEC),
        &[http("GET", "/vcenter/deployment/upgrade")],
        upgrade_get,
    ),
    // The spec is read by the core, which names every problem in the check's result rather
    // than refusing the call on the first (as install.check).
    op(
        UPGRADE,
        "check",
        &[field("spec", Ty::Opaque)],
        Ty::Struct(&CHECK_INFO),
        &[http_action("POST", "/vcenter/deployment/upgrade", "check")],
        upgrade_check,
    ),
    op(
        UPGRADE,
        "start",
        &[field("spec", Ty::Struct(&UPGRADE_SPEC))],
        Ty::Void,
        &[http_action("POST", "/vcenter/deployment/upgrade", "start")],
        upgrade_start,
    ),
    op(
        UPGRADE,
        "cancel",
        &[],
        Ty::Void,
        &[http_action("POST", "/vcenter/deployment/upgrade", "cancel")],
        upgrade_cancel,
    ),
    op(
        EXPORT,
        "create",
        &[field("spec", Ty::Struct(&EXPORT_SPEC))],
        Ty::Struct(&EXPORT_CREATED),
        &[http("POST", "/ferrocenter/deployment/export")],
        export_create,
    ),
    op(
        EXPORT,
        "get",
        &[field("export", Ty::Id)],
        Ty::Struct(&EXPORT_INFO),
        &[http("GET", "/ferrocenter/deployment/export/{export}")],
        export_get,
    ),
    op(
        EXPORT,
        "delete",
        &[field("export", Ty::Id)],
        Ty::Void,
        &[http("DELETE", "/ferrocenter/deployment/export/{export}")],
        export_delete,
    ),
    op(
        EXPORT,
        "source",
        &[],
        Ty::Struct(&SOURCE_ABOUT),
        &[http("GET", "/ferrocenter/deployment/export/source")],
        export_source,
    ),
];

/// The spec in its JSON form whichever door it came through.
fn native_spec(call: &Call) -> Result<Value, ApiError> {
    let raw = call.get("spec").cloned().unwrap_or(Value::Null);
    Ok(match call.form {
        Form::Rpc => types::decode(&Ty::Struct(&UPGRADE_SPEC), &raw, Form::Rpc, "spec")?,
        _ => raw,
    })
}

fn check_info(c: &UpgradeCheck) -> Value {
    let mut v = json!({"status": if c.ok { "SUCCESS" } else { "FAILED" }});
    if !c.result.is_empty() {
        v["result"] = notifications(&c.result);
    }
    if let Some(s) = &c.source {
        v["source_info"] = json!({
            "hostname": s.hostname,
            "version": s.version,
            "deployment_type": "VCSA_EMBEDDED",
            "deployment_size": s.deployment_size,
            "sso_domain_name": s.sso_domain_name,
            // ferrocenter joins no Active Directory domain and keeps no DNS configuration.
            "active_directory_domain": "",
            "dns_servers": [],
        });
        if let Some(m) = &s.migration {
            v["source_info"]["data_migration_info"] = json!({
                "core": estimate(&m.core),
                "core_events_tasks": estimate(&m.core_events_tasks),
                "all": estimate(&m.all),
                "core_events_tasks_with_deferred": estimate(&m.core_events_tasks_with_deferred),
                "all_with_deferred": estimate(&m.all_with_deferred),
            });
        }
        if let Some(d) = &s.about.disk {
            v["source_info"]["disk_info"] = json!([{
                "used": gib(d.used_bytes),
                "free": gib(d.free_bytes),
                "size": gib(d.size_bytes),
                "mount_point": d.mount_point,
            }]);
        }
    }
    v
}

/// The SDK's disk figures are GB (taken as GiB).
fn gib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 30)
}

/// Times in seconds; the space in GB as `disk_info` gives it.
fn estimate(e: &MigrationEstimate) -> Value {
    json!({
        "estimated_export_time": e.export_seconds,
        "estimated_import_time": e.import_seconds,
        "required_free_disk_space_on_source": gib(e.source_bytes),
    })
}

fn upgrade_check(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let spec = native_spec(&call)?;
        let c = call.state.core.upgrade_check(&caller, &spec).await?;
        Ok(Out::Value(check_info(&c)))
    })
}

/// The spec as `get` shows it: passwords are never returned; the fields are required, so
/// they say so instead.
fn spec_value(s: &UpgradeSpec) -> Value {
    let mut v = json!({
        "source_appliance": {
            "hostname": s.hostname,
            "https_port": s.https_port,
            "ssl_thumbprint": s.ssl_thumbprint,
            "sso_admin_username": s.sso_admin_username,
            "sso_admin_password": "(withheld)",
            "root_password": "(withheld)",
        },
        "source_location": {
            "hostname": s.location_hostname,
            "username": s.location_username,
            "password": "(withheld)",
        },
        "vcsa_embedded": {"ceip_enabled": s.ceip_enabled},
        "auto_answer": s.auto_answer,
    });
    if let Some(h) = &s.history {
        v["history"] = json!({"data_set": h.data_set.as_str(), "defer_import": h.defer_import});
    }
    v
}

fn upgrade_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let s = call.state.core.upgrade_get(&caller).await?;
        Ok(Out::Value(spec_value(&s)))
    })
}

fn about_value(a: &SourceAbout) -> Value {
    json!({
        "version": a.version,
        "schema_version": a.schema_version,
        "state": a.state,
        "sso_domain_name": a.sso_domain_name,
        "system_name": a.system_name,
        "server_uuid": a.server_uuid,
        "hosts": a.hosts,
        "vms": a.vms,
        "data": a.data,
        "disk": a.disk,
    })
}

fn export_source(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let a = call.state.core.upgrade_source_about(&caller).await?;
        Ok(Out::Value(about_value(&a)))
    })
}

fn upgrade_start(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let spec = call.get("spec").cloned().unwrap_or(Value::Null);
        call.state.core.upgrade_start(&caller, &spec).await?;
        Ok(Out::Value(Value::Null))
    })
}

fn upgrade_cancel(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state.core.upgrade_cancel(&caller).await?;
        Ok(Out::Value(Value::Null))
    })
}

fn export_create(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let spec = call.get("spec").cloned().unwrap_or(Value::Null);
        let password = spec.get("password").and_then(Value::as_str).unwrap_or("");
        let history = spec
            .get("history")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let c = call
            .state
            .core
            .upgrade_export_create(&caller, password, history)
            .await?;
        Ok(Out::Value(json!({
            "export": c.export.export,
            "token": c.token,
            "state": c.export.state.as_str(),
        })))
    })
}

fn export_info(e: &UpgradeExport) -> Value {
    let mut v = json!({
        "export": e.export,
        "state": e.state.as_str(),
        "progress": e.progress,
        "files": e.files.iter().map(|f| json!({"name": f.name, "bytes": f.bytes})).collect::<Vec<_>>(),
        "expires_at": datetime(e.expires_at),
    });
    if let Some(m) = &e.message {
        v["message"] = json!(m);
    }
    if let Some(err) = &e.error {
        v["error"] = json!(err);
    }
    v
}

fn export_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let id = call.get("export").and_then(Value::as_str).unwrap_or("");
        let e = call.state.core.upgrade_export_get(&caller, id).await?;
        Ok(Out::Value(export_info(&e)))
    })
}

fn export_delete(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let id = call.get("export").and_then(Value::as_str).unwrap_or("");
        call.state.core.upgrade_export_delete(&caller, id).await?;
        Ok(Out::Value(Value::Null))
    })
}
