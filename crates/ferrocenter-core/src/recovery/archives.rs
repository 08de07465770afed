//! What is really on a location (`recovery.backup.system_name` and its `archive` listings):
//! the system names under it, and under one system name the archives a manifest marks complete.
//! Reads go through the location port; a directory without `manifest.json` is a backup that did
//! not finish and is not listed.
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::layout::{below, parse_archive_name};
use super::{manifest, Manifest};
use crate::auth::{Caller, Privilege};
use crate::ports::{BackupTarget, Location, LocationError};
use crate::{Core, CoreError};

/// `archive.summary` and `archive.info` in one.
#[derive(Debug, Clone)]
pub struct ArchiveInfo {
    /// The archive's directory name under its system name.
    pub archive: String,
    pub timestamp: OffsetDateTime,
    /// The archive's own location (its directory).
    pub location: String,
    pub parts: Vec<String>,
    pub version: String,
    pub system_name: String,
    pub comment: String,
}

/// `archive.filter_spec`.
#[derive(Debug, Clone, Default)]
pub struct ArchiveFilter {
    pub start_timestamp: Option<OffsetDateTime>,
    pub end_timestamp: Option<OffsetDateTime>,
    pub comment_substring: Option<String>,
    pub max_results: Option<i64>,
}

/// Reads `manifest.json` under `dir` of `location`.
pub(crate) async fn read_manifest(
    target: &dyn BackupTarget,
    location: &Location,
    dir: &str,
) -> Result<Manifest, CoreError> {
    let path = if dir.is_empty() {
        manifest::MANIFEST_FILE.to_string()
    } else {
        format!("{dir}/{}", manifest::MANIFEST_FILE)
    };
    let mut bytes: Vec<u8> = Vec::new();
    match target.get(location, &path, &mut bytes).await {
        Err(LocationError::NotFound { .. }) => {
            return Err(CoreError::not_found(
                "backup archive",
                below(location, dir).url,
            ))
        }
        r => r?,
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        CoreError::invalid(
            "location",
            format!("{}/{path} is not a ferrocenter manifest: {e}", location.url),
        )
    })
}

fn not_found(location: &Location, what: &str) -> CoreError {
    CoreError::not_found(what, location.url.clone())
}

impl Core {
    /// `system_name.list`: the directories under the location that hold archives.
    pub async fn backup_system_names(
        &self,
        caller: &Caller,
        location: &Location,
    ) -> Result<Vec<String>, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let entries = match self.backup_target.list(location, "").await {
            Err(LocationError::NotFound { .. }) => {
                return Err(not_found(location, "backup location"))
            }
            r => r?,
        };
        let mut names = Vec::new();
        for dir in entries.iter().filter(|e| e.is_dir) {
            let inner = self.backup_target.list(location, &dir.name).await?;
            if inner
                .iter()
                .any(|e| e.is_dir && parse_archive_name(&e.name).is_some())
            {
                names.push(dir.name.clone());
            }
        }
        names.sort();
        Ok(names)
    }

    /// `system_name.archive.list`: the complete archives under `<location>/<system_name>`,
    /// newest first, filtered.
    pub async fn backup_archives(
        &self,
        caller: &Caller,
        location: &Location,
        system_name: &str,
        filter: &ArchiveFilter,
    ) -> Result<Vec<ArchiveInfo>, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let entries = match self.backup_target.list(location, system_name).await {
            Err(LocationError::NotFound { .. }) => {
                return Err(CoreError::not_found("system name", system_name))
            }
            r => r?,
        };
        let mut names: Vec<String> = entries
            .into_iter()
            .filter(|e| e.is_dir && parse_archive_name(&e.name).is_some())
            .map(|e| e.name)
            .collect();
        names.sort_by(|a, b| b.cmp(a));
        let mut out = Vec::new();
        for name in names {
            let info = match self.archive_info(location, system_name, &name).await {
                Ok(i) => i,
                // Incomplete (no manifest yet, or a backup that failed): not an archive.
                Err(CoreError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            if filter.start_timestamp.is_some_and(|t| info.timestamp < t)
                || filter.end_timestamp.is_some_and(|t| info.timestamp > t)
                || filter
                    .comment_substring
                    .as_deref()
                    .is_some_and(|s| !info.comment.contains(s))
            {
                continue;
            }
            out.push(info);
            if filter
                .max_results
                .is_some_and(|m| i64::try_from(out.len()).unwrap_or(i64::MAX) >= m)
            {
                break;
            }
        }
        Ok(out)
    }

    /// `system_name.archive.get`.
    pub async fn backup_archive_get(
        &self,
        caller: &Caller,
        location: &Location,
        system_name: &str,
        archive: &str,
    ) -> Result<ArchiveInfo, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        if parse_archive_name(archive).is_none() || system_name.contains('/') {
            return Err(CoreError::not_found("archive", archive));
        }
        self.archive_info(location, system_name, archive).await
    }

    async fn archive_info(
        &self,
        location: &Location,
        system_name: &str,
        archive: &str,
    ) -> Result<ArchiveInfo, CoreError> {
        let dir = format!("{system_name}/{archive}");
        let m = read_manifest(self.backup_target.as_ref(), location, &dir).await?;
        Ok(ArchiveInfo {
            archive: archive.to_string(),
            timestamp: OffsetDateTime::parse(&m.created_at, &Rfc3339)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            location: below(location, &dir).url,
            parts: m.parts.iter().map(|p| p.id.clone()).collect(),
            version: m.version,
            system_name: system_name.to_string(),
            comment: m.comment,
        })
    }
}
