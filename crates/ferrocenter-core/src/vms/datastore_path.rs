//! vSphere's datastore paths, `[datastore] file`: how vim and vAPI callers name a disk's file,
//! read one way for both.

/// A datastore path split into the datastore's name and the file's path on it (both trimmed;
/// either may be empty). None when it does not start with `[name]`.
pub fn split(path: &str) -> Option<(&str, &str)> {
    let rest = path.trim_start().strip_prefix('[')?;
    let (name, file) = rest.split_once(']')?;
    Some((name.trim(), file.trim()))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn the_datastore_and_the_file_are_read_apart() {
        assert_eq!(split("[local] vm/vm.vmx"), Some(("local", "vm/vm.vmx")));
        assert_eq!(
            split(" [ nfs 1 ]  base.qcow2 "),
            Some(("nfs 1", "base.qcow2"))
        );
        assert_eq!(split("[local]"), Some(("local", "")));
        assert_eq!(split("local"), None);
        assert_eq!(split("[local"), None);
    }
}
