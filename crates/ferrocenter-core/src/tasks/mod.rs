//! Tasks: every long-running operation, persisted, serialised per entity, cancelable.
mod engine;
mod model;

pub use engine::{with_task_id, TaskContext, TaskEngine, TaskEngineConfig};
pub use model::{Task, TaskSpec, TaskState};

use crate::auth::{Caller, Privilege};
use crate::ports::TaskFilter;
use crate::{Core, CoreError};

impl Core {
    /// One task, for any caller allowed to read the inventory.
    pub async fn get_task(&self, caller: &Caller, id: &str) -> Result<Task, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        self.tasks.get(id).await
    }

    pub async fn list_tasks(
        &self,
        caller: &Caller,
        filter: &TaskFilter,
    ) -> Result<Vec<Task>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        self.tasks.list(filter).await
    }

    /// Cancels a task. Its initiator may always cancel it; anyone else needs Global.CancelTask.
    pub async fn cancel_task(&self, caller: &Caller, id: &str) -> Result<(), CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let task = self.tasks.get(id).await?;
        if task.initiator != caller.user {
            self.auth.authorize(caller, Privilege::GlobalCancelTask)?;
        }
        self.tasks.cancel(id, &caller.user).await
    }
}
