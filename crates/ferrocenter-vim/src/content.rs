//! ServiceInstance's `content`: where a client finds every other service.
use serde_json::{json, Value};

use super::faults::{moref, VimFault};
use super::render::API_VERSION;
use super::session_objects::DEFAULT_COLLECTOR;
use super::state::VimState;

pub async fn service_content(state: &VimState) -> Result<Value, VimFault> {
    let uuid = state.core.server_uuid().await?;
    Ok(json!({
        "_typeName": "ServiceContent",
        "rootFolder": moref("Folder", "group-d1"),
        "propertyCollector": moref("PropertyCollector", DEFAULT_COLLECTOR),
        "viewManager": moref("ViewManager", "ViewManager"),
        "about": {
            "_typeName": "AboutInfo",
            "name": "ferrocenter",
            "fullName": format!("ferrocenter {} (VI/JSON {API_VERSION})", env!("CARGO_PKG_VERSION")),
            "vendor": "ferrocenter project",
            "version": API_VERSION.rsplit_once('.').map(|(v, _)| v).unwrap_or(API_VERSION),
            "build": env!("CARGO_PKG_VERSION"),
            "osType": "linux-x64",
            "productLineId": "vpx",
            "apiType": "VirtualCenter",
            "apiVersion": API_VERSION,
            "instanceUuid": uuid,
            "licenseProductName": "ferrocenter",
            "licenseProductVersion": env!("CARGO_PKG_VERSION"),
        },
        "sessionManager": moref("SessionManager", "SessionManager"),
        "taskManager": moref("TaskManager", "TaskManager"),
        "eventManager": moref("EventManager", "EventManager"),
        "customFieldsManager": moref("CustomFieldsManager", "CustomFieldsManager"),
        "alarmManager": moref("AlarmManager", "AlarmManager"),
    }))
}
