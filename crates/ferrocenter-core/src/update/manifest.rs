//! `manifest.json`: what an update is (version, build, release date, severity, priority, type,
//! restart, contents, knowledge base, EULAs, the minimum version it updates from) and its
//! package (file, size, SHA-256). Every field is checked when read; an error names the field by
//! its JSON path (`manifest.package.sha256`). It carries what `appliance.update.pending.get`
//! and its summary answer.
use serde::Serialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::UpdateError;
use crate::version::is_version;

/// The manifest format this build reads and writes (`manifest.format`).
pub const MANIFEST_FORMAT: u64 = 1;
/// The largest package a manifest may declare: a bound on what a hostile repository can make
/// the server download.
pub const MAX_PACKAGE_SIZE: u64 = 4 << 30;
/// The product every manifest must name.
const PRODUCT: &str = "ferrocenter";
const MAX_TEXT: usize = 1024;
const MAX_LONG_TEXT: usize = 256 * 1024;
const MAX_ITEMS: usize = 1000;

/// `appliance.update.common_info.severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Critical,
    Important,
    Moderate,
    Low,
}

/// `appliance.update.common_info.priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Priority {
    High,
    Medium,
    Low,
}

/// `appliance.update.common_info.category`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UpdateType {
    Security,
    Fix,
    Update,
    Upgrade,
}

macro_rules! names {
    ($t:ty { $($v:ident = $s:literal),* }) => {
        impl $t {
            pub const ALL: &'static [&'static str] = &[$($s),*];
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            pub fn parse(s: &str) -> Option<$t> {
                match s { $($s => Some(Self::$v),)* _ => None }
            }
        }
    };
}
names!(Severity { Critical = "CRITICAL", Important = "IMPORTANT", Moderate = "MODERATE", Low = "LOW" });
names!(Priority { High = "HIGH", Medium = "MEDIUM", Low = "LOW" });
names!(UpdateType { Security = "SECURITY", Fix = "FIX", Update = "UPDATE", Upgrade = "UPGRADE" });

/// `manifest.package`: the release binaries, a zstd-compressed tar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageRef {
    /// Its file name at the top of the repository (`ferrocenter.zst`).
    pub file: String,
    /// Compressed size in bytes: the download is refused past it.
    pub size: u64,
    /// SHA-256 of the compressed file, lowercase hex.
    pub sha256: String,
    /// The files the tar holds (`ferrocenter`, the server binary that is also the agent).
    pub files: Vec<String>,
}

/// A checked manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    pub format: u64,
    pub product: String,
    pub version: String,
    pub build: String,
    pub name: String,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub release_date: OffsetDateTime,
    pub severity: Severity,
    pub priority: Priority,
    pub update_type: UpdateType,
    /// The machine must reboot (never for ferrocenter's own binaries; kept for the API).
    pub reboot_required: bool,
    /// The server process restarts to run the new version.
    pub restart_required: bool,
    /// The oldest running version this update may be installed on.
    pub minimum_version: String,
    /// The store schema version (last migration) the new version runs with, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<u64>,
    /// What changed, one item per line of `pending.info.contents`.
    pub contents: Vec<String>,
    /// `pending.info.knowledge_base`: an http(s) URL, or absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub knowledge_base: Option<String>,
    /// End-user license agreements, full texts (`pending.info.eulas`).
    pub eulas: Vec<String>,
    pub package: PackageRef,
}

/// `appliance.update.summary`, as the manifest gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateSummary {
    pub version: String,
    pub name: String,
    pub description: String,
    pub priority: Priority,
    pub severity: Severity,
    pub update_type: UpdateType,
    #[serde(with = "time::serde::rfc3339")]
    pub release_date: OffsetDateTime,
    pub reboot_required: bool,
    /// Download size in bytes (vAPI reports it in MB).
    pub size: u64,
}

impl Manifest {
    pub fn summary(&self) -> UpdateSummary {
        UpdateSummary {
            version: self.version.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            priority: self.priority,
            severity: self.severity,
            update_type: self.update_type,
            release_date: self.release_date,
            reboot_required: self.reboot_required,
            size: self.package.size,
        }
    }

    /// The bytes a repository holds (and its signature covers).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Reads and checks `manifest.json`.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, UpdateError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| UpdateError::manifest("manifest", format!("not JSON: {e}")))?;
        let top = Fields::of(&value, "manifest")?;
        let format = top.number("format")?;
        if format != MANIFEST_FORMAT {
            return Err(top.bad(
                "format",
                format!("format {format} is not readable by this version, which reads {MANIFEST_FORMAT}"),
            ));
        }
        let product = top.text("product", MAX_TEXT)?;
        if product != PRODUCT {
            return Err(top.bad("product", format!("{product:?} is not {PRODUCT:?}")));
        }
        let version = top.version("version")?;
        let minimum_version = top.version("minimum_version")?;
        if crate::version::compare_versions(&minimum_version, &version).is_gt() {
            return Err(top.bad(
                "minimum_version",
                format!("{minimum_version} is above the version {version}"),
            ));
        }
        let release_date = top.text("release_date", 64)?;
        let release_date = OffsetDateTime::parse(&release_date, &Rfc3339).map_err(|e| {
            top.bad(
                "release_date",
                format!("{release_date:?} is not an RFC 3339 date and time: {e}"),
            )
        })?;
        let knowledge_base = match top.get("knowledge_base") {
            None | Some(Value::Null) => None,
            Some(_) => {
                let url = top.text("knowledge_base", MAX_TEXT)?;
                match url::Url::parse(&url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => Some(url),
                    _ => {
                        return Err(
                            top.bad("knowledge_base", format!("{url:?} is not an http(s) URL"))
                        )
                    }
                }
            }
        };
        let schema_version = match top.get("schema_version") {
            None | Some(Value::Null) => None,
            Some(_) => Some(top.number("schema_version")?),
        };
        let package = Fields::of(top.require("package")?, "manifest.package")?;
        let size = package.number("size")?;
        if size == 0 || size > MAX_PACKAGE_SIZE {
            return Err(package.bad(
                "size",
                format!("{size} bytes is not between 1 and {MAX_PACKAGE_SIZE}"),
            ));
        }
        let sha256 = package.text("sha256", 64)?;
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(package.bad("sha256", "not 64 lowercase hexadecimal digits"));
        }
        let files = package.list("files", MAX_TEXT)?;
        if files.is_empty() {
            return Err(package.bad("files", "empty: the package holds no file"));
        }
        for (i, f) in files.iter().enumerate() {
            if !plain_name(f) {
                return Err(package.bad(
                    &format!("files[{i}]"),
                    format!("{f:?} is not a plain file name"),
                ));
            }
        }
        let file = package.text("file", 255)?;
        if !plain_name(&file) {
            return Err(package.bad("file", format!("{file:?} is not a plain file name")));
        }
        Ok(Manifest {
            format,
            product,
            build: top.text("build", MAX_TEXT)?,
            name: top.text("name", MAX_TEXT)?,
            description: top.text("description", MAX_LONG_TEXT)?,
            severity: top.choice("severity", Severity::parse, Severity::ALL)?,
            priority: top.choice("priority", Priority::parse, Priority::ALL)?,
            update_type: top.choice("update_type", UpdateType::parse, UpdateType::ALL)?,
            reboot_required: top.boolean("reboot_required")?,
            restart_required: top.boolean("restart_required")?,
            contents: top.list("contents", MAX_TEXT)?,
            eulas: top.list("eulas", MAX_LONG_TEXT)?,
            version,
            minimum_version,
            release_date,
            schema_version,
            knowledge_base,
            package: PackageRef {
                file,
                size,
                sha256,
                files,
            },
        })
    }
}

/// A name that stays inside the directory it is joined to.
pub(crate) fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
}

/// One JSON object of the manifest and its path, for errors naming the field.
struct Fields<'a> {
    object: &'a Map<String, Value>,
    path: &'static str,
}

impl<'a> Fields<'a> {
    fn of(value: &'a Value, path: &'static str) -> Result<Fields<'a>, UpdateError> {
        match value {
            Value::Object(object) => Ok(Fields { object, path }),
            _ => Err(UpdateError::manifest(path, "not a JSON object")),
        }
    }

    fn bad(&self, key: &str, reason: impl Into<String>) -> UpdateError {
        UpdateError::manifest(format!("{}.{key}", self.path), reason)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.object.get(key)
    }

    fn require(&self, key: &str) -> Result<&'a Value, UpdateError> {
        match self.object.get(key) {
            None | Some(Value::Null) => Err(self.bad(key, "missing")),
            Some(v) => Ok(v),
        }
    }

    fn text(&self, key: &str, max: usize) -> Result<String, UpdateError> {
        match self.require(key)? {
            Value::String(s) if s.trim().is_empty() => Err(self.bad(key, "empty")),
            Value::String(s) if s.len() > max => {
                Err(self.bad(key, format!("longer than {max} bytes")))
            }
            Value::String(s) => Ok(s.clone()),
            _ => Err(self.bad(key, "not a string")),
        }
    }

    fn number(&self, key: &str) -> Result<u64, UpdateError> {
        self.require(key)?
            .as_u64()
            .ok_or_else(|| self.bad(key, "not a whole number of at least 0"))
    }

    fn boolean(&self, key: &str) -> Result<bool, UpdateError> {
        self.require(key)?
            .as_bool()
            .ok_or_else(|| self.bad(key, "not true or false"))
    }

    fn version(&self, key: &str) -> Result<String, UpdateError> {
        let v = self.text(key, 64)?;
        if !is_version(&v) {
            return Err(self.bad(key, format!("{v:?} is not a version such as 1.2.3")));
        }
        Ok(v)
    }

    fn choice<T>(
        &self,
        key: &str,
        parse: fn(&str) -> Option<T>,
        all: &[&str],
    ) -> Result<T, UpdateError> {
        let v = self.text(key, MAX_TEXT)?;
        parse(&v).ok_or_else(|| self.bad(key, format!("{v:?} is not one of {}", all.join(", "))))
    }

    fn list(&self, key: &str, max: usize) -> Result<Vec<String>, UpdateError> {
        let Value::Array(items) = self.require(key)? else {
            return Err(self.bad(key, "not a list of strings"));
        };
        if items.len() > MAX_ITEMS {
            return Err(self.bad(key, format!("more than {MAX_ITEMS} items")));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) if s.len() <= max => Ok(s.clone()),
                Value::String(_) => {
                    Err(self.bad(&format!("{key}[{i}]"), format!("longer than {max} bytes")))
                }
                _ => Err(self.bad(&format!("{key}[{i}]"), "not a string")),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Value {
        serde_json::json!({
            "format": 1,
            "product": "ferrocenter",
            "version": "0.2.0",
            "build": "abc123",
            "name": "ferrocenter 0.2.0",
            "description": "Fixes",
            "release_date": "2026-12-07T10:00:00Z",
            "severity": "IMPORTANT",
            "priority": "HIGH",
            "update_type": "FIX",
            "reboot_required": false,
            "restart_required": true,
            "minimum_version": "0.1.0",
            "contents": ["a fix"],
            "knowledge_base": "https://kb.example/1",
            "eulas": [],
            "package": {"file": "ferrocenter.zst", "size": 10, "sha256": "0".repeat(64), "files": ["ferrocenter"]}
        })
    }

    fn error_with(change: impl FnOnce(&mut Value)) -> String {
        let mut v = good();
        change(&mut v);
        Manifest::parse(&serde_json::to_vec(&v).unwrap())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_good_manifest_reads_back_as_written() {
        let m = Manifest::parse(&serde_json::to_vec(&good()).unwrap()).unwrap();
        assert_eq!(m.severity, Severity::Important);
        assert_eq!(m.summary().size, 10);
        assert_eq!(Manifest::parse(&m.to_json()).unwrap(), m);
    }

    #[test]
    fn each_bad_field_is_named_by_its_path() {
        type Change = Box<dyn FnOnce(&mut Value)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "manifest.severity:",
                Box::new(|v| v["severity"] = "HUGE".into()),
            ),
            ("manifest.priority:", Box::new(|v| v["priority"] = 3.into())),
            (
                "manifest.update_type:",
                Box::new(|v| v["update_type"] = "PATCH".into()),
            ),
            (
                "manifest.version:",
                Box::new(|v| v["version"] = "v2".into()),
            ),
            ("manifest.build:", Box::new(|v| v["build"] = "".into())),
            (
                "manifest.name:",
                Box::new(|v| {
                    v.as_object_mut().unwrap().remove("name");
                }),
            ),
            (
                "manifest.release_date:",
                Box::new(|v| v["release_date"] = "yesterday".into()),
            ),
            (
                "manifest.reboot_required:",
                Box::new(|v| v["reboot_required"] = "no".into()),
            ),
            (
                "manifest.restart_required:",
                Box::new(|v| v["restart_required"] = Value::Null),
            ),
            (
                "manifest.minimum_version:",
                Box::new(|v| v["minimum_version"] = "0.3.0".into()),
            ),
            (
                "manifest.contents[0]:",
                Box::new(|v| v["contents"] = serde_json::json!([1])),
            ),
            ("manifest.eulas:", Box::new(|v| v["eulas"] = "text".into())),
            (
                "manifest.knowledge_base:",
                Box::new(|v| v["knowledge_base"] = "ftp://x".into()),
            ),
            ("manifest.format:", Box::new(|v| v["format"] = 2.into())),
            (
                "manifest.product:",
                Box::new(|v| v["product"] = "other".into()),
            ),
            (
                "manifest.package.sha256:",
                Box::new(|v| v["package"]["sha256"] = "XYZ".into()),
            ),
            (
                "manifest.package.size:",
                Box::new(|v| v["package"]["size"] = 0.into()),
            ),
            (
                "manifest.package.file:",
                Box::new(|v| v["package"]["file"] = "../x".into()),
            ),
            (
                "manifest.package.files[0]:",
                Box::new(|v| v["package"]["files"] = serde_json::json!(["/bin/sh"])),
            ),
            ("manifest.package:", Box::new(|v| v["package"] = "x".into())),
        ];
        for (field, change) in cases {
            let e = error_with(change);
            assert!(e.starts_with(field), "{field}: {e}");
        }
        assert!(Manifest::parse(b"[")
            .unwrap_err()
            .to_string()
            .starts_with("manifest:"));
    }
}
