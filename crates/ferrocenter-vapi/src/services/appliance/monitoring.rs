//! `com.vmware.appliance.monitoring` (list, get, query): the appliance's statistics over the
//! core's `appliance::monitoring`, which holds the item catalogue, the query's alignment and
//! roll-up rules, and names the bad field.
use ferrocenter_core::appliance::monitoring::{DataRequest, Item, ItemData};
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use crate::registry::{http, op, Call, Op, Out, Reply};
use crate::types::{field, parse_datetime, StructDef, Ty};
use crate::wire::datetime;

const SERVICE: &str = "com.vmware.appliance.monitoring";

const INTERVAL: Ty = Ty::Enum(&["MINUTES30", "HOURS2", "MINUTES5", "DAY1", "HOURS6"]);
const FUNCTION: Ty = Ty::Enum(&["COUNT", "MAX", "AVG", "MIN"]);

const DATA_REQUEST: StructDef = StructDef {
    name: "com.vmware.appliance.monitoring.monitored_item_data_request",
    fields: &[
        // A list in a query string cannot say it is empty: an absent `names` is no names (the
        // SDK always sends the list, which an optional takes as it is).
        field("names", Ty::Optional(&Ty::List(&Ty::Id))),
        field("interval", INTERVAL),
        field("function", FUNCTION),
        field("start_time", Ty::DateTime),
        field("end_time", Ty::DateTime),
    ],
};

const ITEM_DATA: StructDef = StructDef {
    name: "com.vmware.appliance.monitoring.monitored_item_data",
    fields: &[
        field("name", Ty::Id),
        field("interval", INTERVAL),
        field("function", FUNCTION),
        field("start_time", Ty::DateTime),
        field("end_time", Ty::DateTime),
        field("data", Ty::List(&Ty::String)),
    ],
};

const MONITORED_ITEM: StructDef = StructDef {
    name: "com.vmware.appliance.monitoring.monitored_item",
    fields: &[
        field("id", Ty::Id),
        field("name", Ty::String),
        field("units", Ty::String),
        field("category", Ty::String),
        field("instance", Ty::String),
        field("description", Ty::String),
    ],
};

pub const OPS: &[Op] = &[
    op(
        SERVICE,
        "query",
        &[field("item", Ty::Struct(&DATA_REQUEST))],
        Ty::List(&Ty::Struct(&ITEM_DATA)),
        &[http("GET", "/appliance/monitoring/query")],
        query,
    ),
    op(
        SERVICE,
        "list",
        &[],
        Ty::List(&Ty::Struct(&MONITORED_ITEM)),
        &[http("GET", "/appliance/monitoring")],
        list,
    ),
    op(
        SERVICE,
        "get",
        &[field("stat_id", Ty::Id)],
        Ty::Struct(&MONITORED_ITEM),
        &[http("GET", "/appliance/monitoring/{stat_id}")],
        get,
    ),
];

fn item(i: Item) -> Value {
    json!({
        "id": i.id,
        "name": i.name,
        "units": i.units,
        "category": i.category,
        "instance": i.instance,
        "description": i.description,
    })
}

fn item_data(d: ItemData) -> Value {
    json!({
        "name": d.name,
        "interval": d.interval.as_str(),
        "function": d.function.as_str(),
        "start_time": datetime(d.start_time),
        "end_time": datetime(d.end_time),
        "data": d.data,
    })
}

/// The decoded `item` (types already checked by the registry) as the core takes it.
fn request(call: &Call) -> Result<DataRequest, CoreError> {
    let r = call.get("item").cloned().unwrap_or_default();
    let text = |k: &str| {
        r.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let when = |k: &str| parse_datetime(&text(k), &format!("item.{k}"));
    Ok(DataRequest {
        names: r
            .get("names")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|n| n.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default(),
        interval: text("interval"),
        function: text("function"),
        start_time: when("start_time")?,
        end_time: when("end_time")?,
    })
}

fn query(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let req = request(&call)?;
        let data = call.state.core.monitoring_query(&caller, &req).await?;
        Ok(Out::Value(Value::Array(
            data.into_iter().map(item_data).collect(),
        )))
    })
}

fn list(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let items = call.state.core.monitoring_list(&caller).await?;
        Ok(Out::Value(Value::Array(
            items.into_iter().map(item).collect(),
        )))
    })
}

fn get(call: Call) -> Reply {
    Box::pin(async move {
        let caller = call.caller().await?;
        let i = call
            .state
            .core
            .monitoring_get(&caller, call.text("stat_id"))
            .await?;
        Ok(Out::Value(item(i)))
    })
}
