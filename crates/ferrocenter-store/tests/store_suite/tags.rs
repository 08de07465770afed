//! Custom fields and hosts' named values.
use std::sync::Arc;

use ferrocenter_core::inventory::CustomField;
use ferrocenter_core::ports::Store;

use crate::fixtures::{datacenter, host};
use crate::Case;

pub(crate) const CASES: &[(&str, Case)] = crate::cases![custom_fields_and_host_values];

async fn custom_fields_and_host_values(s: Arc<dyn Store>) {
    let f = s
        .ensure_custom_field("owner", "HostSystem", 7)
        .await
        .unwrap();
    assert_eq!(
        f,
        CustomField {
            key: 7,
            name: "owner".into(),
            mo_type: "HostSystem".into()
        }
    );
    // An existing name keeps its key.
    assert_eq!(s.ensure_custom_field("owner", "", 8).await.unwrap(), f);
    s.ensure_custom_field("rack", "", 9).await.unwrap();
    let names: Vec<_> = s
        .list_custom_fields()
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.key, f.name))
        .collect();
    assert_eq!(names, [(7, "owner".to_string()), (9, "rack".to_string())]);

    s.insert_datacenter(&datacenter("dc1", "datacenter-1", "One"))
        .await
        .unwrap();
    s.insert_host(&host("h1", "host-1", "dc1", "10.0.0.1"))
        .await
        .unwrap();
    s.set_host_value("h1", "field:7", "ops").await.unwrap();
    s.set_host_value("h1", "alarmActionsEnabled", "false")
        .await
        .unwrap();
    s.set_host_value("h1", "field:7", "infra").await.unwrap();
    assert_eq!(
        s.host_values("h1").await.unwrap(),
        [
            ("alarmActionsEnabled".to_string(), "false".to_string()),
            ("field:7".to_string(), "infra".to_string())
        ]
    );
    // Values need their host, and go with it.
    assert!(s.set_host_value("nope", "x", "y").await.is_err());
    assert!(s.delete_host("h1").await.unwrap());
    assert!(s.host_values("h1").await.unwrap().is_empty());
}
