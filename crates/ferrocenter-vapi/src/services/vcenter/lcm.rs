//! `com.vmware.vcenter.lcm` (update planning, seeds/003 chapter 8): the product catalog, the
//! associated products, interoperability reports (`create$task`) and the reports' download
//! locations, over the core's `lcm`. The guide's curl lines send shapes the SDK does not — a
//! `{"spec": …}` wrapper on `/api`, `name` for `product_name`, `/discovery/products/{id}` —
//! which are declared here as documented aliases (`body_alias`, second `/api` bindings).
//! `update.pending` (list, get) and `update.precheck_report` (`create$task`) show the
//! appliance update service's last check through the core's `lcm::pending`.
use ferrocenter_core::download_token::RequestOrigin;
use ferrocenter_core::lcm::{
    interop::{InteropOutcome, Issue},
    AssociatedProduct, CreateSpec, PendingUpdate, PrecheckOutcome, UpdateSpec,
};
use ferrocenter_core::tasks::{Task, TaskKind, TaskResult};
use serde_json::{json, Value};

use crate::registry::{http, op, BodyAlias, Call, Http, Op, Out, Reply, TaskVariant};
use crate::rules::Rule;
use crate::services::appliance::deployment::notifications as notifications_of;
use crate::services::std_types::LOCALIZABLE_MESSAGE;
use crate::types::{field, StructDef, Ty};
use crate::wire::{datetime, loc_msg};

const CATALOG: &str = "com.vmware.vcenter.lcm.discovery.product_catalog";
const PRODUCTS: &str = "com.vmware.vcenter.lcm.discovery.associated_products";
const INTEROP: &str = "com.vmware.vcenter.lcm.discovery.interop_report";
const REPORTS: &str = "com.vmware.vcenter.lcm.reports";
const PENDING: &str = "com.vmware.vcenter.lcm.update.pending";
const PRECHECK: &str = "com.vmware.vcenter.lcm.update.precheck_report";

const PRODUCTS_PATH: &str = "/vcenter/lcm/discovery/associated-products";
const PRODUCT_PATH: &str = "/vcenter/lcm/discovery/associated-products/{product}";
/// The guide's spelling of a product's path.
const PRODUCT_ALIAS_PATH: &str = "/vcenter/lcm/discovery/products/{product}";
const INTEROP_PATH: &str = "/vcenter/lcm/discovery/interop-report";
const PRECHECK_PATH: &str = "/vcenter/lcm/update/pending/{version}/precheck-report";

const SEVERITY: &[&str] = &["CRITICAL", "IMPORTANT", "MODERATE", "LOW"];
const UPDATE_TYPE: &[&str] = &["PATCH", "UPDATE", "UPGRADE"];
const CATEGORY: &[&str] = &["SECURITY", "FIX", "UPDATE", "UPGRADE"];

/// The fields `pending.summary` and `pending.info` share, after `info`'s `description`.
macro_rules! pending_fields {
    ($($first:expr),*) => {
        &[
            $($first,)*
            field("pending_update", Ty::Id),
            field("version", Ty::String),
            field("release_date", Ty::DateTime),
            field("severity", Ty::Enum(SEVERITY)),
            field("build", Ty::String),
            field("update_type", Ty::Enum(UPDATE_TYPE)),
            field("category", Ty::Enum(CATEGORY)),
            field("reboot_required", Ty::Bool),
            field("quick_patch", Ty::Optional(&Ty::Bool)),
            field("workload_management_impact", Ty::Optional(&Ty::Bool)),
            field("execute_URL", Ty::String),
            field("release_notes", Ty::List(&Ty::String)),
        ]
    };
}

const PENDING_SUMMARY: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.update.pending.summary",
    fields: pending_fields!(),
};

const PENDING_INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.update.pending.info",
    fields: pending_fields!(field("description", Ty::String)),
};

const PENDING_LIST: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.update.pending.list_result",
    fields: &[
        field("last_check_time", Ty::DateTime),
        field("update_count", Ty::Optional(&Ty::Long)),
        field("upgrade_count", Ty::Optional(&Ty::Long)),
        field("updates", Ty::List(&Ty::Struct(&PENDING_SUMMARY))),
        field("issues", Ty::Optional(&Ty::Struct(&NOTIFICATIONS))),
    ],
};

const PRECHECK_SUMMARY: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.update.precheck_report.report_summary",
    fields: &[
        field("error_count", Ty::Long),
        field("warning_count", Ty::Long),
    ],
};

const PRECHECK_REPORT: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.update.precheck_report.report",
    fields: &[
        field("date_created", Ty::DateTime),
        field("estimated_time_to_update", Ty::Optional(&Ty::Long)),
        field("issues", Ty::Optional(&Ty::Struct(&NOTIFICATIONS))),
        field("summary", Ty::Struct(&PRECHECK_SUMMARY)),
    ],
};

const PRECHECK_RESULT: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.update.precheck_report.result",
    fields: &[
        field("report", Ty::Struct(&PRECHECK_REPORT)),
        field("csv_report", Ty::Optional(&Ty::Id)),
    ],
};

const PRODUCT: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.discovery.product",
    fields: &[
        field("installed_product", Ty::Id),
        field("name", Ty::String),
        field("version", Ty::String),
        field("target_version", Ty::Optional(&Ty::String)),
        field("deployments", Ty::Optional(&Ty::List(&Ty::String))),
        field("auto", Ty::Bool),
    ],
};

const CREATE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.discovery.associated_products.create_spec",
    fields: &[
        field("product_name", Ty::Rule(Rule::LcmProductName)),
        field("version", Ty::Rule(Rule::LcmVersion)),
        field("deployments", Ty::Optional(&Ty::Rule(Rule::LcmDeployments))),
    ],
};

const UPDATE_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.discovery.associated_products.update_spec",
    fields: &[field(
        "deployments",
        Ty::Optional(&Ty::Rule(Rule::LcmDeployments)),
    )],
};

const CATALOG_SUMMARY: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.discovery.product_catalog.summary",
    fields: &[
        field("name", Ty::String),
        field("versions", Ty::List(&Ty::String)),
    ],
};

const INTEROP_SPEC: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.discovery.interop_report.spec",
    fields: &[field("target_version", Ty::Rule(Rule::LcmVersion))],
};

const NOTIFICATION: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.notification",
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

const NOTIFICATION_LIST: Ty = Ty::Optional(&Ty::List(&Ty::Struct(&NOTIFICATION)));

const NOTIFICATIONS: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.notifications",
    fields: &[
        field("info", NOTIFICATION_LIST),
        field("warnings", NOTIFICATION_LIST),
        field("errors", NOTIFICATION_LIST),
    ],
};

const RELEASE_INFO: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.discovery.interop_report.release_info",
    fields: &[
        field("version", Ty::String),
        field("note", Ty::Optional(&Ty::String)),
    ],
};

const REPORT_ROW: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.discovery.interop_report.report_row",
    fields: &[
        field("product", Ty::Struct(&PRODUCT)),
        field("compatible", Ty::Bool),
        field("compatible_releases", Ty::List(&Ty::Struct(&RELEASE_INFO))),
    ],
};

const REPORT_SUMMARY: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.discovery.interop_report.report_summary",
    fields: &[
        field("compatible_count", Ty::Long),
        field("incompatible_count", Ty::Long),
    ],
};

const REPORT: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.discovery.interop_report.report",
    fields: &[
        field("date_created", Ty::DateTime),
        field("target_product", Ty::Struct(&PRODUCT)),
        field("products", Ty::List(&Ty::Struct(&REPORT_ROW))),
        field("issues", Ty::Optional(&Ty::Struct(&NOTIFICATIONS))),
        field("summary", Ty::Struct(&REPORT_SUMMARY)),
    ],
};

const INTEROP_RESULT: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.discovery.interop_report.result",
    fields: &[
        field("report", Ty::Struct(&REPORT)),
        field("csv_report", Ty::Optional(&Ty::Id)),
    ],
};

const TOKEN: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.reports.token",
    fields: &[field("token", Ty::String), field("expiry", Ty::DateTime)],
};

const LOCATION: StructDef = StructDef {
    name: "com.vmware.vcenter.lcm.reports.location",
    fields: &[
        field("uri", Ty::String),
        field("download_file_token", Ty::Struct(&TOKEN)),
    ],
};

/// The SDK's binding of an operation whose body is its `spec`.
const fn with_spec(method: &'static str, path: &'static str) -> Http {
    Http {
        method,
        path,
        action: None,
        body: Some("spec"),
    }
}

/// The guide's `{"spec": …}` wrapper on `/api`, and its `name` for `product_name`.
const CREATE_ALIASES: &[BodyAlias] = &[
    BodyAlias::Wrapped,
    BodyAlias::Field {
        param: "spec",
        alias: "name",
        field: "product_name",
    },
];
const WRAPPED: &[BodyAlias] = &[BodyAlias::Wrapped];

pub const OPS: &[Op] = &[
    op(
        CATALOG,
        "list",
        &[],
        Ty::List(&Ty::Struct(&CATALOG_SUMMARY)),
        &[http("GET", "/vcenter/lcm/discovery/product-catalog")],
        catalog_list,
    ),
    op(
        PRODUCTS,
        "list",
        &[],
        Ty::List(&Ty::Struct(&PRODUCT)),
        &[http("GET", PRODUCTS_PATH)],
        products_list,
    ),
    Op {
        rest: Some(&[http("POST", PRODUCTS_PATH)]),
        body_alias: CREATE_ALIASES,
        ..op(
            PRODUCTS,
            "create",
            &[field("spec", Ty::Struct(&CREATE_SPEC))],
            Ty::Id,
            &[with_spec("POST", PRODUCTS_PATH)],
            product_create,
        )
    },
    op(
        PRODUCTS,
        "get",
        &[field("product", Ty::Id)],
        Ty::Struct(&PRODUCT),
        &[http("GET", PRODUCT_PATH), http("GET", PRODUCT_ALIAS_PATH)],
        product_get,
    ),
    Op {
        rest: Some(&[http("PATCH", PRODUCT_PATH)]),
        body_alias: WRAPPED,
        ..op(
            PRODUCTS,
            "update",
            &[
                field("product", Ty::Id),
                field("spec", Ty::Struct(&UPDATE_SPEC)),
            ],
            Ty::Void,
            &[with_spec("PATCH", PRODUCT_PATH)],
            product_update,
        )
    },
    op(
        PRODUCTS,
        "delete",
        &[field("product", Ty::Id)],
        Ty::Void,
        &[
            http("DELETE", PRODUCT_PATH),
            http("DELETE", PRODUCT_ALIAS_PATH),
        ],
        product_delete,
    ),
    Op {
        task: TaskVariant::Also,
        task_kind: Some(TaskKind::LcmInteropReport),
        result: interop_result,
        rest: Some(&[http("POST", INTEROP_PATH)]),
        body_alias: WRAPPED,
        ..op(
            INTEROP,
            "create",
            &[field("spec", Ty::Optional(&Ty::Struct(&INTEROP_SPEC)))],
            Ty::Struct(&INTEROP_RESULT),
            &[with_spec("POST", INTEROP_PATH)],
            interop_create,
        )
    },
    op(
        PENDING,
        "list",
        &[],
        Ty::Struct(&PENDING_LIST),
        &[http("GET", "/vcenter/lcm/update/pending")],
        pending_list,
    ),
    op(
        PENDING,
        "get",
        &[field("version", Ty::Id)],
        Ty::Struct(&PENDING_INFO),
        &[http("GET", "/vcenter/lcm/update/pending/{version}")],
        pending_get,
    ),
    Op {
        task: TaskVariant::Also,
        task_kind: Some(TaskKind::LcmPrecheckReport),
        result: precheck_result,
        ..op(
            PRECHECK,
            "create",
            &[field("version", Ty::Id)],
            Ty::Struct(&PRECHECK_RESULT),
            &[http("POST", PRECHECK_PATH)],
            precheck_create,
        )
    },
    op(
        REPORTS,
        "get",
        &[field("report", Ty::Id)],
        Ty::Struct(&LOCATION),
        &[http("GET", "/vcenter/lcm/reports/{report}")],
        report_get,
    ),
];

fn text_list(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    })
}

fn product(p: &AssociatedProduct) -> Value {
    let mut v = json!({
        "installed_product": p.installed_product,
        "name": p.name,
        "version": p.version,
        "deployments": p.deployments,
        "auto": p.auto,
    });
    if let Some(t) = &p.target_version {
        v["target_version"] = json!(t);
    }
    v
}

fn catalog_list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let c = call.state.core.lcm_product_catalog(&caller).await?;
        Ok(Out::Value(Value::Array(
            c.iter()
                .map(|(name, versions)| json!({"name": name, "versions": versions}))
                .collect(),
        )))
    })
}

fn products_list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let all = call.state.core.lcm_products_list(&caller).await?;
        Ok(Out::Value(Value::Array(all.iter().map(product).collect())))
    })
}

fn product_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let p = call
            .state
            .core
            .lcm_product_get(&caller, call.text("product"))
            .await?;
        Ok(Out::Value(product(&p)))
    })
}

fn product_create(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let spec = call.get("spec").cloned().unwrap_or_default();
        let text = |k: &str| spec[k].as_str().unwrap_or_default().to_string();
        let id = call
            .state
            .core
            .lcm_product_create(
                &caller,
                CreateSpec {
                    product_name: text("product_name"),
                    version: text("version"),
                    deployments: text_list(spec.get("deployments")),
                },
            )
            .await?;
        Ok(Out::Value(json!(id)))
    })
}

fn product_update(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let spec = call.get("spec").cloned().unwrap_or_default();
        call.state
            .core
            .lcm_product_update(
                &caller,
                call.text("product"),
                UpdateSpec {
                    deployments: text_list(spec.get("deployments")),
                },
            )
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn product_delete(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        call.state
            .core
            .lcm_product_delete(&caller, call.text("product"))
            .await?;
        Ok(Out::Value(Value::Null))
    })
}

fn interop_create(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let target = call
            .get("spec")
            .and_then(|s| s.get("target_version"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let t = call
            .state
            .core
            .lcm_interop_report_create(&caller, target)
            .await?;
        Ok(Out::task(t))
    })
}

fn notifications(issues: &[Issue]) -> Value {
    Value::Array(
        issues
            .iter()
            .map(|i| json!({"id": i.id, "message": loc_msg(&i.id, &i.message, &[])}))
            .collect(),
    )
}

fn render_interop(o: &InteropOutcome) -> Value {
    let r = &o.report;
    let mut v = json!({
        "report": {
            "date_created": datetime(ferrocenter_core::from_millis(r.date_created_ms)),
            "target_product": product(&r.target_product),
            "products": r.products.iter().map(|row| json!({
                "product": product(&row.product),
                "compatible": row.compatible,
                "compatible_releases": row.compatible_releases.iter().map(|c| {
                    let mut rel = json!({"version": c.version});
                    if let Some(n) = &c.note {
                        rel["note"] = json!(n);
                    }
                    rel
                }).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "issues": {
                "info": notifications(&r.issues.info),
                "warnings": notifications(&r.issues.warnings),
                "errors": notifications(&r.issues.errors),
            },
            "summary": {
                "compatible_count": r.compatible_count,
                "incompatible_count": r.incompatible_count,
            },
        },
    });
    if let Some(id) = &o.csv_report {
        v["csv_report"] = json!(id);
    }
    v
}

fn interop_result(t: &Task) -> Value {
    match &t.result {
        Some(TaskResult::LcmInteropReport { interop_report }) => render_interop(interop_report),
        _ => Value::Null,
    }
}

/// The listener and address a call came in on, which the URLs answered are built on.
fn origin(call: &Call) -> RequestOrigin {
    RequestOrigin {
        listener: call.state.listener,
        scheme: "https",
        authority: call.host.clone().unwrap_or_default(),
    }
}

fn pending(u: &PendingUpdate, info: bool) -> Value {
    let m = &u.manifest;
    let mut v = json!({
        "pending_update": m.version,
        "version": m.version,
        "release_date": datetime(m.release_date),
        "severity": m.severity.as_str(),
        "build": m.build,
        "update_type": u.release_type.as_str(),
        "category": m.update_type.as_str(),
        "reboot_required": m.reboot_required,
        "execute_URL": u.execute_url,
        "release_notes": u.release_notes,
    });
    if info {
        v["description"] = json!(m.description);
    }
    v
}

fn pending_list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let l = call
            .state
            .core
            .lcm_pending_list(&caller, &origin(&call))
            .await?;
        let mut v = json!({
            "last_check_time": datetime(l.last_check_time),
            "update_count": l.update_count,
            "upgrade_count": l.upgrade_count,
            "updates": l.updates.iter().map(|u| pending(u, false)).collect::<Vec<_>>(),
        });
        if !l.issues.is_empty() {
            v["issues"] = notifications_of(&l.issues);
        }
        Ok(Out::Value(v))
    })
}

fn pending_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let u = call
            .state
            .core
            .lcm_pending_get(&caller, call.text("version"), &origin(&call))
            .await?;
        Ok(Out::Value(pending(&u, true)))
    })
}

fn precheck_create(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let t = call
            .state
            .core
            .lcm_precheck_report_create(&caller, call.text("version"))
            .await?;
        Ok(Out::task(t))
    })
}

fn render_precheck(o: &PrecheckOutcome) -> Value {
    let r = &o.report;
    let mut report = json!({
        "date_created": datetime(ferrocenter_core::from_millis(r.date_created_ms)),
        "summary": {
            "error_count": r.issues.errors.len(),
            "warning_count": r.issues.warnings.len(),
        },
    });
    if let Some(m) = r.estimated_minutes {
        report["estimated_time_to_update"] = json!(m);
    }
    if !r.issues.is_empty() {
        report["issues"] = notifications_of(&r.issues);
    }
    let mut v = json!({ "report": report });
    if let Some(id) = &o.csv_report {
        v["csv_report"] = json!(id);
    }
    v
}

fn precheck_result(t: &Task) -> Value {
    match &t.result {
        Some(TaskResult::LcmPrecheckReport { precheck_report }) => render_precheck(precheck_report),
        _ => Value::Null,
    }
}

fn report_get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let origin = origin(&call);
        let l = call
            .state
            .core
            .lcm_report_get(&caller, call.text("report"), &origin)
            .await?;
        Ok(Out::Value(json!({
            "uri": l.uri,
            "download_file_token": {"token": l.token, "expiry": datetime(l.expiry)},
        })))
    })
}
