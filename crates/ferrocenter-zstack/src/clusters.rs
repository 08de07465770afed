//! Clusters: CreateCluster, QueryCluster, UpdateCluster, ChangeClusterState (applied to the
//! cluster's hosts that are not in maintenance) and DeleteCluster (its hosts removed in a task).
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use ferrocenter_core::auth::Caller;
use ferrocenter_core::inventory::query::{ClusterField, ListQuery};
use ferrocenter_core::inventory::{AdminState, AutomationLevel, ClusterSpec, EntityUpdate};
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

pub struct Clusters;

impl Listed for Clusters {
    type Field = ClusterField;
    const ENTITY: &'static str = "Cluster";
    const CLASS: &'static str = "org.zstack.header.cluster.ClusterInventory";

    fn field(name: &str) -> Option<ClusterField> {
        query::cluster_field(name)
    }

    fn id_field() -> ClusterField {
        ClusterField::Id
    }

    async fn page(
        state: &ZstackState,
        caller: &Caller,
        q: &ListQuery<ClusterField>,
    ) -> Result<(Vec<Value>, Option<u64>), ZsError> {
        let page = state.core.query_clusters(caller, q).await?;
        Ok((page.rows.iter().map(render::cluster).collect(), page.total))
    }
}

/// The hypervisor types ZStack's CreateCluster knows; ferrocenter runs KVM only.
const HYPERVISOR_TYPES: [&str; 5] = ["KVM", "Simulator", "baremetal", "baremetal2", "xdragon"];

/// `POST /zstack/v1/clusters`.
pub async fn create(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Job { id: job, caller }: Job,
    Create(p): Create,
) -> Response {
    let outcome = async {
        let zone = p.required("zoneUuid")?;
        let name = p.required_string("name")?;
        let hypervisor = p.required("hypervisorType")?;
        if !HYPERVISOR_TYPES.contains(&hypervisor.as_str()) {
            return Err(CoreError::invalid(
                "hypervisorType",
                format!(
                    "'{hypervisor}' is not one of {}",
                    HYPERVISOR_TYPES.join(", ")
                ),
            )
            .into());
        }
        let spec = ClusterSpec {
            datacenter_id: zone,
            name,
            description: p.string("description")?.unwrap_or_default(),
            automation_level: AutomationLevel::FullyAutomated,
            hypervisor_type: Some(hypervisor),
            kind: p.text("type")?,
            architecture: p.text("architecture")?,
            id: p.text("resourceUuid")?,
            system_tags: p.system_tags.clone(),
            user_tags: p.user_tags.clone(),
        };
        let c = state.core.create_cluster_with(&caller, spec).await?;
        Ok::<_, ZsError>(json!({"inventory": render::cluster(&c)}))
    }
    .await;
    jobs::finished(&state, &headers, &job, outcome)
}

/// `PUT /zstack/v1/clusters/{uuid}/actions`: updateCluster, changeClusterState.
pub async fn actions(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    Job { id: job, caller }: Job,
    Action(action, p): Action,
) -> Response {
    let core = &state.core;
    let outcome = match action.as_str() {
        "updateCluster" => {
            async {
                let u = EntityUpdate {
                    name: p.string("name")?,
                    description: p.string("description")?,
                };
                Ok(core.update_cluster(&caller, &uuid, u).await?)
            }
            .await
        }
        "changeClusterState" => {
            async {
                let want = if p.enable_or_disable()? {
                    AdminState::Enabled
                } else {
                    AdminState::Disabled
                };
                core.set_cluster_state(&caller, &uuid, want)
                    .await
                    .map_err(|e| match e {
                        CoreError::InvalidState { .. } => ZsError::api("SYS.1005", e.to_string()),
                        other => other.into(),
                    })
            }
            .await
        }
        _ => return no_action(&format!("/v1/clusters/{uuid}/actions")),
    };
    jobs::finished(
        &state,
        &headers,
        &job,
        outcome.map(|c| json!({"inventory": render::cluster(&c)})),
    )
}

/// `DELETE /zstack/v1/clusters/{uuid}`: an unknown cluster is deleted already.
pub async fn delete(
    State(state): State<ZstackState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    Job { id: job, caller }: Job,
) -> Response {
    match with_task_id(job.clone(), state.core.delete_cluster(&caller, &uuid)).await {
        Ok(_) => jobs::accepted(&state, &headers, &job),
        Err(CoreError::NotFound { .. }) => jobs::finished(&state, &headers, &job, Ok(json!({}))),
        Err(e) => jobs::task_refused(&state, &headers, &job, e, Wrap::Delete),
    }
}
