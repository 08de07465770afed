//! `com.vmware.appliance.recovery` and its backup, restore and reconciliation services (not
//! the schedules: `recovery_schedules.rs`) over the core's `recovery`: jobs, parts, what is on
//! a location, restore and reconciliation. Every rule is the core's; this module reads the
//! request and renders the answer.
use ferrocenter_core::ports::{Location, LocationSecret, LocationType};
use ferrocenter_core::recovery::archives::{ArchiveFilter, ArchiveInfo};
use ferrocenter_core::recovery::backup_job::{
    BackupJob, BackupJobType, BackupRequest, CheckResult, JobState,
};
use ferrocenter_core::recovery::reconcile::{ReconcileInfo, ReconcileStatus};
use ferrocenter_core::recovery::restore_job::{RestoreMetadata, RestoreRequest, RestoreStatus};
use ferrocenter_core::recovery::{self, PartId};
use ferrocenter_core::CoreError;
use serde_json::{json, Map, Value};

use crate::registry::{http, op, Call, Op, Out, Reply};
use crate::services::std_types::{LOCALIZABLE_MESSAGE, PROGRESS, TASK_STATUS};
use crate::types::{field, parse_datetime, Field, StructDef, Ty};
use crate::wire::datetime;

const ROOT: &str = "com.vmware.appliance.recovery";
const BACKUP: &str = "com.vmware.appliance.recovery.backup";
const JOB: &str = "com.vmware.appliance.recovery.backup.job";
const DETAILS: &str = "com.vmware.appliance.recovery.backup.job.details";
const PARTS: &str = "com.vmware.appliance.recovery.backup.parts";
const SYSTEM_NAME: &str = "com.vmware.appliance.recovery.backup.system_name";
const ARCHIVE: &str = "com.vmware.appliance.recovery.backup.system_name.archive";
const RESTORE: &str = "com.vmware.appliance.recovery.restore";
const RESTORE_JOB: &str = "com.vmware.appliance.recovery.restore.job";
const RECONCILIATION_JOB: &str = "com.vmware.appliance.recovery.reconciliation.job";

/// The SDK's location types, plus the seed's `PATH` (a directory on the server's machine),
/// accepted as a documented extension.
const LOCATION_TYPES: &[&str] = &[
    "FTP", "HTTP", "FTPS", "HTTPS", "SCP", "SFTP", "NFS", "SMB", "PATH",
];
const PROCESS_STATES: &[&str] = &["FAILED", "INPROGRESS", "NONE", "SUCCEEDED"];
const RETURN_STATUS: &[&str] = &["FAIL", "WARNING", "OK"];

macro_rules! message_struct {
    ($name:literal) => {
        StructDef {
            name: $name,
            fields: &[
                field("id", Ty::String),
                field("default_message", Ty::String),
                field("args", Ty::List(&Ty::String)),
            ],
        }
    };
}

const BACKUP_MSG: StructDef =
    message_struct!("com.vmware.appliance.recovery.backup.localizable_message");
const JOB_MSG: StructDef =
    message_struct!("com.vmware.appliance.recovery.backup.job.localizable_message");
const PARTS_MSG: StructDef =
    message_struct!("com.vmware.appliance.recovery.backup.parts.localizable_message");
const RESTORE_MSG: StructDef =
    message_struct!("com.vmware.appliance.recovery.restore.localizable_message");
const RESTORE_JOB_MSG: StructDef =
    message_struct!("com.vmware.appliance.recovery.restore.job.localizable_message");

macro_rules! backup_request_fields {
    ($types:expr) => {
        &[
            field("parts", Ty::List(&Ty::String)),
            field("backup_password", Ty::Optional(&Ty::Secret)),
            field("location_type", Ty::Enum($types)),
            field("location", Ty::String),
            field("location_user", Ty::Optional(&Ty::String)),
            field("location_password", Ty::Optional(&Ty::Secret)),
            field("comment", Ty::Optional(&Ty::String)),
            field("fast_backup", Ty::Optional(&Ty::Bool)),
        ]
    };
}

const BACKUP_REQUEST: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.backup_request",
    fields: backup_request_fields!(LOCATION_TYPES),
};

const JOB_BACKUP_REQUEST: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.job.backup_request",
    fields: backup_request_fields!(LOCATION_TYPES),
};

const BACKUP_RETURN: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.return_result",
    fields: &[
        field("status", Ty::Enum(RETURN_STATUS)),
        field("messages", Ty::List(&Ty::Struct(&BACKUP_MSG))),
    ],
};

const JOB_RETURN: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.job.return_result",
    fields: &[
        field("status", Ty::Enum(RETURN_STATUS)),
        field("messages", Ty::List(&Ty::Struct(&JOB_MSG))),
    ],
};

/// What `backup.job.create`, `get` and `schedules.run` answer.
pub const BACKUP_JOB_STATUS: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.job.backup_job_status",
    fields: &[
        field("id", Ty::String),
        field("state", Ty::Enum(PROCESS_STATES)),
        field("messages", Ty::List(&Ty::Struct(&JOB_MSG))),
        field("progress", Ty::Long),
        field("start_time", Ty::DateTime),
        field("end_time", Ty::Optional(&Ty::DateTime)),
    ],
};

const BUILD_INFO: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.job.details.build_info",
    fields: &[
        field("version_name", Ty::String),
        field("version", Ty::String),
        field("build_number", Ty::String),
    ],
};

const DETAILS_INFO: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.job.details.info",
    fields: &[
        field("location", Ty::String),
        field("duration", Ty::Optional(&Ty::Long)),
        field("size", Ty::Optional(&Ty::Long)),
        field("progress", Ty::Optional(&Ty::Struct(&PROGRESS))),
        field("location_user", Ty::String),
        field("type", Ty::Enum(&["SCHEDULED", "MANUAL", "LOCAL_BACKUP"])),
        field("messages", Ty::List(&Ty::Struct(&LOCALIZABLE_MESSAGE))),
        field("build", Ty::Optional(&Ty::Struct(&BUILD_INFO))),
        field("fast_backup", Ty::Optional(&Ty::Bool)),
        field("description", Ty::Struct(&LOCALIZABLE_MESSAGE)),
        field("service", Ty::Id),
        field("operation", Ty::Id),
        field("parent", Ty::Optional(&Ty::Id)),
        field("status", Ty::Enum(TASK_STATUS)),
        field("cancelable", Ty::Bool),
        field("start_time", Ty::Optional(&Ty::DateTime)),
        field("end_time", Ty::Optional(&Ty::DateTime)),
        field("user", Ty::Optional(&Ty::String)),
    ],
};

const DETAILS_FILTER: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.job.details.filter_spec",
    fields: &[field("jobs", Ty::Optional(&Ty::Set(&Ty::Id)))],
};

const PART: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.parts.part",
    fields: &[
        field("id", Ty::Id),
        field("name", Ty::Struct(&PARTS_MSG)),
        field("description", Ty::Struct(&PARTS_MSG)),
        field("selected_by_default", Ty::Bool),
        field("optional", Ty::Bool),
        field("standalone", Ty::Optional(&Ty::Bool)),
    ],
};

const LOCATION_SPEC: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.location_spec",
    fields: &[
        field("location", Ty::String),
        field("location_user", Ty::Optional(&Ty::String)),
        field("location_password", Ty::Optional(&Ty::Secret)),
    ],
};

const ARCHIVE_FILTER: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.system_name.archive.filter_spec",
    fields: &[
        field("start_timestamp", Ty::Optional(&Ty::DateTime)),
        field("end_timestamp", Ty::Optional(&Ty::DateTime)),
        field("comment_substring", Ty::Optional(&Ty::String)),
        field("max_results", Ty::Optional(&Ty::Long)),
    ],
};

const ARCHIVE_SUMMARY: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.system_name.archive.summary",
    fields: &[
        field("archive", Ty::Id),
        field("timestamp", Ty::DateTime),
        field("version", Ty::String),
        field("comment", Ty::String),
    ],
};

const ARCHIVE_INFO: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.backup.system_name.archive.info",
    fields: &[
        field("timestamp", Ty::DateTime),
        field("location", Ty::String),
        field("parts", Ty::List(&Ty::String)),
        field("version", Ty::String),
        field("system_name", Ty::Id),
        field("comment", Ty::String),
    ],
};

macro_rules! restore_request_fields {
    ($($extra:expr),*) => {
        &[
            field("parts", Ty::Optional(&Ty::List(&Ty::String))),
            field("backup_password", Ty::Optional(&Ty::Secret)),
            field("location_type", Ty::Enum(LOCATION_TYPES)),
            field("location", Ty::String),
            field("location_user", Ty::Optional(&Ty::String)),
            field("location_password", Ty::Optional(&Ty::Secret)),
            field("sso_admin_user_name", Ty::Optional(&Ty::String)),
            field("sso_admin_user_password", Ty::Optional(&Ty::Secret)),
            $($extra),*
        ]
    };
}

const RESTORE_REQUEST: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.restore.restore_request",
    fields: restore_request_fields!(),
};

const RESTORE_JOB_REQUEST: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.restore.job.restore_request",
    fields: restore_request_fields!(field("ignore_warnings", Ty::Optional(&Ty::Bool))),
};

const RESTORE_METADATA: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.restore.metadata",
    fields: &[
        field("timestamp", Ty::DateTime),
        field("parts", Ty::List(&Ty::String)),
        field("version", Ty::String),
        field("boxname", Ty::String),
        field("sso_login_required", Ty::Optional(&Ty::Bool)),
        field("comment", Ty::String),
        field("applicable", Ty::Bool),
        field("messages", Ty::List(&Ty::Struct(&RESTORE_MSG))),
    ],
};

const RESTORE_JOB_STATUS: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.restore.job.restore_job_status",
    fields: &[
        field("state", Ty::Enum(PROCESS_STATES)),
        field("messages", Ty::List(&Ty::Struct(&RESTORE_JOB_MSG))),
        field("progress", Ty::Long),
        field("parts", Ty::Optional(&Ty::List(&Ty::String))),
    ],
};

const RESTORE_RETURN: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.restore.job.return_result",
    fields: &[
        field("status", Ty::Enum(RETURN_STATUS)),
        field("messages", Ty::List(&Ty::Struct(&RESTORE_JOB_MSG))),
    ],
};

const RECONCILIATION_SPEC: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.reconciliation.job.create_spec",
    fields: &[
        field("sso_admin_user_name", Ty::Optional(&Ty::String)),
        field("sso_admin_user_password", Ty::Optional(&Ty::Secret)),
        field("ignore_warnings", Ty::Optional(&Ty::Bool)),
    ],
};

const RECONCILIATION_INFO: StructDef = StructDef {
    name: "com.vmware.appliance.recovery.reconciliation.job.info",
    fields: &[
        field("description", Ty::Struct(&LOCALIZABLE_MESSAGE)),
        field("service", Ty::Id),
        field("operation", Ty::String),
        field("parent", Ty::Optional(&Ty::Id)),
        field(
            "status",
            Ty::Enum(&["NONE", "RUNNING", "SUCCEEDED", "FAILED"]),
        ),
        field("cancelable", Ty::Optional(&Ty::Bool)),
        field("start_time", Ty::Optional(&Ty::DateTime)),
        field("end_time", Ty::Optional(&Ty::DateTime)),
        field("messages", Ty::List(&Ty::Struct(&LOCALIZABLE_MESSAGE))),
        field("progress", Ty::Long),
    ],
};

const ID: &[Field] = &[field("id", Ty::Id)];

pub const OPS: &[Op] = &[
    op(
        ROOT,
        "get",
        &[],
        Ty::Struct(&StructDef {
            name: "com.vmware.appliance.recovery.info",
            fields: &[field("supported", Ty::Bool)],
        }),
        &[http("GET", "/appliance/recovery")],
        recovery_get,
    ),
    op(
        BACKUP,
        "validate",
        &[field("piece", Ty::Struct(&BACKUP_REQUEST))],
        Ty::Struct(&BACKUP_RETURN),
        &[http("POST", "/appliance/recovery/backup/validate")],
        backup_validate,
    ),
    op(
        JOB,
        "create",
        &[field("piece", Ty::Struct(&JOB_BACKUP_REQUEST))],
        Ty::Struct(&BACKUP_JOB_STATUS),
        &[http("POST", "/appliance/recovery/backup/job")],
        job_create,
    ),
    op(
        JOB,
        "list",
        &[],
        Ty::List(&Ty::Id),
        &[http("GET", "/appliance/recovery/backup/job")],
        job_list,
    ),
    op(
        JOB,
        "get",
        ID,
        Ty::Struct(&BACKUP_JOB_STATUS),
        &[http("GET", "/appliance/recovery/backup/job/{id}")],
        job_get,
    ),
    op(
        JOB,
        "cancel",
        ID,
        Ty::Struct(&JOB_RETURN),
        &[http("POST", "/appliance/recovery/backup/job/{id}/cancel")],
        job_cancel,
    ),
    op(
        DETAILS,
        "list",
        &[field("filter", Ty::Optional(&Ty::Struct(&DETAILS_FILTER)))],
        Ty::Map(&Ty::Struct(&DETAILS_INFO)),
        &[http("GET", "/appliance/recovery/backup/job/details")],
        details_list,
    ),
    op(
        PARTS,
        "list",
        &[],
        Ty::List(&Ty::Struct(&PART)),
        &[http("GET", "/appliance/recovery/backup/parts")],
        parts_list,
    ),
    op(
        PARTS,
        "get",
        ID,
        Ty::Long,
        &[http("GET", "/appliance/recovery/backup/parts/{id}")],
        parts_get,
    ),
    op(
        SYSTEM_NAME,
        "list",
        &[field("loc_spec", Ty::Struct(&LOCATION_SPEC))],
        Ty::List(&Ty::Id),
        &[http("GET", "/appliance/recovery/backup/system-name")],
        system_name_list,
    ),
    op(
        ARCHIVE,
        "list",
        &[
            field("loc_spec", Ty::Struct(&LOCATION_SPEC)),
            field("system_name", Ty::Id),
            field("filter_spec", Ty::Struct(&ARCHIVE_FILTER)),
        ],
        Ty::List(&Ty::Struct(&ARCHIVE_SUMMARY)),
        &[http(
            "GET",
            "/appliance/recovery/backup/system-name/{system_name}/archives",
        )],
        archive_list,
    ),
    op(
        ARCHIVE,
        "get",
        &[
            field("spec", Ty::Struct(&LOCATION_SPEC)),
            field("system_name", Ty::Id),
            field("archive", Ty::Id),
        ],
        Ty::Struct(&ARCHIVE_INFO),
        &[http(
            "GET",
            "/appliance/recovery/backup/system-name/{system_name}/archives/{archive}",
        )],
        archive_get,
    ),
    op(
        RESTORE,
        "validate",
        &[field("piece", Ty::Struct(&RESTORE_REQUEST))],
        Ty::Struct(&RESTORE_METADATA),
        &[http("POST", "/appliance/recovery/restore/validate")],
        restore_validate,
    ),
    op(
        RESTORE_JOB,
        "create",
        &[field("piece", Ty::Struct(&RESTORE_JOB_REQUEST))],
        Ty::Struct(&RESTORE_JOB_STATUS),
        &[http("POST", "/appliance/recovery/restore/job")],
        restore_create,
    ),
    op(
        RESTORE_JOB,
        "get",
        &[],
        Ty::Struct(&RESTORE_JOB_STATUS),
        &[http("GET", "/appliance/recovery/restore/job")],
        restore_get,
    ),
    op(
        RESTORE_JOB,
        "cancel",
        &[],
        Ty::Struct(&RESTORE_RETURN),
        &[http("POST", "/appliance/recovery/restore/job/cancel")],
        restore_cancel,
    ),
    op(
        RECONCILIATION_JOB,
        "create",
        &[field("spec", Ty::Struct(&RECONCILIATION_SPEC))],
        Ty::Struct(&RECONCILIATION_INFO),
        &[http("POST", "/appliance/recovery/reconciliation/job")],
        reconciliation_create,
    ),
    op(
        RECONCILIATION_JOB,
        "get",
        &[],
        Ty::Struct(&RECONCILIATION_INFO),
        &[http("GET", "/appliance/recovery/reconciliation/job")],
        reconciliation_get,
    ),
];

/// A message in the recovery services' `localizable_message` shape.
fn msg(id: &str, text: &str) -> Value {
    json!({"id": format!("com.ferrocenter.recovery.{id}"), "default_message": text, "args": []})
}

fn msgs(id: &str, texts: &[String]) -> Value {
    Value::Array(texts.iter().map(|t| msg(id, t)).collect())
}

fn text_of<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// The location of a request: its type, URL and login, as the core reads them. Faults name
/// the field as the request structures spell it (`location`, `location_type`), as the core's
/// faults of the location itself (`location`, `location_password`) do.
fn location(v: &Value, kind_field: Option<&str>) -> Result<Location, CoreError> {
    let url = text_of(v, "location").unwrap_or_default();
    let kind = match kind_field.and_then(|k| text_of(v, k)) {
        Some(k) => k
            .parse::<LocationType>()
            .map_err(|e| CoreError::invalid("location_type", e.to_string()))?,
        None => recovery::location_type_of(url)
            .map_err(|e| CoreError::invalid("location", e.to_string()))?,
    };
    recovery::request_location(
        kind,
        url,
        text_of(v, "location_user"),
        text_of(v, "location_password").map(LocationSecret::new),
    )
}

fn backup_request(call: &Call) -> Result<BackupRequest, CoreError> {
    let p = call.get("piece").cloned().unwrap_or_default();
    Ok(BackupRequest {
        parts: p
            .get("parts")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        backup_password: text_of(&p, "backup_password").map(LocationSecret::new),
        location: location(&p, Some("location_type"))?,
        comment: text_of(&p, "comment").map(String::from),
        job_type: BackupJobType::Manual,
    })
}

fn restore_request(call: &Call) -> Result<RestoreRequest, CoreError> {
    let p = call.get("piece").cloned().unwrap_or_default();
    if let Some(parts) = p.get("parts").and_then(Value::as_array) {
        if !parts.is_empty() {
            // The seed: "You cannot specify optional parts for the restore operation."
            return Err(CoreError::invalid(
                "parts",
                "a restore takes every part the archive holds; leave parts unset",
            ));
        }
    }
    Ok(RestoreRequest {
        backup_password: text_of(&p, "backup_password").map(LocationSecret::new),
        location: location(&p, Some("location_type"))?,
        ignore_warnings: p
            .get("ignore_warnings")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// What `backup.job.create`, `get` and `schedules.run` answer.
pub fn backup_job_status(j: &BackupJob) -> Value {
    let mut v = json!({
        "id": j.id,
        "state": j.state.as_str(),
        "messages": msgs("backup.job", &j.messages),
        "progress": j.progress,
        "start_time": datetime(j.start_time),
    });
    if let Some(e) = j.end_time {
        v["end_time"] = json!(datetime(e));
    }
    v
}

fn check_result(r: &CheckResult, id: &str) -> Value {
    json!({"status": r.status.as_str(), "messages": msgs(id, &r.messages)})
}

fn details(j: &BackupJob) -> Value {
    let status = match j.state {
        JobState::InProgress => "RUNNING",
        JobState::Succeeded => "SUCCEEDED",
        JobState::Failed => "FAILED",
        JobState::None => "PENDING",
    };
    let mut v = Map::new();
    v.insert("location".into(), json!(j.location));
    v.insert("location_user".into(), json!(j.location_user));
    v.insert("type".into(), json!(j.job_type.as_str()));
    v.insert(
        "messages".into(),
        Value::Array(
            j.messages
                .iter()
                .map(|m| msg("backup.job", m))
                .map(|mut m| {
                    m["args"] = json!([]);
                    m
                })
                .collect(),
        ),
    );
    v.insert(
        "build".into(),
        json!({"version_name": "ferrocenter", "version": recovery::manifest::this_version(),
               "build_number": recovery::manifest::this_version()}),
    );
    v.insert(
        "description".into(),
        msg(
            "backup.job.description",
            &format!("Backup to {}", j.location),
        ),
    );
    v.insert("service".into(), json!(JOB));
    v.insert("operation".into(), json!("create"));
    v.insert("status".into(), json!(status));
    v.insert("cancelable".into(), json!(j.cancelable));
    if let Some(u) = Some(&j.location_user).filter(|u| !u.is_empty()) {
        v.insert("user".into(), json!(u));
    }
    if status != "PENDING" {
        v.insert("start_time".into(), json!(datetime(j.start_time)));
        let end = j.end_time.unwrap_or_else(time::OffsetDateTime::now_utc);
        v.insert(
            "duration".into(),
            json!((end - j.start_time).whole_seconds().max(0)),
        );
        v.insert("size".into(), json!(j.size.unwrap_or(0)));
        v.insert(
            "progress".into(),
            json!({"total": 100, "completed": j.progress,
                   "message": msg("backup.job.progress", j.messages.first().map_or("", String::as_str))}),
        );
    }
    if let Some(e) = j.end_time {
        if matches!(status, "SUCCEEDED" | "FAILED") {
            v.insert("end_time".into(), json!(datetime(e)));
        }
    }
    Value::Object(v)
}

fn archive_summary(a: &ArchiveInfo) -> Value {
    json!({"archive": a.archive, "timestamp": datetime(a.timestamp),
           "version": a.version, "comment": a.comment})
}

fn restore_status(s: &RestoreStatus) -> Value {
    let mut v = json!({
        "state": s.state,
        "messages": msgs("restore.job", &s.messages),
        "progress": s.progress,
    });
    if !s.parts.is_empty() {
        v["parts"] = json!(s.parts);
    }
    v
}

fn restore_metadata(m: &RestoreMetadata) -> Value {
    json!({
        "timestamp": datetime(m.timestamp),
        "parts": m.parts,
        "version": m.version,
        "boxname": m.boxname,
        "sso_login_required": false,
        "comment": m.comment,
        "applicable": m.applicable,
        "messages": msgs("restore", &m.messages),
    })
}

fn reconcile_info(i: &ReconcileInfo) -> Value {
    let mut v = json!({
        "description": msg("reconciliation", "Reconcile the inventory with the hosts' agents"),
        "service": RECONCILIATION_JOB,
        "operation": "create",
        "status": i.status.as_str(),
        "cancelable": false,
        "messages": Value::Array(i.messages.iter().chain(i.error.iter()).map(|m| msg("reconciliation", m)).collect()),
        "progress": i.progress,
    });
    if i.status != ReconcileStatus::None {
        if let Some(t) = i.start_time {
            v["start_time"] = json!(datetime(t));
        }
    }
    if matches!(
        i.status,
        ReconcileStatus::Succeeded | ReconcileStatus::Failed
    ) {
        if let Some(t) = i.end_time {
            v["end_time"] = json!(datetime(t));
        }
    }
    v
}

fn recovery_get(call: Call) -> Reply {
    Box::pin(async move {
        call.caller().await?;
        Ok(Out::Value(json!({"supported": true})))
    })
}

fn backup_validate(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let req = backup_request(&call)?;
        let r = call.state.core.backup_validate(&c, &req).await?;
        Ok(Out::Value(check_result(&r, "backup.validate")))
    })
}

fn job_create(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let req = backup_request(&call)?;
        let j = call.state.core.backup_job_create(&c, req).await?;
        Ok(Out::Value(backup_job_status(&j)))
    })
}

fn job_list(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let jobs = call.state.core.backup_job_list(&c).await?;
        Ok(Out::Value(json!(jobs
            .iter()
            .map(|j| j.id.clone())
            .collect::<Vec<_>>())))
    })
}

fn job_get(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let j = call.state.core.backup_job_get(&c, call.text("id")).await?;
        Ok(Out::Value(backup_job_status(&j)))
    })
}

fn job_cancel(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let r = call
            .state
            .core
            .backup_job_cancel(&c, call.text("id"))
            .await?;
        Ok(Out::Value(check_result(&r, "backup.job.cancel")))
    })
}

fn details_list(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let wanted: Option<Vec<String>> = call
            .get("filter")
            .and_then(|f| f.get("jobs"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            });
        let jobs = call.state.core.backup_job_list(&c).await?;
        let mut out = Map::new();
        for j in jobs
            .iter()
            .filter(|j| wanted.as_ref().is_none_or(|w| w.contains(&j.id)))
        {
            out.insert(j.id.clone(), details(j));
        }
        Ok(Out::Value(Value::Object(out)))
    })
}

fn part_value(id: PartId) -> Value {
    let i = id.info();
    json!({
        "id": id.as_str(),
        "name": json!({"id": format!("com.ferrocenter.recovery.part.{}", id.as_str()),
                       "default_message": i.name, "args": []}),
        "description": json!({"id": format!("com.ferrocenter.recovery.part.{}.description", id.as_str()),
                              "default_message": i.description, "args": []}),
        "selected_by_default": i.selected_by_default,
        "optional": i.optional,
    })
}

fn parts_list(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let ids = call.state.core.backup_parts(&c).await?;
        Ok(Out::Value(Value::Array(
            ids.into_iter().map(part_value).collect(),
        )))
    })
}

fn parts_get(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let kib = call
            .state
            .core
            .backup_part_size(&c, call.text("id"))
            .await?;
        Ok(Out::Value(json!(kib)))
    })
}

fn system_name_list(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let spec = call.get("loc_spec").cloned().unwrap_or_default();
        let loc = location(&spec, None)?;
        let names = call.state.core.backup_system_names(&c, &loc).await?;
        Ok(Out::Value(json!(names)))
    })
}

fn archive_filter(f: Option<&Value>) -> Result<ArchiveFilter, CoreError> {
    let Some(f) = f else {
        return Ok(ArchiveFilter::default());
    };
    let time = |k: &str| {
        text_of(f, k)
            .map(|s| parse_datetime(s, &format!("filter_spec.{k}")))
            .transpose()
    };
    Ok(ArchiveFilter {
        start_timestamp: time("start_timestamp")?,
        end_timestamp: time("end_timestamp")?,
        comment_substring: text_of(f, "comment_substring").map(String::from),
        max_results: f.get("max_results").and_then(Value::as_i64),
    })
}

fn archive_list(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let spec = call.get("loc_spec").cloned().unwrap_or_default();
        let loc = location(&spec, None)?;
        let filter = archive_filter(call.get("filter_spec"))?;
        let list = call
            .state
            .core
            .backup_archives(&c, &loc, call.text("system_name"), &filter)
            .await?;
        Ok(Out::Value(Value::Array(
            list.iter().map(archive_summary).collect(),
        )))
    })
}

fn archive_get(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let spec = call.get("spec").cloned().unwrap_or_default();
        let loc = location(&spec, None)?;
        let a = call
            .state
            .core
            .backup_archive_get(&c, &loc, call.text("system_name"), call.text("archive"))
            .await?;
        Ok(Out::Value(json!({
            "timestamp": datetime(a.timestamp),
            "location": a.location,
            "parts": a.parts,
            "version": a.version,
            "system_name": a.system_name,
            "comment": a.comment,
        })))
    })
}

fn restore_validate(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let req = restore_request(&call)?;
        let m = call.state.core.restore_validate(&c, &req).await?;
        Ok(Out::Value(restore_metadata(&m)))
    })
}

fn restore_create(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let req = restore_request(&call)?;
        let s = call.state.core.restore_job_create(&c, req).await?;
        Ok(Out::Value(restore_status(&s)))
    })
}

fn restore_get(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let s = call.state.core.restore_job_get(&c).await?;
        Ok(Out::Value(restore_status(&s)))
    })
}

fn restore_cancel(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let r = call.state.core.restore_job_cancel(&c).await?;
        Ok(Out::Value(check_result(&r, "restore.job.cancel")))
    })
}

fn reconciliation_create(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let ignore = call
            .get("spec")
            .and_then(|s| s.get("ignore_warnings"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let i = call.state.core.reconciliation_create(&c, ignore).await?;
        Ok(Out::Value(reconcile_info(&i)))
    })
}

fn reconciliation_get(call: Call) -> Reply {
    Box::pin(async move {
        let c = call.caller().await?;
        let i = call.state.core.reconciliation_get(&c).await?;
        Ok(Out::Value(reconcile_info(&i)))
    })
}
