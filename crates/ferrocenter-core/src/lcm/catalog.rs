//! The product catalog: what may be associated with this server, and with which of its
//! versions each works (`catalog.json`, compiled in, so a build's catalog is the one it was
//! tested with). A catalog version is a release line: `16` covers PostgreSQL 16.4, `0.7`
//! covers vim_rs 0.7.2, `0.1.0` only itself.
use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// This server's version: the target a report compares against unless told otherwise.
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The catalog name of this server itself (never an associated product).
pub const SERVER_PRODUCT: &str = "ferrocenter server";
pub const AGENT_PRODUCT: &str = "ferrocenter agent";
pub const LIBVIRT_PRODUCT: &str = "libvirt";
pub const QEMU_PRODUCT: &str = "QEMU";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// The stable prefix of its associated products' ids (`org.libvirt` → `org.libvirt-9.0.0`).
    pub id: String,
    pub name: String,
    pub versions: Vec<String>,
}

/// Which product versions one ferrocenter version works with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interop {
    pub ferrocenter: String,
    /// Product name → the catalog versions it works with.
    pub compatible: BTreeMap<String, Vec<String>>,
    /// Product name → where its release notes are.
    #[serde(default)]
    pub notes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub products: Vec<Product>,
    pub interop: Vec<Interop>,
}

#[allow(
    clippy::expect_used,
    reason = "the catalog is compiled in; its unit test reads it, so a broken one fails the build's tests"
)]
static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    serde_json::from_str(include_str!("catalog.json")).expect("lcm/catalog.json is valid")
});

/// The compiled-in catalog.
pub fn catalog() -> &'static Catalog {
    &CATALOG
}

/// Whether a reported version falls in a catalog version's release line.
pub fn in_line(version: &str, line: &str) -> bool {
    version == line
        || version
            .strip_prefix(line)
            .is_some_and(|rest| rest.starts_with('.'))
}

impl Catalog {
    pub fn product(&self, name: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.name == name)
    }

    /// The products an operator may associate: all but this server.
    pub fn associable(&self) -> impl Iterator<Item = &Product> {
        self.products.iter().filter(|p| p.name != SERVER_PRODUCT)
    }

    /// The matrix of a ferrocenter version, if the catalog has one.
    pub fn interop(&self, ferrocenter: &str) -> Option<&Interop> {
        self.interop.iter().find(|i| i.ferrocenter == ferrocenter)
    }
}

impl Product {
    /// The catalog version whose line a version is in.
    pub fn line_of(&self, version: &str) -> Option<&str> {
        self.versions
            .iter()
            .find(|l| in_line(version, l))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_matrix_entry_names_a_catalog_product_and_version() {
        let c = catalog();
        assert!(!c.interop.is_empty());
        for i in &c.interop {
            let server = c.product(SERVER_PRODUCT).unwrap();
            assert!(
                server.versions.contains(&i.ferrocenter),
                "matrix of ferrocenter {} which the catalog does not list",
                i.ferrocenter
            );
            for (name, versions) in &i.compatible {
                let p = c
                    .product(name)
                    .unwrap_or_else(|| panic!("matrix names {name}, not in the catalog"));
                assert_ne!(name, SERVER_PRODUCT);
                for v in versions {
                    assert!(
                        p.versions.contains(v),
                        "matrix: {name} {v} not in the catalog"
                    );
                }
            }
            for name in i.notes.keys() {
                assert!(c.product(name).is_some(), "notes name {name}");
            }
        }
    }

    #[test]
    fn this_version_is_in_the_catalog_with_a_matrix() {
        let c = catalog();
        assert!(c.interop(SERVER_VERSION).is_some());
        for name in [AGENT_PRODUCT, LIBVIRT_PRODUCT, QEMU_PRODUCT] {
            assert!(c.product(name).is_some(), "{name}");
        }
        // The agent ships with the server: the matrix names this very version.
        assert!(c.interop(SERVER_VERSION).unwrap().compatible[AGENT_PRODUCT]
            .contains(&SERVER_VERSION.to_string()));
        let mut ids = std::collections::HashSet::new();
        assert!(c.products.iter().all(|p| ids.insert(p.id.clone())));
    }

    #[test]
    fn release_lines() {
        assert!(in_line("16.4", "16"));
        assert!(in_line("9.0.0", "9"));
        assert!(!in_line("90.0", "9"));
        assert!(in_line("0.1.0", "0.1.0"));
        assert!(!in_line("0.1.01", "0.1.0"));
    }
}
