use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{TaskKind, TaskResult};
use crate::model::EntityRef;
use crate::CoreError;

/// vim's TaskInfoState; vAPI and ZStack map from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Queued,
    Running,
    Success,
    Error,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Queued => "queued",
            TaskState::Running => "running",
            TaskState::Success => "success",
            TaskState::Error => "error",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, TaskState::Success | TaskState::Error)
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "queued" => Ok(TaskState::Queued),
            "running" => Ok(TaskState::Running),
            "success" => Ok(TaskState::Success),
            "error" => Ok(TaskState::Error),
            other => Err(format!("unknown task state '{other}'")),
        }
    }
}

/// A task as stored and shown. `kind` is the core operation; bindings map it to their own
/// names.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: String,
    /// vim's `task-N`.
    pub moid: String,
    pub kind: TaskKind,
    pub target: Option<EntityRef>,
    /// Login name of the user who started it.
    pub initiator: String,
    pub description: String,
    pub state: TaskState,
    /// 0–100.
    pub progress: u8,
    pub progress_message: Option<String>,
    pub result: Option<TaskResult>,
    pub error: Option<CoreError>,
    pub cancelable: bool,
    pub cancelled: bool,
    pub queued_at: OffsetDateTime,
    pub started_at: Option<OffsetDateTime>,
    pub completed_at: Option<OffsetDateTime>,
}

/// What a caller asks the engine to run.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    pub kind: TaskKind,
    /// Tasks with the same target run one at a time, in submission order.
    pub target: Option<EntityRef>,
    pub initiator: String,
    pub description: String,
    pub cancelable: bool,
    /// Running time after which the task is stopped with `Timeout`.
    pub timeout: Option<Duration>,
}
