//! vim folders: the root folder of datacenters and, in each datacenter, its host, vm, network
//! and datastore folders, under which operators make their own.
use crate::auth::{Caller, Privilege};
use crate::inventory::{Datacenter, Folder, FolderKind};
use crate::model::new_uuid;
use crate::ports::StoreError;
use crate::validate::entity_name as validate_name;
use crate::{Core, CoreError};

const ROOT_FOLDER_KEY: &str = "inventory.root_folder";

/// The root folder's moId, the same in every vCenter.
pub const ROOT_FOLDER_MOID: &str = "group-d1";

impl Core {
    /// The root folder (`group-d1`, "Datacenters"), made on first use.
    pub async fn root_folder(&self) -> Result<Folder, CoreError> {
        if let Some(id) = self.store.get_setting(ROOT_FOLDER_KEY).await? {
            if let Some(f) = self.store.get_folder(&id).await? {
                return Ok(f);
            }
        }
        let now = self.clock.now();
        let root = Folder {
            id: new_uuid(),
            moid: ROOT_FOLDER_MOID.into(),
            parent_id: None,
            datacenter_id: None,
            kind: FolderKind::Datacenter,
            name: "Datacenters".into(),
            created_at: now,
            last_op_at: now,
        };
        match self.store.insert_folder(&root).await {
            Ok(()) => {
                self.store.put_setting(ROOT_FOLDER_KEY, &root.id).await?;
                Ok(root)
            }
            // Another caller made it first: read theirs.
            Err(StoreError::Conflict(_)) => {
                let id = self
                    .store
                    .get_setting(ROOT_FOLDER_KEY)
                    .await?
                    .ok_or_else(|| CoreError::internal("the root folder vanished"))?;
                self.store
                    .get_folder(&id)
                    .await?
                    .ok_or_else(|| CoreError::internal("the root folder vanished"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Makes a datacenter's four folders (vim hostFolder, vmFolder, networkFolder,
    /// datastoreFolder).
    pub(crate) async fn create_datacenter_folders(&self, dc: &Datacenter) -> Result<(), CoreError> {
        let now = self.clock.now();
        for kind in [
            FolderKind::Host,
            FolderKind::Vm,
            FolderKind::Network,
            FolderKind::Datastore,
        ] {
            let seq = self.store.next_sequence("folder").await?;
            self.store
                .insert_folder(&Folder {
                    id: new_uuid(),
                    moid: format!("group-{}{}", kind.moid_letter(), seq + 1),
                    parent_id: None,
                    datacenter_id: Some(dc.id.clone()),
                    kind,
                    name: kind.as_str().into(),
                    created_at: now,
                    last_op_at: now,
                })
                .await?;
        }
        Ok(())
    }

    /// The datacenter's own folder of a kind.
    pub async fn datacenter_folder(
        &self,
        datacenter_id: &str,
        kind: FolderKind,
    ) -> Result<Folder, CoreError> {
        self.store
            .folders_of_datacenter(datacenter_id)
            .await?
            .into_iter()
            .find(|f| f.kind == kind && f.parent_id.is_none())
            .ok_or_else(|| {
                CoreError::not_found("folder", format!("{} of {datacenter_id}", kind.as_str()))
            })
    }

    /// A folder under `parent_id`, holding what its parent holds.
    pub async fn create_folder(
        &self,
        caller: &Caller,
        parent_id: &str,
        name: &str,
    ) -> Result<Folder, CoreError> {
        self.auth.authorize(caller, Privilege::FolderCreate)?;
        validate_name("name", name)?;
        let parent = self
            .store
            .get_folder(parent_id)
            .await?
            .ok_or_else(|| CoreError::not_found("folder", parent_id))?;
        let now = self.clock.now();
        let seq = self.store.next_sequence("folder").await?;
        let f = Folder {
            id: new_uuid(),
            moid: format!("group-{}{}", parent.kind.moid_letter(), seq + 1),
            parent_id: Some(parent.id.clone()),
            datacenter_id: parent.datacenter_id.clone(),
            kind: parent.kind,
            name: name.into(),
            created_at: now,
            last_op_at: now,
        };
        match self.store.insert_folder(&f).await {
            Ok(()) => Ok(f),
            Err(StoreError::Conflict(_)) => Err(CoreError::AlreadyExists {
                what: "folder".into(),
                name: name.into(),
            }),
            Err(e) => Err(e.into()),
        }
    }
}
