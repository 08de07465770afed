//! Zones (ferrocenter datacenters): CreateZone, QueryZone, UpdateZone, ChangeZoneState and
//! DeleteZone. Creates and actions answer as jobs; a delete removes the zone's clusters and
//! hosts in a task.
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use ferrocenter_core::auth::Caller;
use ferrocenter_core::inventory::query::{DatacenterField, ListQuery};
use ferrocenter_core::inventory::{AdminState, DatacenterSpec, EntityUpdate};
use ferrocenter_core::tasks::with_task_id;
use ferrocenter_core::CoreError;
use serde_json::{json, Value};

use super::errors::ZsError;
use super::jobs::Job;
use super::jobs::{self, Wrap};
use super::listing::Listed;
use super::params::{no_action, Action, Create};
use super::state::ZstackState;
use super::{query, render};

pub struct Zones;

impl Listed for Zones {
    type Field = DatacenterField;
    const ENTITY: &'static str = "Zone";
    const CLASS: &'static str = "org.zstack.header.zone.ZoneInventory";

    fn field(name: &str) -> Option<DatacenterField> {
        query::zone_field(name)
    }

    fn id_field() -> DatacenterField {
        DatacenterField::Id
    }

    async fn page(
        state: &ZstackState,
        caller: &Caller,
        q: &ListQuery<DatacenterField>,
    ) -> Result<(Vec<Value>, Option<u64>), ZsError> {
        let page = state.core.query_datacenters(caller, q).await?;
        Ok((page.rows.iter().map(render::zone).collect(), page.total))
    }
}

/// ZStack's zone names: letters (CJK included), digits, inner spaces and `-_.():+"`. What the
/// core's entity-name rule refuses is refused with its message first.
fn check_zone_name(name: &str) -> Result<(), ZsError> {
    ferrocenter_core::validate::entity_name("name", name)?;
    let ok = name.trim() == name
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || "-_.():+\"".contains(c));
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            "name",
            "may hold only letters, digits, inner spaces and -_.():+\"",
        )
        .into())
    }
}

/// `POST /zstack/v1/zones`.
pub async fn create(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Job { id: job, caller }: Job,
    Create(p): Create,
) -> Response {
    let outcome = async {
        let name = p.required_string("name")?;
        check_zone_name(&name)?;
        let spec = DatacenterSpec {
            name,
            description: p.string("description")?.unwrap_or_default(),
            is_default: p.boolean("isDefault")?.unwrap_or(false),
            id: p.text("resourceUuid")?,
            system_tags: p.system_tags.clone(),
            user_tags: p.user_tags.clone(),
        };
        let d = state.core.create_datacenter_with(&caller, spec).await?;
        Ok(json!({"inventory": render::zone(&d)}))
    }
    .await;
    jobs::finished(&state, &headers, &job, outcome)
}

/// `PUT /zstack/v1/zones/{uuid}/actions`: updateZone, changeZoneState.
pub async fn actions(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    Job { id: job, caller }: Job,
    Action(action, p): Action,
) -> Response {
    let core = &state.core;
    let outcome = match action.as_str() {
        "updateZone" => {
            async {
                let name = p.string("name")?;
                if let Some(n) = &name {
                    check_zone_name(n)?;
                }
                let u = EntityUpdate {
                    name,
                    description: p.string("description")?,
                };
                Ok(core.update_datacenter(&caller, &uuid, u).await?)
            }
            .await
        }
        "changeZoneState" => {
            async {
                let want = if p.enable_or_disable()? {
                    AdminState::Enabled
                } else {
                    AdminState::Disabled
                };
                Ok(core.set_datacenter_state(&caller, &uuid, want).await?)
            }
            .await
        }
        _ => return no_action(&format!("/v1/zones/{uuid}/actions")),
    };
    jobs::finished(
        &state,
        &headers,
        &job,
        outcome.map(|d| json!({"inventory": render::zone(&d)})),
    )
}

/// `DELETE /zstack/v1/zones/{uuid}`: an unknown zone is deleted already.
pub async fn delete(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    Job { id: job, caller }: Job,
) -> Response {
    // DeleteZone takes the zone's clusters and hosts with it.
    let deleting = state.core.delete_datacenter(&caller, &uuid, true);
    match with_task_id(job.clone(), deleting).await {
        Ok(_) => jobs::accepted(&state, &headers, &job),
        Err(CoreError::NotFound { .. }) => jobs::finished(&state, &headers, &job, Ok(json!({}))),
        Err(e) => jobs::task_refused(&state, &headers, &job, e, Wrap::Delete),
    }
}
