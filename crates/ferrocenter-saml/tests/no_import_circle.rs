//! The files of this crate import each other in one direction only (issue 17: no import
//! circle between files of a binding).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn no_import_circle_between_files() {
    ferrocenter_http::import_graph::assert_no_circle(env!("CARGO_MANIFEST_DIR"));
}
