//! docs/api/lookup.md's operations table says what the binding serves: every served operation
//! on a row marked `yes`, every known but unserved one on a row marked `no`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn the_coverage_table_matches_the_binding() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/api/lookup.md"
    ))
    .unwrap();
    let row = |op: &str| -> Vec<String> {
        doc.lines()
            .filter(|l| l.starts_with('|') && l.contains(&format!("`{op}`")))
            .map(|l| {
                l.split('|')
                    .map(|c| c.trim().to_string())
                    .nth(3)
                    .unwrap_or_default()
            })
            .collect()
    };
    let (served, not_served) = ferrocenter_lookup::coverage();
    for op in served {
        assert_eq!(row(op), ["yes"], "{op}");
    }
    for op in not_served {
        assert_eq!(row(op), ["no"], "{op}");
    }
}
