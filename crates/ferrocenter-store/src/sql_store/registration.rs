//! An add's registration of a host: the record, its tags, datastores, networks and VMs, and
//! the end of its claim intent, in one transaction (`HostStore::register_host`).
use ferrocenter_core::inventory::query::TagKind;
use ferrocenter_core::ports::{HostRegistration, StoreError};

use super::datastores_networks::{DATASTORE_LINKS, NETWORK_LINKS};
use crate::rows::map_err;

super::for_each_engine! {
    impl Engine {
        pub(super) async fn register(&self, r: &HostRegistration) -> Result<(), StoreError> {
            let host = &r.host.id;
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            Self::insert_host_on(&mut tx, &r.host).await?;
            Self::add_tags_on(&mut tx, host, TagKind::System, &r.host.system_tags).await?;
            Self::add_tags_on(&mut tx, host, TagKind::User, &r.host.tags).await?;
            let mut datastores = Vec::with_capacity(r.datastores.len());
            for d in &r.datastores {
                datastores.push(Self::upsert_datastore_on(&mut tx, d).await?.id);
            }
            Self::replace_host_links_on(&mut tx, &DATASTORE_LINKS, host, &datastores)
                .await?;
            let mut networks = Vec::with_capacity(r.networks.len());
            for n in &r.networks {
                networks.push(Self::upsert_network_on(&mut tx, n).await?.id);
            }
            Self::replace_host_links_on(&mut tx, &NETWORK_LINKS, host, &networks)
                .await?;
            Self::insert_vms_on(&mut tx, &r.new_vms).await?;
            for v in &r.moved_vms {
                if !Self::update_vm_on(&mut tx, v).await? {
                    // Gone since the add looked: registering it here would bring it back.
                    return Err(StoreError::Backend(format!(
                        "VM {} was deleted while the host was being added; add it again",
                        v.moid
                    )));
                }
            }
            if let Some(id) = &r.claim_intent_id {
                Self::delete_claim_intent_on(&mut tx, id).await?;
            }
            tx.commit().await.map_err(map_err)
        }
    }
}
