//! Tasks a server method started: reading their info and waiting for them to finish, with a
//! callback for each change so a caller can show progress.
//!
//! ```no_run
//! # async fn demo(c: ferrocenter_client::Connection) -> Result<(), ferrocenter_client::ClientError> {
//! use ferrocenter_client::task::{moref, TaskView};
//! use serde_json::json;
//! let task = c
//!     .call("HostSystem", "host-12", "EnterMaintenanceMode_Task", json!({"timeout": 0}))
//!     .await?;
//! let id = task["value"].as_str().unwrap_or_default();
//! let done = c
//!     .wait_for_task(id, |t: &TaskView| println!("{:?}% {}", t.progress, t.message))
//!     .await?;
//! assert_eq!(done.state, "success");
//! # let _ = moref("HostSystem", "host-12");
//! # Ok(()) }
//! ```
use std::time::Duration;

use serde_json::{json, Value};

use crate::connect::{fault_error, Connection};
use crate::error::{ClientError, ErrorCode};

/// How often a waiting caller reads the task again.
const POLL: Duration = Duration::from_millis(200);

/// A VI/JSON managed object reference.
pub fn moref(mo_type: &str, value: &str) -> Value {
    json!({"_typeName": "ManagedObjectReference", "type": mo_type, "value": value})
}

/// The parts of a `TaskInfo` a caller usually needs; `info` keeps the whole of it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    /// The task's moId (`task-42`).
    pub id: String,
    /// The method that started it (`HostSystem.enterMaintenanceMode`).
    pub name: String,
    /// queued, running, success or error.
    pub state: String,
    pub progress: Option<i64>,
    /// What the task is doing now, as the server words it.
    pub message: String,
    pub entity_name: Option<String>,
    pub info: Value,
}

impl TaskView {
    pub fn from_info(info: Value) -> TaskView {
        let text = |k: &str| info[k].as_str().unwrap_or_default().to_string();
        TaskView {
            id: text("key"),
            name: text("descriptionId"),
            state: text("state"),
            progress: info["progress"].as_i64(),
            message: info["description"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            entity_name: info["entityName"].as_str().map(String::from),
            info,
        }
    }

    pub fn is_finished(&self) -> bool {
        self.state == "success" || self.state == "error"
    }

    /// The task's fault as a client error (`TASK_FAILED`, with the fault's type, message and
    /// fields), when it ended in error.
    pub fn failure(&self) -> Option<ClientError> {
        if self.state != "error" {
            return None;
        }
        let inner = fault_error(&self.info["error"]);
        Some(ClientError {
            code: ErrorCode::TaskFailed,
            message: format!("{} failed: {}", self.id, inner.message),
            fault: inner.fault,
            detail: inner.detail,
        })
    }
}

impl Connection {
    /// A task's current info.
    pub async fn task(&self, id: &str) -> Result<TaskView, ClientError> {
        Ok(TaskView::from_info(self.get("Task", id, "info").await?))
    }

    /// Waits until the task finishes, calling `on_change` whenever its state, progress or
    /// message changes (and once at the start). A task that ends in error is `TASK_FAILED`
    /// with its fault; the finished task's view otherwise.
    pub async fn wait_for_task(
        &self,
        id: &str,
        mut on_change: impl FnMut(&TaskView),
    ) -> Result<TaskView, ClientError> {
        let mut last: Option<(String, Option<i64>, String)> = None;
        loop {
            let t = self.task(id).await?;
            let now = (t.state.clone(), t.progress, t.message.clone());
            if last.as_ref() != Some(&now) {
                on_change(&t);
                last = Some(now);
            }
            if t.is_finished() {
                return match t.failure() {
                    Some(e) => Err(e),
                    None => Ok(t),
                };
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_task_names_its_fault_and_keeps_its_fields() {
        let t = TaskView::from_info(json!({
            "key": "task-9", "descriptionId": "HostSystem.reconnect", "state": "error",
            "progress": 30, "description": {"message": "logging in"},
            "error": {"_typeName": "SSLVerifyFault", "thumbprint": "AB:CD",
                      "faultMessage": [{"message": "the certificate changed"}]}
        }));
        assert!(t.is_finished());
        let e = t.failure().unwrap();
        assert_eq!(e.code, ErrorCode::TaskFailed);
        assert_eq!(e.fault.as_deref(), Some("SSLVerifyFault"));
        assert_eq!(e.detail.unwrap()["thumbprint"], "AB:CD");
        assert!(e.message.contains("task-9") && e.message.contains("certificate changed"));
        let ok = TaskView::from_info(json!({"key": "task-1", "state": "running"}));
        assert!(!ok.is_finished() && ok.failure().is_none());
    }
}
