//! Working directories the core makes and removes (backup, export, upgrade and history
//! staging): removing one that is already gone is success, and a failure is logged rather than
//! failing the work it served, whose outcome is already decided.
use std::path::Path;

use tracing::warn;

/// Removes `dir` and everything in it; `what` names it in the warning if that fails.
pub(crate) fn remove_dir(dir: &Path, what: &str) {
    if let Err(e) = std::fs::remove_dir_all(dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            warn!(dir = %dir.display(), error = %e, "could not remove {what}");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_directory_is_removed_and_an_absent_one_is_no_error() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("staging");
        std::fs::create_dir_all(dir.join("part")).unwrap();
        std::fs::write(dir.join("part/file"), b"x").unwrap();
        super::remove_dir(&dir, "a test staging");
        assert!(!dir.exists());
        super::remove_dir(&dir, "a test staging");
    }
}
