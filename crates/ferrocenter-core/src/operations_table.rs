//! docs/ARCHITECTURE.md lists every public operation of [`crate::Core`] by capability, so the
//! whole interface is on one screen; this test keeps that table and the code equal.

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    /// `pub async fn` names inside `impl Core` blocks of every core source file.
    fn operations_in_code() -> BTreeSet<String> {
        fn walk(dir: &Path, out: &mut BTreeSet<String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let mut in_core = false;
                    for line in std::fs::read_to_string(&p).unwrap().lines() {
                        if line.starts_with("impl") {
                            in_core = line.starts_with("impl Core {");
                        }
                        if let Some(rest) = line.strip_prefix("    pub async fn ") {
                            if in_core {
                                let name: String = rest
                                    .chars()
                                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                                    .collect();
                                out.insert(name);
                            }
                        }
                    }
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
        out
    }

    /// Backticked names in the table under "### Core operations by capability".
    fn operations_in_doc() -> BTreeSet<String> {
        let doc = include_str!("../../../docs/ARCHITECTURE.md");
        let start = doc
            .find("### Core operations by capability")
            .expect("the table's heading");
        let table = doc[start..]
            .lines()
            .skip(1)
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'));
        let mut out = BTreeSet::new();
        for row in table {
            let ops = row.split('|').nth(2).unwrap_or("");
            for part in ops.split('`').skip(1).step_by(2) {
                out.insert(part.to_string());
            }
        }
        out
    }

    #[test]
    fn the_architecture_table_lists_every_core_operation() {
        let code = operations_in_code();
        let doc = operations_in_doc();
        let missing: Vec<_> = code.difference(&doc).collect();
        let stale: Vec<_> = doc.difference(&code).collect();
        assert!(
            missing.is_empty() && stale.is_empty(),
            "docs/ARCHITECTURE.md's operation table: missing {missing:?}, no longer in the code {stale:?}"
        );
    }
}
