//! ISO 9660 images through hadris-iso (pure Rust, reads and writes; no loop mount, so no root
//! privilege and no mount left behind): finding a file of the root directory by its Rock Ridge
//! or Joliet name (as xorriso and the `update-repo` tool write them), and writing the image the
//! tool makes.
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use ferrocenter_core::ports::UpdateSourceError;
use hadris_iso::read::{IsoImage, PathSeparator};
use hadris_iso::write::options::{CreationFeatures, FormatOptions};
use hadris_iso::write::{File as WriteFile, InputFiles, IsoImageWriter};

use super::local::Span;

/// ISO 9660's sector size: extents are counted in sectors.
const SECTOR: u64 = 2048;

/// The name of a root directory entry as a person reads it: the Rock Ridge name, else Joliet
/// (UTF-16BE) or plain ISO 9660 without its `;1` version and a lone trailing dot.
fn entry_name(entry: &hadris_iso::read::DirEntry) -> String {
    if let Some(nm) = entry.rrip.as_ref().and_then(|r| r.alternate_name.clone()) {
        return nm;
    }
    let raw = entry.name();
    let text = if raw.len() >= 2
        && raw.len().is_multiple_of(2)
        && raw.iter().step_by(2).any(|b| *b == 0)
    {
        let units: Vec<u16> = raw
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(raw).into_owned()
    };
    let text = text.split(';').next().unwrap_or_default();
    text.strip_suffix('.').unwrap_or(text).to_string()
}

/// Where `name` of the image's root directory lies in the image file.
pub(super) fn find(image: &Path, name: &str, location: &str) -> Result<Span, UpdateSourceError> {
    let invalid = |reason: String| UpdateSourceError::Invalid {
        location: location.into(),
        reason,
    };
    let file = File::open(image).map_err(|e| UpdateSourceError::Unreachable {
        location: location.into(),
        reason: e.to_string(),
    })?;
    let iso = IsoImage::open(BufReader::new(file))
        .map_err(|e| invalid(format!("neither a directory nor an ISO 9660 image: {e}")))?;
    let root = iso.root_dir();
    for entry in root.iter(&iso).entries() {
        let entry = entry.map_err(|e| invalid(format!("a damaged directory record: {e}")))?;
        if entry.is_special() || entry.is_directory() {
            continue;
        }
        let found = entry_name(&entry);
        // Plain ISO 9660 names are upper case; the others keep their case.
        if found == name || (entry.rrip.is_none() && found.eq_ignore_ascii_case(name)) {
            let header = entry.header();
            return Ok(Span {
                path: image.to_path_buf(),
                offset: u64::from(header.extent.read()) * SECTOR,
                len: entry.total_size(),
            });
        }
    }
    Err(UpdateSourceError::NotFound {
        location: location.into(),
        file: name.into(),
    })
}

/// A file for [`write_iso`]: its name in the image's root directory and its content.
pub struct IsoFile {
    pub name: String,
    pub contents: Vec<u8>,
}

/// Writes an ISO 9660 image with Rock Ridge and Joliet names holding `files` at its root.
pub fn write_iso(out: &Path, volume: &str, files: Vec<IsoFile>) -> std::io::Result<()> {
    let files = InputFiles {
        path_separator: PathSeparator::ForwardSlash,
        files: files
            .into_iter()
            .map(|f| WriteFile::File {
                name: Arc::new(f.name),
                contents: f.contents,
            })
            .collect(),
    };
    let options = FormatOptions {
        volume_name: volume.to_ascii_uppercase(),
        system_id: None,
        volume_set_id: None,
        publisher_id: None,
        preparer_id: None,
        application_id: Some("FERROCENTER".into()),
        sector_size: SECTOR as usize,
        path_separator: PathSeparator::ForwardSlash,
        features: CreationFeatures::with_extensions(),
        strict_charset: false,
    };
    // The writer reads back what it wrote and fails on a short file: the file is first sized
    // to hold everything (sparse), then cut to the image's own size.
    let content: u64 = files
        .files
        .iter()
        .map(|f| match f {
            WriteFile::File { contents, .. } => (contents.len() as u64).div_ceil(SECTOR) * SECTOR,
            WriteFile::Directory { .. } => SECTOR,
        })
        .sum();
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(out)?;
    file.set_len(content + (1 << 20))?;
    IsoImageWriter::format_new(&mut file, files, options).map_err(std::io::Error::other)?;
    // The primary volume descriptor (sector 16) holds the volume's size in sectors at byte 80,
    // little-endian first.
    use std::io::{Read, Seek, SeekFrom};
    let mut size = [0u8; 4];
    file.seek(SeekFrom::Start(16 * SECTOR + 80))?;
    file.read_exact(&mut size)?;
    let sectors = u64::from(u32::from_le_bytes(size));
    if sectors > 0 && sectors * SECTOR <= content + (1 << 20) {
        file.set_len(sectors * SECTOR)?;
    }
    file.sync_all()
}
