//! Writing a bundle: a gzip-compressed tar of in-memory files, written to `<id>.tgz.partial`
//! and renamed to `<id>.tgz` once complete and synced, so that a bundle file that exists is a
//! whole one. The compressed size is counted as it is written; past the limit the write stops
//! and the partial file is removed.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// One file of the bundle: its path inside it and its content.
pub struct Entry {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Why a bundle could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the bundle exceeds the size limit of {limit} bytes (support_bundle_max_bytes)")]
    TooLarge { limit: u64 },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Written {
    pub size: u64,
    pub sha256: String,
}

/// Counts and hashes what goes to the file, and refuses bytes past the limit.
struct Limited {
    file: std::fs::File,
    written: u64,
    limit: u64,
    hash: Sha256,
    over: Arc<AtomicBool>,
}

impl Write for Limited {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() as u64 > self.limit {
            self.over.store(true, Ordering::Relaxed);
            return Err(std::io::Error::other("size limit"));
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Writes `entries` under the top directory `root` of a `.tgz` at `dest`. Blocking: call it
/// off the async threads. On any failure nothing is left at `dest` or its partial file.
pub fn write_tgz(
    dest: &Path,
    root: &str,
    entries: &[Entry],
    limit: u64,
    mtime: u64,
) -> Result<Written, WriteError> {
    let partial = dest.with_extension("tgz.partial");
    let result = write_partial(&partial, root, entries, limit, mtime).and_then(|w| {
        std::fs::rename(&partial, dest).map_err(|source| WriteError::Io {
            path: dest.to_path_buf(),
            source,
        })?;
        Ok(w)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
        let _ = std::fs::remove_file(dest);
    }
    result
}

fn write_partial(
    partial: &Path,
    root: &str,
    entries: &[Entry],
    limit: u64,
    mtime: u64,
) -> Result<Written, WriteError> {
    let io = |source| WriteError::Io {
        path: partial.to_path_buf(),
        source,
    };
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(partial)
            .map_err(io)?
    };
    let over_limit = Arc::new(AtomicBool::new(false));
    let out = Limited {
        file,
        written: 0,
        limit,
        hash: Sha256::new(),
        over: over_limit.clone(),
    };
    let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let over = |e: std::io::Error| {
        if over_limit.load(Ordering::Relaxed) {
            WriteError::TooLarge { limit }
        } else {
            io(e)
        }
    };
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(e.bytes.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(mtime);
        h.set_entry_type(tar::EntryType::Regular);
        let path = format!("{root}/{}", e.path);
        if let Err(err) = tar.append_data(&mut h, &path, e.bytes.as_slice()) {
            return Err(over(err));
        }
    }
    if let Err(err) = tar.finish() {
        return Err(over(err));
    }
    let gz = tar.into_inner().map_err(over)?;
    let mut out = gz.finish().map_err(over)?;
    out.flush().map_err(io)?;
    out.file.sync_all().map_err(io)?;
    Ok(Written {
        size: out.written,
        sha256: hex::encode(out.hash.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_limit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("b.tgz");
        // Random bytes do not compress: the limit is met whatever gzip does.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let noise: Vec<u8> = (0..200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        let e = write_tgz(
            &dest,
            "r",
            &[Entry {
                path: "x".into(),
                bytes: noise,
            }],
            10_000,
            0,
        )
        .unwrap_err();
        assert!(matches!(e, WriteError::TooLarge { .. }), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let w = write_tgz(
            &dest,
            "r",
            &[Entry {
                path: "x".into(),
                bytes: b"hello".to_vec(),
            }],
            10_000,
            0,
        )
        .unwrap();
        assert_eq!(w.size, std::fs::metadata(&dest).unwrap().len());
    }
}
