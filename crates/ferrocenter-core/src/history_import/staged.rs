//! The staged history: the `seat` part of a backup, read once from its archive into the data
//! directory, one file per table (JSON lines through zstd, each file's SHA-256 recorded), so
//! that the import reads it batch by batch long after the archive and its password are gone,
//! and can start again at any batch. Staging decrypts and names each statistics item by its id
//! rather than by the source's row number, which means nothing on another server.
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::tables::{rule_of, HistoryTables, ITEM_COLUMN};
use crate::ports::{Cell, StoreError, TableSource};
use crate::recovery::{self, OpenedArchive, PartId, RecoveryError};

/// The staged export's directory under the work directory.
pub const DIR: &str = "history-import";
/// Its description, written last: a directory without it holds no staged history.
pub const MANIFEST: &str = "staged.json";
const ZSTD_LEVEL: i32 = 3;

/// What is staged, as `staged.json` says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Staged {
    /// Tells one staging from the next: the store's import record names the one it imports.
    pub id: String,
    /// The source server's name and the time its backup was made, from the archive.
    pub source: String,
    pub backup_time: String,
    pub schema_version: i64,
    /// In the order they are imported (the part's: statistics items before their samples).
    pub tables: Vec<StagedTable>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StagedTable {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: u64,
    pub file: String,
    pub sha256: String,
}

impl Staged {
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    pub fn rows_of(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .filter(|t| t.name == table)
            .map(|t| t.rows)
            .sum()
    }
}

/// What went wrong with the staged files; said as is in the import's BLOCKED notification.
#[derive(Debug, thiserror::Error)]
pub enum StagedError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the staged file {file} fails its checksum: it was altered or damaged since it was \
         staged (put it back, or stage the history again)"
    )]
    Checksum { file: String },
    #[error("the staged file {file} is damaged at row {row}: {detail}")]
    Corrupt {
        file: String,
        row: u64,
        detail: String,
    },
    #[error("the backup's history is damaged: {0}")]
    Archive(String),
    #[error("the backup's history holds a table '{0}' that this server does not import")]
    UnknownTable(String),
}

fn io_at(path: &Path) -> impl Fn(std::io::Error) -> StagedError + '_ {
    move |source| StagedError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The staged history in `dir`, if a whole one is there.
pub fn read(dir: &Path) -> Result<Option<Staged>, StagedError> {
    let path = dir.join(MANIFEST);
    match std::fs::read(&path) {
        Ok(text) => serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| StagedError::Corrupt {
                file: MANIFEST.into(),
                row: 0,
                detail: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_at(&path)(e)),
    }
}

/// Writes the archive's `seat` part into `dir` (made; it must not hold a staging) — of it only
/// the tables `which` takes — then its `staged.json`. Touches no store row. On failure what was
/// written is left for the caller to remove.
pub fn stage(
    a: &OpenedArchive,
    dir: &Path,
    id: String,
    which: HistoryTables,
) -> Result<Staged, StagedError> {
    std::fs::create_dir_all(dir).map_err(io_at(dir))?;
    let mut source =
        recovery::read_part(a, PartId::Seat).map_err(|e| StagedError::Archive(e.to_string()))?;
    // A statistics item's number in the source, to its id.
    let mut items: HashMap<i64, String> = HashMap::new();
    let mut tables = Vec::new();
    loop {
        let next = match source.next_table() {
            Ok(next) => next,
            Err(e) => return Err(archive_error(source.take_error(), e)),
        };
        let Some((table, columns)) = next else {
            break;
        };
        let Some(rule) = rule_of(&table) else {
            return Err(StagedError::UnknownTable(table));
        };
        if !which.takes(rule) {
            // The part is one stream: a table left out is read past.
            loop {
                match source.next_row() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return Err(archive_error(source.take_error(), e)),
                }
            }
            continue;
        }
        let file = format!("{table}.jsonl.zst");
        let path = dir.join(&file);
        let out = BufWriter::new(File::create(&path).map_err(io_at(&path))?);
        let mut out = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL).map_err(io_at(&path))?;
        let col = |name: &str| columns.iter().position(|c| c == name);
        let (num_col, id_col, item_col) = (col("num"), col("id"), col(ITEM_COLUMN));
        let mut rows = 0u64;
        let mut line = Vec::with_capacity(1024);
        loop {
            let next = match source.next_row() {
                Ok(next) => next,
                Err(e) => return Err(archive_error(source.take_error(), e)),
            };
            let Some(mut cells) = next else {
                break;
            };
            rows += 1;
            if table == "stat_items" {
                if let (Some(n), Some(i)) = (num_col, id_col) {
                    if let (Some(Cell::Int(num)), Some(Cell::Text(id))) =
                        (cells.get(n), cells.get(i))
                    {
                        items.insert(*num, id.clone());
                    }
                }
            } else if let (true, Some(i)) = (table.starts_with("stat_"), item_col) {
                let num = match cells.get(i) {
                    Some(Cell::Int(n)) => *n,
                    _ => {
                        return Err(StagedError::Archive(format!(
                            "a row of {table} names no statistics item"
                        )))
                    }
                };
                let id = items.get(&num).cloned().ok_or_else(|| {
                    StagedError::Archive(format!(
                        "a row of {table} names item {num}, which stat_items does not hold"
                    ))
                })?;
                cells[i] = Cell::Text(id);
            }
            line.clear();
            serde_json::to_writer(&mut line, &cells).map_err(|e| StagedError::Corrupt {
                file: file.clone(),
                row: rows,
                detail: e.to_string(),
            })?;
            line.push(b'\n');
            out.write_all(&line).map_err(io_at(&path))?;
        }
        let inner = out.finish().map_err(io_at(&path))?;
        let f = inner
            .into_inner()
            .map_err(|e| io_at(&path)(e.into_error()))?;
        f.sync_all().map_err(io_at(&path))?;
        tables.push(StagedTable {
            name: table,
            columns,
            rows,
            sha256: hash_file(&path)?,
            file,
        });
    }
    let m = &a.manifest;
    let staged = Staged {
        id,
        source: m.system_name.clone(),
        backup_time: m.created_at.clone(),
        schema_version: m.schema_version,
        tables,
    };
    let path = dir.join(MANIFEST);
    let text = serde_json::to_vec_pretty(&staged).map_err(|e| StagedError::Corrupt {
        file: MANIFEST.into(),
        row: 0,
        detail: e.to_string(),
    })?;
    std::fs::write(&path, text).map_err(io_at(&path))?;
    Ok(staged)
}

/// The archive's own cause when the reader kept one, else the store-shaped error.
fn archive_error(cause: Option<RecoveryError>, e: StoreError) -> StagedError {
    StagedError::Archive(cause.map_or_else(|| e.to_string(), |c| c.to_string()))
}

fn hash_file(path: &Path) -> Result<String, StagedError> {
    let mut f = BufReader::with_capacity(1 << 16, File::open(path).map_err(io_at(path))?);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io_at(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Reads one staged table's rows from a given row on, after checking its checksum.
pub struct TableReader {
    file: String,
    lines: Box<dyn BufRead + Send>,
    row: u64,
    buf: String,
}

impl TableReader {
    /// Opens `t`'s file, refusing it when its bytes are not those staged, and skips the first
    /// `from` rows (those already imported).
    pub fn open(dir: &Path, t: &StagedTable, from: u64) -> Result<TableReader, StagedError> {
        let path = dir.join(&t.file);
        if hash_file(&path)? != t.sha256 {
            return Err(StagedError::Checksum {
                file: t.file.clone(),
            });
        }
        let f = BufReader::with_capacity(1 << 16, File::open(&path).map_err(io_at(&path))?);
        let decoder = zstd::stream::read::Decoder::with_buffer(f).map_err(io_at(&path))?;
        let mut r = TableReader {
            file: t.file.clone(),
            lines: Box::new(BufReader::with_capacity(1 << 16, decoder)),
            row: 0,
            buf: String::new(),
        };
        while r.row < from {
            if r.next_line()?.is_none() {
                break;
            }
        }
        Ok(r)
    }

    fn next_line(&mut self) -> Result<Option<&str>, StagedError> {
        self.buf.clear();
        let n = self
            .lines
            .read_line(&mut self.buf)
            .map_err(|e| StagedError::Corrupt {
                file: self.file.clone(),
                row: self.row + 1,
                detail: e.to_string(),
            })?;
        if n == 0 {
            return Ok(None);
        }
        self.row += 1;
        Ok(Some(self.buf.as_str()))
    }

    /// At most `n` more rows; fewer only at the table's end.
    pub fn batch(&mut self, n: usize) -> Result<Vec<Vec<Cell>>, StagedError> {
        let mut rows = Vec::with_capacity(n);
        while rows.len() < n {
            let Some(line) = self.next_line()? else {
                break;
            };
            let cells: Vec<Cell> =
                serde_json::from_str(line).map_err(|e| StagedError::Corrupt {
                    file: self.file.clone(),
                    row: self.row,
                    detail: e.to_string(),
                })?;
            rows.push(cells);
        }
        Ok(rows)
    }
}
