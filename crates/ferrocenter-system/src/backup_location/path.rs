//! `PATH`: a directory on this machine (`/srv/backups` or `file:///srv/backups`), e.g. a mounted
//! NFS export or SMB share.
use std::io::ErrorKind;
use std::path::PathBuf;

use async_trait::async_trait;
use ferrocenter_core::ports::{
    location_path_components, BackupTarget, GetSink, Location, LocationEntry, LocationError,
    PutBody,
};
use tokio::io::AsyncWriteExt;

use super::probe_write;

pub(super) struct LocalPath;

fn base(location: &Location) -> Result<PathBuf, LocationError> {
    let raw = location
        .url
        .strip_prefix("file://")
        .unwrap_or(&location.url);
    let raw = super::percent_decode(raw);
    if !raw.starts_with('/') {
        return Err(LocationError::Invalid {
            reason: format!("a PATH location is an absolute directory, not {raw:?}"),
        });
    }
    let mut path = PathBuf::from("/");
    for part in location_path_components(&raw)? {
        path.push(part);
    }
    Ok(path)
}

fn resolve(location: &Location, relative: &str) -> Result<PathBuf, LocationError> {
    let mut path = base(location)?;
    for part in location_path_components(relative)? {
        path.push(part);
    }
    Ok(path)
}

fn io_error(path: &std::path::Path, writing: bool, e: std::io::Error) -> LocationError {
    let shown = path.display().to_string();
    match e.kind() {
        _ if writing => LocationError::WriteRefused {
            path: shown,
            reason: e.to_string(),
        },
        ErrorKind::NotFound => LocationError::NotFound { path: shown },
        _ => LocationError::Protocol {
            reason: format!("{shown}: {e}"),
        },
    }
}

#[async_trait]
impl BackupTarget for LocalPath {
    async fn check(&self, location: &Location) -> Result<(), LocationError> {
        probe_write(self, location).await
    }

    async fn put(
        &self,
        location: &Location,
        path: &str,
        body: PutBody<'_>,
        _len: u64,
    ) -> Result<(), LocationError> {
        let target = resolve(location, path)?;
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| io_error(parent, true, e))?;
        }
        let mut file = tokio::fs::File::create(&target)
            .await
            .map_err(|e| io_error(&target, true, e))?;
        tokio::io::copy(body, &mut file)
            .await
            .map_err(|e| io_error(&target, true, e))?;
        // Durable before the archive is called complete.
        file.sync_all()
            .await
            .map_err(|e| io_error(&target, true, e))?;
        Ok(())
    }

    async fn get(
        &self,
        location: &Location,
        path: &str,
        sink: GetSink<'_>,
    ) -> Result<u64, LocationError> {
        let source = resolve(location, path)?;
        let mut file = tokio::fs::File::open(&source)
            .await
            .map_err(|e| io_error(&source, false, e))?;
        let n = tokio::io::copy(&mut file, sink)
            .await
            .map_err(|e| io_error(&source, false, e))?;
        sink.flush()
            .await
            .map_err(|e| io_error(&source, false, e))?;
        Ok(n)
    }

    async fn list(
        &self,
        location: &Location,
        dir: &str,
    ) -> Result<Vec<LocationEntry>, LocationError> {
        let dir = resolve(location, dir)?;
        let mut read = tokio::fs::read_dir(&dir)
            .await
            .map_err(|e| io_error(&dir, false, e))?;
        let mut entries = Vec::new();
        while let Some(entry) = read
            .next_entry()
            .await
            .map_err(|e| io_error(&dir, false, e))?
        {
            let meta = entry
                .metadata()
                .await
                .map_err(|e| io_error(&entry.path(), false, e))?;
            entries.push(LocationEntry {
                name: entry.file_name().to_string_lossy().into_owned(),
                size: if meta.is_dir() { 0 } else { meta.len() },
                is_dir: meta.is_dir(),
            });
        }
        Ok(entries)
    }

    async fn delete(&self, location: &Location, path: &str) -> Result<(), LocationError> {
        let target = resolve(location, path)?;
        let meta = tokio::fs::symlink_metadata(&target)
            .await
            .map_err(|e| io_error(&target, false, e))?;
        if meta.is_dir() {
            tokio::fs::remove_dir_all(&target).await
        } else {
            tokio::fs::remove_file(&target).await
        }
        .map_err(|e| io_error(&target, true, e))
    }

    async fn mkdirs(&self, location: &Location, dir: &str) -> Result<(), LocationError> {
        let target = resolve(location, dir)?;
        tokio::fs::create_dir_all(&target)
            .await
            .map_err(|e| io_error(&target, true, e))
    }
}
