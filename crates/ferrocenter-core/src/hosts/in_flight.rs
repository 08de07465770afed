//! A host is not removed while a VM migrates from it or to it, and no migration starts from or
//! to a host being removed: vCenter refuses to remove a host with a migration under way
//! (InvalidState), and a migration whose destination went from the inventory would leave its
//! VM where no record points. Migrations run as VM tasks (or inside an evacuation on the
//! source's queue), so the hosts' task queues do not order them against a removal: this book
//! of the migrations and removals under way does.
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::inventory::Host;
use crate::CoreError;

#[derive(Default)]
struct Book {
    next: u64,
    /// Migration number → (source host id, destination host id, VM name).
    migrations: HashMap<u64, (String, String, String)>,
    /// Host ids being removed.
    removing: HashSet<String>,
}

#[derive(Default)]
pub(crate) struct InFlight {
    book: Arc<Mutex<Book>>,
}

/// Held while a migration runs; ends it in the book when dropped.
pub(crate) struct MigrationEntry {
    book: Arc<Mutex<Book>>,
    n: u64,
}

impl Drop for MigrationEntry {
    fn drop(&mut self) {
        self.book.lock().migrations.remove(&self.n);
    }
}

/// Held while a host is removed; ends the removal in the book when dropped.
pub(crate) struct RemovalEntry {
    book: Arc<Mutex<Book>>,
    host_id: String,
}

impl Drop for RemovalEntry {
    fn drop(&mut self) {
        self.book.lock().removing.remove(&self.host_id);
    }
}

impl InFlight {
    /// A migration of `vm` from `source` to `dest` starts, unless either host is being removed.
    pub(crate) fn begin_migration(
        &self,
        source: &Host,
        dest: &Host,
        vm: &str,
    ) -> Result<MigrationEntry, CoreError> {
        let mut b = self.book.lock();
        for h in [source, dest] {
            if b.removing.contains(&h.id) {
                return Err(CoreError::invalid_state(format!(
                    "host {} is being removed: VM {vm} cannot migrate {} it",
                    h.name,
                    if h.id == source.id { "from" } else { "to" }
                )));
            }
        }
        b.next += 1;
        let n = b.next;
        b.migrations
            .insert(n, (source.id.clone(), dest.id.clone(), vm.to_string()));
        Ok(MigrationEntry {
            book: self.book.clone(),
            n,
        })
    }

    /// The removal of `host` starts, unless a VM migrates from it or to it.
    pub(crate) fn begin_removal(&self, host: &Host) -> Result<RemovalEntry, CoreError> {
        let mut b = self.book.lock();
        let busy = b.migrations.values().find_map(|(src, dst, vm)| {
            if *src == host.id {
                Some(format!("VM {vm} is migrating from it"))
            } else if *dst == host.id {
                Some(format!("VM {vm} is migrating to it"))
            } else {
                None
            }
        });
        if let Some(why) = busy {
            return Err(CoreError::invalid_state(format!(
                "host {} cannot be removed while a migration is under way: {why}",
                host.name
            )));
        }
        b.removing.insert(host.id.clone());
        Ok(RemovalEntry {
            book: self.book.clone(),
            host_id: host.id.clone(),
        })
    }
}
