//! Repository files on this machine: in a directory (a copy, or an ISO image mounted there), or
//! inside an ISO 9660 image file, where a file is one contiguous byte range read in place.
use std::path::{Path, PathBuf};

use ferrocenter_core::ports::{DownloadProgress, UpdateLocation, UpdateSourceError};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Where a repository file's bytes are.
pub(super) struct Span {
    pub path: PathBuf,
    pub offset: u64,
    pub len: u64,
}

pub(super) async fn locate(
    at: &UpdateLocation,
    root: &Path,
    file: &str,
) -> Result<Span, UpdateSourceError> {
    let meta = tokio::fs::metadata(root)
        .await
        .map_err(|e| UpdateSourceError::Unreachable {
            location: at.describe(),
            reason: format!("the directory or ISO image is not there (it must stay until the update is installed): {e}"),
        })?;
    if meta.is_dir() {
        let path = root.join(file);
        return match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => Ok(Span {
                path,
                offset: 0,
                len: m.len(),
            }),
            _ => Err(UpdateSourceError::NotFound {
                location: at.describe(),
                file: file.into(),
            }),
        };
    }
    let (root, name, location) = (root.to_path_buf(), file.to_string(), at.describe());
    tokio::task::spawn_blocking(move || super::iso::find(&root, &name, &location))
        .await
        .map_err(|e| UpdateSourceError::Io {
            location: at.describe(),
            file: file.into(),
            reason: e.to_string(),
        })?
}

pub(super) async fn copy<W: tokio::io::AsyncWrite + Unpin + Send>(
    at: &UpdateLocation,
    file: &str,
    span: &Span,
    out: &mut W,
    limit: u64,
    progress: DownloadProgress<'_>,
) -> Result<u64, UpdateSourceError> {
    if span.len > limit {
        return Err(UpdateSourceError::TooLarge {
            location: at.describe(),
            file: file.into(),
            limit,
        });
    }
    let io = |e: std::io::Error| UpdateSourceError::Io {
        location: at.describe(),
        file: file.into(),
        reason: e.to_string(),
    };
    let mut input = tokio::fs::File::open(&span.path).await.map_err(io)?;
    input
        .seek(std::io::SeekFrom::Start(span.offset))
        .await
        .map_err(io)?;
    let mut input = input.take(span.len);
    let mut buf = vec![0u8; 256 * 1024];
    let mut written = 0u64;
    loop {
        let n = input.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            break;
        }
        written = super::write_bounded(at, file, out, written, &buf[..n], limit).await?;
        progress(written);
    }
    if written != span.len {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!(
                "{written} of {} bytes read: the file or image was cut short",
                span.len
            ),
        )));
    }
    Ok(written)
}
