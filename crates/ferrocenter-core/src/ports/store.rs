use async_trait::async_trait;
use time::OffsetDateTime;

use crate::auth::{Group, Principal, Realm};
use crate::tasks::{Task, TaskState};
use crate::CoreError;

/// Why a store call failed. The core turns these into [`CoreError`]s; callers never see SQL.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is already taken; the text names the key.
    #[error("record already exists: {0}")]
    Conflict(String),
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored value could not be read back.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Backend(String),
}

/// Which tasks a listing returns. Empty vectors mean "any".
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub ids: Vec<String>,
    pub kinds: Vec<String>,
    pub states: Vec<TaskState>,
    pub target_ids: Vec<String>,
    pub initiators: Vec<String>,
    /// Newest first, at most this many (no limit when unset).
    pub limit: Option<u32>,
}

/// The only door to persistence. SQLite and PostgreSQL implement it with the same semantics;
/// one test suite runs against both.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgresql`.
    fn engine(&self) -> &'static str;

    // Settings: small named values the server keeps across restarts (instance id, first-start flag).
    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Inserts only if absent; returns whether this call inserted it.
    async fn put_setting_if_absent(&self, key: &str, value: &str) -> Result<bool, StoreError>;

    /// Next value of a named counter, starting at 1: vim moIds (`task-77`) come from these.
    async fn next_sequence(&self, name: &str) -> Result<i64, StoreError>;

    // Identities.
    async fn insert_principal(&self, p: &Principal) -> Result<(), StoreError>;
    async fn find_principal(
        &self,
        realm: &Realm,
        name: &str,
    ) -> Result<Option<Principal>, StoreError>;
    async fn list_principals(&self, realm: &Realm) -> Result<Vec<Principal>, StoreError>;
    /// Replaces the mutable fields (password hash, role, full name, disabled); false if absent.
    async fn update_principal(&self, p: &Principal) -> Result<bool, StoreError>;
    async fn delete_principal(&self, id: &str) -> Result<bool, StoreError>;
    async fn insert_group(&self, g: &Group) -> Result<(), StoreError>;
    async fn find_group(&self, realm: &Realm, name: &str) -> Result<Option<Group>, StoreError>;
    async fn add_group_member(&self, group_id: &str, principal_id: &str) -> Result<(), StoreError>;
    async fn remove_group_member(
        &self,
        group_id: &str,
        principal_id: &str,
    ) -> Result<bool, StoreError>;
    async fn groups_of(&self, principal_id: &str) -> Result<Vec<Group>, StoreError>;

    // Tasks.
    async fn insert_task(&self, t: &Task) -> Result<(), StoreError>;
    /// Writes the task's mutable fields; false if it does not exist.
    async fn update_task(&self, t: &Task) -> Result<bool, StoreError>;
    async fn get_task(&self, id: &str) -> Result<Option<Task>, StoreError>;
    async fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<Task>, StoreError>;
    /// Ends every queued or running task with `error`; returns how many it ended.
    async fn fail_unfinished_tasks(
        &self,
        error: &CoreError,
        at: OffsetDateTime,
    ) -> Result<u64, StoreError>;
}
