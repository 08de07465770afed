//! `com.vmware.vcenter.host`: list, create (standalone, with thumbprint or certificate
//! verification), delete, connect, disconnect.
use ferrocenter_core::hosts::{
    certificate_thumbprint, AddHostSpec, IfAlready, ReconnectSpec, RemoveMode,
};

use ferrocenter_core::inventory::query::{HostField, ListQuery};
use ferrocenter_core::inventory::{ConnectionState, FolderKind, Host};
use ferrocenter_core::ports::MoidKind;
use ferrocenter_core::tasks::{Task, TaskKind, TaskResult};
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use super::ids::{self as ids, admits, one_of, set};
use crate::registry::{http, op, Call, Op, Out, Reply};
use crate::rules::Rule;
use crate::types::{field, StructDef, Ty, Union};

const CONNECTION_STATES: &[&str] = &["CONNECTED", "DISCONNECTED", "NOT_RESPONDING"];
const POWER_STATES: &[&str] = &["POWERED_ON", "POWERED_OFF", "STANDBY"];
const VERIFICATIONS: &[&str] = &["NONE", "THUMBPRINT", "CERTIFICATE"];

const CREATE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.host.create_spec",
    fields: &[
        field("hostname", Ty::Rule(Rule::HostName)),
        field("port", Ty::Optional(&Ty::Rule(Rule::Port))),
        field("user_name", Ty::Rule(Rule::UserName)),
        field("password", Ty::Rule(Rule::Password)),
        field("folder", Ty::Optional(&Ty::Id)),
        field("thumbprint_verification", Ty::Enum(VERIFICATIONS)),
        field("thumbprint", Ty::Optional(&Ty::Rule(Rule::Thumbprint))),
        field("ssl_certificate", Ty::Optional(&Ty::String)),
        field("force_add", Ty::Optional(&Ty::Bool)),
    ],
};

const FILTER_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.host.filter_spec",
    fields: &[
        field("hosts", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("names", Ty::Optional(&Ty::Set(&Ty::String))),
        field("folders", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("datacenters", Ty::Optional(&Ty::Set(&Ty::Id))),
        field("standalone", Ty::Optional(&Ty::Bool)),
        field("clusters", Ty::Optional(&Ty::Set(&Ty::Id))),
        field(
            "connection_states",
            Ty::Optional(&Ty::Set(&Ty::Enum(CONNECTION_STATES))),
        ),
        field("host_uuids", Ty::Optional(&Ty::Set(&Ty::String))),
    ],
};

const SUMMARY: StructDef = StructDef {
    name: "com.vmware.vcenter.host.summary",
    fields: &[
        field("host", Ty::Id),
        field("name", Ty::String),
        field("connection_state", Ty::Enum(CONNECTION_STATES)),
        field("power_state", Ty::Optional(&Ty::Enum(POWER_STATES))),
        field("host_uuid", Ty::Optional(&Ty::String)),
    ],
};

/// Reference §10's union on `thumbprint_verification` (the SDK leaves `ssl_certificate`
/// optional with CERTIFICATE; ferrocenter pins the certificate given, so it needs one). Checked
/// on the input before the operation, and stated in the OpenAPI document.
pub const CREATE_SPEC_UNION: Union = Union {
    structure: "com.vmware.vcenter.host.create_spec",
    discriminant: "thumbprint_verification",
    cases: &[
        ("THUMBPRINT", &[("thumbprint", true)]),
        ("CERTIFICATE", &[("ssl_certificate", true)]),
        ("NONE", &[]),
    ],
};

pub const SUMMARY_UNION: Union = Union {
    structure: "com.vmware.vcenter.host.summary",
    discriminant: "connection_state",
    cases: &[
        ("CONNECTED", &[("power_state", true)]),
        ("DISCONNECTED", &[]),
        ("NOT_RESPONDING", &[]),
    ],
};

const SERVICE: &str = "com.vmware.vcenter.host";
const HOST: &[crate::types::Field] = &[field("host", Ty::Id)];

pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "list",
        &[field("filter", Ty::Optional(&Ty::Struct(&FILTER_SPEC)))],
        Ty::List(&Ty::Struct(&SUMMARY)),
        &[http("GET", "/vcenter/host")],
        list,
    ),
    Op {
        task_kind: Some(TaskKind::HostAddStandalone),
        result: created_host,
        ..op(
            SERVICE,
            "create",
            &[field("spec", Ty::Struct(&CREATE_SPEC))],
            Ty::Id,
            &[http("POST", "/vcenter/host")],
            create,
        )
    },
    Op {
        task_kind: Some(TaskKind::HostRemove),
        ..op(
            SERVICE,
            "delete",
            HOST,
            Ty::Void,
            &[http("DELETE", "/vcenter/host/{host}")],
            delete,
        )
    },
    Op {
        task_kind: Some(TaskKind::HostReconnect),
        ..op(
            SERVICE,
            "connect",
            HOST,
            Ty::Void,
            &[http("POST", "/vcenter/host/{host}/connect")],
            connect,
        )
    },
    Op {
        task_kind: Some(TaskKind::HostDisconnect),
        ..op(
            SERVICE,
            "disconnect",
            HOST,
            Ty::Void,
            &[http("POST", "/vcenter/host/{host}/disconnect")],
            disconnect,
        )
    },
];

fn connection_state(h: &Host) -> &'static str {
    match h.connection_state {
        ConnectionState::Connected => "CONNECTED",
        ConnectionState::NotResponding => "NOT_RESPONDING",
        // An add or reconnect in progress is not connected yet.
        ConnectionState::Connecting | ConnectionState::Disconnected => "DISCONNECTED",
    }
}

fn host_uuid(h: &Host) -> Option<String> {
    h.facts.as_deref().map(|f| f.hardware.bios_uuid.clone())
}

/// `host.summary`: `power_state` only when connected (the union rule on connection_state).
fn summary(h: &Host) -> Value {
    let state = connection_state(h);
    let mut v = json!({"host": h.moid, "name": h.name, "connection_state": state});
    if state == "CONNECTED" {
        v["power_state"] = json!(match h.power_state.as_str() {
            "poweredOff" => "POWERED_OFF",
            "standBy" => "STANDBY",
            _ => "POWERED_ON",
        });
    }
    if let Some(u) = host_uuid(h) {
        v["host_uuid"] = json!(u);
    }
    v
}

fn list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let core = &call.state.core;
        let f = call.get("filter");
        let (hosts, names, folders, dcs, clusters, states, uuids) = (
            set(f, "hosts"),
            set(f, "names"),
            set(f, "folders"),
            set(f, "datacenters"),
            set(f, "clusters"),
            set(f, "connection_states"),
            set(f, "host_uuids"),
        );
        // An empty set matches nothing (vAPI), and `In` needs at least one value.
        if [&hosts, &names, &dcs, &clusters]
            .iter()
            .any(|s| s.as_ref().is_some_and(Vec::is_empty))
        {
            return Ok(Out::Value(Value::Array(Vec::new())));
        }
        let standalone = f.and_then(|f| f.get("standalone")).and_then(Value::as_bool);
        // The selective filters go to the store.
        let dc_ids = ids::ids_of(&call, &caller, MoidKind::Datacenter, &dcs).await?;
        let cluster_ids = ids::ids_of(&call, &caller, MoidKind::Cluster, &clusters).await?;
        let mut q = ListQuery::<HostField> {
            limit: u32::MAX,
            ..Default::default()
        };
        for c in [
            one_of(HostField::Moid, &hosts),
            one_of(HostField::Name, &names),
            one_of(HostField::DatacenterId, &dc_ids),
            one_of(HostField::ClusterId, &cluster_ids),
        ]
        .into_iter()
        .flatten()
        {
            q.conditions.push(c?);
        }
        let mut out = Vec::new();
        for h in core.query_hosts(&caller, &q).await?.rows {
            let host_folder = match &folders {
                Some(_) => core
                    .datacenter_folder(&h.datacenter_id, FolderKind::Host)
                    .await
                    .map(|f| f.moid)
                    .unwrap_or_default(),
                None => String::new(),
            };
            let ok = admits(&folders, &host_folder)
                && admits(&states, connection_state(&h))
                && standalone.is_none_or(|s| s == h.cluster_id.is_none())
                && uuids
                    .as_ref()
                    .is_none_or(|s| host_uuid(&h).is_some_and(|u| s.contains(&u)));
            if ok {
                out.push(summary(&h));
            }
        }
        Ok(Out::Value(Value::Array(out)))
    })
}

fn created_host(t: &Task) -> Value {
    t.result
        .as_ref()
        .and_then(TaskResult::added_host_moid)
        .map_or(Value::Null, Value::from)
}

/// The datacenter a new host goes to (the core's rule), from the spec's folder.
async fn target_datacenter(
    call: &Call,
    caller: &ferrocenter_core::auth::Caller,
    folder: Option<&str>,
) -> Result<String, CoreError> {
    let resolved = match folder {
        Some(f) => Some((f, ids::folder(call, caller, f).await?)),
        None => None,
    };
    call.state
        .core
        .datacenter_for_new_host(
            caller,
            "spec.folder",
            resolved.as_ref().map(|(f, folder)| (*f, folder)),
        )
        .await
}

/// The core names an add's fields as vim's HostConnectSpec does; a vAPI caller sent the create
/// spec's.
const SPEC_FIELDS: &[(&str, &str)] = &[
    ("hostName", "spec.hostname"),
    ("port", "spec.port"),
    ("userName", "spec.user_name"),
    ("password", "spec.password"),
    ("sslThumbprint", "spec.thumbprint"),
];

fn spec_field(e: CoreError) -> CoreError {
    match e {
        CoreError::InvalidArgument { field, reason } => {
            let field = SPEC_FIELDS
                .iter()
                .find(|(core, _)| *core == field)
                .map_or(field, |(_, vapi)| (*vapi).to_string());
            CoreError::InvalidArgument { field, reason }
        }
        e => e,
    }
}

fn create(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let spec = call.get("spec").cloned().unwrap_or_default();
        let text = |k: &str| spec.get(k).and_then(Value::as_str).map(String::from);
        let port = match spec.get("port").and_then(Value::as_i64) {
            Some(p) => Some(ferrocenter_core::validate::port("spec.port", p)?),
            None => None,
        };
        let mut add = AddHostSpec {
            datacenter_id: Some(
                target_datacenter(&call, &caller, text("folder").as_deref()).await?,
            ),
            host_name: text("hostname").unwrap_or_default(),
            port,
            user_name: text("user_name").unwrap_or_default(),
            password: text("password").unwrap_or_default(),
            force: spec
                .get("force_add")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            ..Default::default()
        };
        // CREATE_SPEC_UNION, checked before this handler, made the case's field present.
        match text("thumbprint_verification").as_deref() {
            Some("THUMBPRINT") => add.ssl_thumbprint = text("thumbprint"),
            Some("CERTIFICATE") => {
                let pem = text("ssl_certificate").unwrap_or_default();
                add.ssl_thumbprint = Some(certificate_thumbprint("spec.ssl_certificate", &pem)?);
            }
            // NONE: the caller chose not to verify; the certificate met is pinned.
            _ => add.trust_first_certificate = true,
        }
        let task = call.state.core.add_host(&caller, add).await;
        Ok(Out::task(task.map_err(spec_field)?))
    })
}

fn delete(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let h = ids::host(&call, &caller, call.text("host")).await?;
        Ok(Out::task(
            call.state
                .core
                .remove_host(&caller, &h.id, RemoveMode::Permissive)
                .await?,
        ))
    })
}

fn connect(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let h = ids::host(&call, &caller, call.text("host")).await?;
        let spec = ReconnectSpec {
            if_connected: IfAlready::Refuse,
            ..Default::default()
        };
        Ok(Out::task(
            call.state.core.reconnect_host(&caller, &h.id, spec).await?,
        ))
    })
}

fn disconnect(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let h = ids::host(&call, &caller, call.text("host")).await?;
        Ok(Out::task(
            call.state
                .core
                .disconnect_host(&caller, &h.id, IfAlready::Refuse)
                .await?,
        ))
    })
}
