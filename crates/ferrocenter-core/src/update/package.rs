//! The package: the release binaries as a tar compressed with zstd (`ferrocenter.zst`). Built by
//! the `update-repo` tool, unpacked at install. Unpacking takes regular files and directories
//! only, each inside the target directory: an absolute path, `..`, a link or a device is refused,
//! and so is more content than the caller allows (a small package that expands without end).
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use super::UpdateError;

/// The package's file name in repositories the tool makes.
pub const PACKAGE_FILE: &str = "ferrocenter.zst";

/// Writes the package of `files` (name in the package, file on disk) to `out`; returns its
/// size and SHA-256. Entries carry no owner or time, so the same files give the same package.
pub fn build_package(
    files: &[(String, PathBuf)],
    out: &Path,
) -> Result<(u64, String), UpdateError> {
    let file = File::create(out).map_err(|e| UpdateError::io(out, e))?;
    let encoder = zstd::stream::Encoder::new(file, 3).map_err(|e| UpdateError::io(out, e))?;
    let mut tar = tar::Builder::new(encoder);
    for (name, path) in files {
        if !super::manifest::plain_name(name) {
            return Err(UpdateError::Package {
                file: out.display().to_string(),
                reason: format!("{name:?} is not a plain file name"),
            });
        }
        let mut source = File::open(path).map_err(|e| UpdateError::io(path, e))?;
        let len = source
            .metadata()
            .map_err(|e| UpdateError::io(path, e))?
            .len();
        let mut header = tar::Header::new_gnu();
        header.set_size(len);
        header.set_mode(0o755);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mtime(0);
        tar.append_data(&mut header, name, &mut source)
            .map_err(|e| UpdateError::io(path, e))?;
    }
    let encoder = tar.into_inner().map_err(|e| UpdateError::io(out, e))?;
    let mut file = encoder.finish().map_err(|e| UpdateError::io(out, e))?;
    file.flush().map_err(|e| UpdateError::io(out, e))?;
    sha256_file(out)
}

/// The size and SHA-256 (lowercase hex) of a file.
pub fn sha256_file(path: &Path) -> Result<(u64, String), UpdateError> {
    let mut file = BufReader::new(File::open(path).map_err(|e| UpdateError::io(path, e))?);
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| UpdateError::io(path, e))?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex::encode(hash.finalize())))
}

/// Unpacks `package` into `dir` (created if absent); refuses more than `limit` bytes of
/// content. Returns the files written, relative to `dir`.
pub fn unpack(package: &Path, dir: &Path, limit: u64) -> Result<Vec<PathBuf>, UpdateError> {
    let refuse = |reason: String| UpdateError::Package {
        file: package.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| UpdateError::io(dir, e))?;
    let file = File::open(package).map_err(|e| UpdateError::io(package, e))?;
    let decoder = zstd::stream::Decoder::new(file).map_err(|e| refuse(e.to_string()))?;
    let mut archive = tar::Archive::new(decoder);
    let mut written = Vec::new();
    let mut total = 0u64;
    for entry in archive.entries().map_err(|e| refuse(e.to_string()))? {
        let mut entry = entry.map_err(|e| refuse(format!("not a zstd-compressed tar: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| refuse(e.to_string()))?
            .into_owned();
        let shown = path.display().to_string();
        if path.as_os_str().is_empty()
            || !path
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(refuse(format!(
                "the entry {shown:?} would be written outside the directory"
            )));
        }
        let target = dir.join(&path);
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target).map_err(|e| UpdateError::io(&target, e))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.size();
                total = total.saturating_add(size);
                if total > limit {
                    return Err(refuse(format!("its content exceeds {limit} bytes")));
                }
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| UpdateError::io(parent, e))?;
                }
                let mode = entry.header().mode().unwrap_or(0o644) & 0o755;
                let mut out = open_new(&target, mode).map_err(|e| UpdateError::io(&target, e))?;
                // `take` bounds the copy by the header's size even if the stream says more.
                std::io::copy(&mut (&mut entry).take(size), &mut out)
                    .map_err(|e| refuse(format!("{shown}: {e}")))?;
                out.sync_all().map_err(|e| UpdateError::io(&target, e))?;
                written.push(path);
            }
            other => {
                return Err(refuse(format!(
                "the entry {shown:?} is a {other:?}; only regular files and directories are taken"
            )))
            }
        }
    }
    Ok(written)
}

/// A new file (replacing one of the same name, never following a link planted there).
fn open_new(path: &Path, mode: u32) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::symlink_metadata(path) {
        Ok(_) => std::fs::remove_file(path)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_unpack_to_what_was_packed() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::write(&bin, b"#!/bin/sh\necho hi\n").unwrap();
        let pkg = dir.path().join(PACKAGE_FILE);
        let (size, sha) = build_package(&[("ferrocenter".into(), bin.clone())], &pkg).unwrap();
        assert_eq!(sha256_file(&pkg).unwrap(), (size, sha.clone()));
        let (_, again) =
            build_package(&[("ferrocenter".into(), bin)], &dir.path().join("2")).unwrap();
        assert_eq!(again, sha, "the same files make the same package");
        let out = dir.path().join("out");
        assert_eq!(
            unpack(&pkg, &out, 1 << 20).unwrap(),
            vec![PathBuf::from("ferrocenter")]
        );
        assert_eq!(
            std::fs::read(out.join("ferrocenter")).unwrap(),
            b"#!/bin/sh\necho hi\n"
        );
        let e = unpack(&pkg, &dir.path().join("small"), 4).unwrap_err();
        assert!(e.to_string().contains("exceeds 4 bytes"), "{e}");
    }

    #[test]
    fn entries_escaping_the_directory_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("evil.zst");
        {
            let enc = zstd::stream::Encoder::new(File::create(&pkg).unwrap(), 3).unwrap();
            let mut tar = tar::Builder::new(enc);
            let mut header = tar::Header::new_gnu();
            header.set_size(2);
            header.set_mode(0o644);
            // Written into the raw name field: `append_data` itself refuses `..`.
            header.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"../escaped.sh");
            header.set_cksum();
            tar.append(&header, &b"hi"[..]).unwrap();
            tar.into_inner().unwrap().finish().unwrap();
        }
        let out = dir.path().join("out");
        let e = unpack(&pkg, &out, 1 << 20).unwrap_err();
        assert!(e.to_string().contains("outside the directory"), "{e}");
        assert!(!dir.path().join("escaped.sh").exists());
    }
}
