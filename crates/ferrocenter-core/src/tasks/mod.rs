//! Tasks: every long-running operation, persisted, serialised per entity, cancelable.
mod engine;
mod kind;
mod model;
mod result;

pub use engine::{with_task_id, TaskContext, TaskEngine, TaskEngineConfig};
pub use kind::TaskKind;
pub use model::{Task, TaskSpec, TaskState};
pub use result::TaskResult;

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

    /// The host a task acted on, as it is now. Holding a task's id is what lets a caller read
    /// its result (ZStack polls jobs without a session), so this needs no privilege; it reveals
    /// only the host that task targets.
    pub async fn task_host(
        &self,
        task_id: &str,
    ) -> Result<Option<crate::inventory::Host>, CoreError> {
        let task = self.tasks.get(task_id).await?;
        match task.target {
            Some(t) if t.kind == "host" => Ok(self.store.get_host(&t.id).await?),
            // An add targets the address; the host it made is in its result.
            _ => match task.result.as_ref().and_then(TaskResult::host) {
                Some(id) => Ok(self.store.get_host(id).await?),
                None => Ok(None),
            },
        }
    }

    /// The VM a create task made, as it is now, with its host; as `task_host`, holding the
    /// task's id is what lets a caller read it.
    pub async fn task_vm(
        &self,
        task_id: &str,
    ) -> Result<Option<(crate::inventory::VmRecord, Option<crate::inventory::Host>)>, CoreError>
    {
        let task = self.tasks.get(task_id).await?;
        let Some(TaskResult::VmCreated { vm, .. }) = task.result else {
            return Ok(None);
        };
        let Some(vm) = self.store.get_vm(&vm).await? else {
            return Ok(None);
        };
        let host = self.store.get_host(&vm.host_id).await?;
        Ok(Some((vm, host)))
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
