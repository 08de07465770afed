//! A part's file: JSON lines (a header, then per table a `{"table","columns"}` line and one
//! array per row, then an end line with the row count), compressed with zstd, encrypted when
//! the archive has a password, hashed with SHA-256 as it is written. The lines name columns,
//! so any engine reads them back whatever its column order.
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::crypto::{BackupKeys, EncryptWriter, STREAM_NONCE};
use super::manifest::{PartEntry, TableEntry};
use super::parts::{PartId, SEALED_COLUMNS};
use super::RecoveryError;
use crate::ports::{Cell, StoreError, TableSink, TableSource};
use crate::secrets::SecretBox;

const ZSTD_LEVEL: i32 = 3;

/// The lines of a part that are not rows.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Line {
    Part { part: String, schema_version: i64 },
    Table { table: String, columns: Vec<String> },
    End { rows: u64 },
}

/// Re-seals secret columns between the server's key and the archive's.
pub(crate) struct Reseal<'a> {
    pub from: &'a SecretBox,
    pub to: &'a SecretBox,
}

impl Reseal<'_> {
    fn cell(&self, cell: &mut Cell) -> Result<(), RecoveryError> {
        if let Cell::Text(sealed) = cell {
            if !sealed.is_empty() {
                let plain = self
                    .from
                    .open(sealed)
                    .map_err(|_| RecoveryError::SecretUnreadable)?;
                *sealed = self
                    .to
                    .seal(&plain)
                    .map_err(|_| RecoveryError::SecretUnreadable)?;
            }
        }
        Ok(())
    }
}

fn sealed_indexes(table: &str, columns: &[String]) -> Vec<usize> {
    SEALED_COLUMNS
        .iter()
        .filter(|(t, _)| *t == table)
        .filter_map(|(_, c)| columns.iter().position(|n| n == c))
        .collect()
}

/// Counts and hashes the bytes of a file as they are written.
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        self.hash.update(&data[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

enum Sealing<W: Write> {
    Plain(W),
    Encrypted(EncryptWriter<W>),
}

impl<W: Write> Write for Sealing<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Sealing::Plain(w) => w.write(data),
            Sealing::Encrypted(w) => w.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sealing::Plain(w) => w.flush(),
            Sealing::Encrypted(w) => w.flush(),
        }
    }
}

type Pipe = zstd::stream::write::Encoder<'static, Sealing<Hashing<BufWriter<File>>>>;

/// Writes one part's file.
pub(crate) struct PartWriter<'a> {
    part: PartId,
    file: String,
    path: PathBuf,
    out: Option<Pipe>,
    nonce: Option<[u8; STREAM_NONCE]>,
    tables: Vec<TableEntry>,
    rows: u64,
    sealed: Vec<usize>,
    reseal: Option<Reseal<'a>>,
    line: Vec<u8>,
}

fn io_at(path: &Path) -> impl Fn(io::Error) -> RecoveryError + '_ {
    move |source| RecoveryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn file_name(part: PartId, encrypted: bool) -> String {
    format!(
        "{}.jsonl.zst{}",
        part.as_str(),
        if encrypted { ".enc" } else { "" }
    )
}

impl<'a> PartWriter<'a> {
    pub fn create(
        dir: &Path,
        part: PartId,
        schema_version: i64,
        keys: Option<&BackupKeys>,
        reseal: Option<Reseal<'a>>,
    ) -> Result<PartWriter<'a>, RecoveryError> {
        let file = file_name(part, keys.is_some());
        let path = dir.join(&file);
        let f = File::create(&path).map_err(io_at(&path))?;
        let hashing = Hashing {
            inner: BufWriter::new(f),
            hash: Sha256::new(),
            bytes: 0,
        };
        let (sealing, nonce) = match keys {
            Some(k) => {
                let nonce = super::crypto::random::<STREAM_NONCE>()?;
                (
                    Sealing::Encrypted(k.encryptor(&nonce, part.as_str(), hashing)),
                    Some(nonce),
                )
            }
            None => (Sealing::Plain(hashing), None),
        };
        let out = zstd::stream::write::Encoder::new(sealing, ZSTD_LEVEL).map_err(io_at(&path))?;
        let mut w = PartWriter {
            part,
            file,
            path,
            out: Some(out),
            nonce,
            tables: Vec::new(),
            rows: 0,
            sealed: Vec::new(),
            reseal,
            line: Vec::with_capacity(4096),
        };
        w.write_line(&Line::Part {
            part: part.as_str().into(),
            schema_version,
        })?;
        Ok(w)
    }

    fn write_line<T: Serialize>(&mut self, value: &T) -> Result<(), RecoveryError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, value)
            .map_err(|e| RecoveryError::Crypto(format!("encoding a line: {e}")))?;
        self.line.push(b'\n');
        let out = self.out.as_mut().ok_or_else(|| RecoveryError::Io {
            path: self.path.clone(),
            source: io::Error::other("the part is already finished"),
        })?;
        out.write_all(&self.line).map_err(io_at(&self.path))
    }

    pub fn begin_table(&mut self, table: &str, columns: &[String]) -> Result<(), RecoveryError> {
        self.tables.push(TableEntry {
            name: table.to_string(),
            rows: 0,
        });
        self.sealed = sealed_indexes(table, columns);
        self.write_line(&Line::Table {
            table: table.to_string(),
            columns: columns.to_vec(),
        })
    }

    pub fn row(&mut self, mut cells: Vec<Cell>) -> Result<(), RecoveryError> {
        if let Some(reseal) = &self.reseal {
            for &i in &self.sealed {
                if let Some(c) = cells.get_mut(i) {
                    reseal.cell(c)?;
                }
            }
        }
        if let Some(t) = self.tables.last_mut() {
            t.rows += 1;
        }
        self.rows += 1;
        self.write_line(&cells)
    }

    /// Ends the part: the end line, the compressor's and the cipher's last frames, the file
    /// synced; returns its manifest entry.
    pub fn finish(mut self) -> Result<PartEntry, RecoveryError> {
        self.write_line(&Line::End { rows: self.rows })?;
        let io = io_at(&self.path);
        let out = self
            .out
            .take()
            .ok_or_else(|| io(io::Error::other("finished twice")))?;
        let sealing = out.finish().map_err(&io)?;
        let mut hashing = match sealing {
            Sealing::Plain(h) => h,
            Sealing::Encrypted(e) => e.finish().map_err(&io)?,
        };
        hashing.flush().map_err(&io)?;
        let file = hashing.inner.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(&io)?;
        Ok(PartEntry {
            id: self.part.as_str().into(),
            file: self.file,
            bytes: hashing.bytes,
            sha256: hex::encode(hashing.hash.finalize()),
            tables: self.tables,
            nonce: self.nonce.map(hex::encode),
        })
    }
}

/// Routes an export's tables to the writer of the part each belongs to, and keeps the first
/// archive error (the store only sees that the sink failed).
pub(crate) struct ArchiveSink<'a> {
    pub writers: Vec<PartWriter<'a>>,
    current: Option<usize>,
    pub error: Option<RecoveryError>,
}

impl<'a> ArchiveSink<'a> {
    pub fn new(writers: Vec<PartWriter<'a>>) -> Self {
        ArchiveSink {
            writers,
            current: None,
            error: None,
        }
    }

    fn fail(&mut self, e: RecoveryError) -> StoreError {
        let text = e.to_string();
        self.error.get_or_insert(e);
        StoreError::Backend(format!("writing the archive failed: {text}"))
    }
}

impl TableSink for ArchiveSink<'_> {
    fn begin_table(&mut self, table: &str, columns: &[String]) -> Result<(), StoreError> {
        let part = super::parts::part_of(table);
        let Some(i) = self.writers.iter().position(|w| Some(w.part) == part) else {
            return Err(self.fail(RecoveryError::TableWithoutPart(table.to_string())));
        };
        self.current = Some(i);
        match self.writers[i].begin_table(table, columns) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn row(&mut self, cells: Vec<Cell>) -> Result<(), StoreError> {
        let Some(i) = self.current else {
            return Err(StoreError::Backend("a row before its table".into()));
        };
        match self.writers[i].row(cells) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }
}

/// SHA-256 and length of a file.
pub(crate) fn hash_file(path: &Path) -> Result<(String, u64), RecoveryError> {
    let io = io_at(path);
    let mut f = BufReader::with_capacity(1 << 16, File::open(path).map_err(&io)?);
    let mut h = Sha256::new();
    let mut bytes = 0u64;
    loop {
        let buf = f.fill_buf().map_err(&io)?;
        if buf.is_empty() {
            break;
        }
        h.update(buf);
        let n = buf.len();
        bytes += n as u64;
        f.consume(n);
    }
    Ok((hex::encode(h.finalize()), bytes))
}

/// Reads one part's rows back, as a `TableSource`.
pub(crate) struct PartReader<'a> {
    part: String,
    lines: Box<dyn BufRead + Send + 'a>,
    buf: String,
    pending_table: Option<(String, Vec<String>)>,
    sealed: Vec<usize>,
    reseal: Option<Reseal<'a>>,
    rows: u64,
    ended: bool,
    pub error: Option<RecoveryError>,
}

impl<'a> PartReader<'a> {
    pub fn open(
        dir: &Path,
        entry: &PartEntry,
        keys: Option<&BackupKeys>,
        reseal: Option<Reseal<'a>>,
        schema_version: i64,
    ) -> Result<PartReader<'a>, RecoveryError> {
        let path = dir.join(&entry.file);
        let file = BufReader::with_capacity(1 << 16, File::open(&path).map_err(io_at(&path))?);
        let plain: Box<dyn Read + Send> = match keys {
            Some(k) => {
                let nonce: [u8; STREAM_NONCE] = entry
                    .nonce
                    .as_deref()
                    .and_then(|n| hex::decode(n).ok())
                    .and_then(|n| n.try_into().ok())
                    .ok_or_else(|| RecoveryError::Corrupt {
                        part: entry.id.clone(),
                        detail: "its nonce is missing from the manifest".into(),
                    })?;
                Box::new(k.decryptor(&nonce, &entry.id, file))
            }
            None => Box::new(file),
        };
        let decoder = zstd::stream::read::Decoder::new(plain).map_err(io_at(&path))?;
        let mut r = PartReader {
            part: entry.id.clone(),
            lines: Box::new(BufReader::with_capacity(1 << 16, decoder)),
            buf: String::new(),
            pending_table: None,
            sealed: Vec::new(),
            reseal,
            rows: 0,
            ended: false,
            error: None,
        };
        match r.read_line()? {
            Some(Line::Part {
                part,
                schema_version: v,
            }) if part == entry.id && v == schema_version => {}
            _ => {
                return Err(r.corrupt("its header does not match the manifest"));
            }
        }
        Ok(r)
    }

    fn corrupt(&self, detail: &str) -> RecoveryError {
        RecoveryError::Corrupt {
            part: self.part.clone(),
            detail: detail.to_string(),
        }
    }

    /// The next line: a `Line`, or `None` for a row (left in `buf`).
    fn read_line(&mut self) -> Result<Option<Line>, RecoveryError> {
        self.buf.clear();
        let n = self
            .lines
            .read_line(&mut self.buf)
            .map_err(|e| RecoveryError::Corrupt {
                part: self.part.clone(),
                detail: e.to_string(),
            })?;
        if n == 0 {
            return Err(self.corrupt("it ends before its end line (truncated)"));
        }
        if self.buf.starts_with('[') {
            return Ok(None);
        }
        serde_json::from_str(&self.buf)
            .map(Some)
            .map_err(|e| self.corrupt(&format!("an unreadable line: {e}")))
    }

    fn fail(&mut self, e: RecoveryError) -> StoreError {
        let text = e.to_string();
        self.error.get_or_insert(e);
        StoreError::Backend(format!("reading the archive failed: {text}"))
    }

    fn next_table_inner(&mut self) -> Result<Option<(String, Vec<String>)>, RecoveryError> {
        if let Some(t) = self.pending_table.take() {
            return Ok(Some(t));
        }
        loop {
            if self.ended {
                return Ok(None);
            }
            match self.read_line()? {
                Some(Line::Table { table, columns }) => {
                    self.sealed = sealed_indexes(&table, &columns);
                    return Ok(Some((table, columns)));
                }
                Some(Line::End { rows }) => {
                    if rows != self.rows {
                        return Err(self.corrupt("its row count does not match its end line"));
                    }
                    self.ended = true;
                }
                Some(Line::Part { .. }) => return Err(self.corrupt("a second header")),
                None => return Err(self.corrupt("a row outside any table")),
            }
        }
    }

    fn next_row_inner(&mut self) -> Result<Option<Vec<Cell>>, RecoveryError> {
        if self.ended || self.pending_table.is_some() {
            return Ok(None);
        }
        match self.read_line()? {
            None => {
                let values: Vec<serde_json::Value> = serde_json::from_str(&self.buf)
                    .map_err(|e| self.corrupt(&format!("an unreadable row: {e}")))?;
                let mut cells = values
                    .into_iter()
                    .map(cell_of)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| self.corrupt("a row holds a list or an object"))?;
                if let Some(reseal) = &self.reseal {
                    for &i in &self.sealed {
                        if let Some(c) = cells.get_mut(i) {
                            reseal.cell(c)?;
                        }
                    }
                }
                self.rows += 1;
                Ok(Some(cells))
            }
            Some(Line::Table { table, columns }) => {
                self.sealed = sealed_indexes(&table, &columns);
                self.pending_table = Some((table, columns));
                Ok(None)
            }
            Some(Line::End { rows }) => {
                if rows != self.rows {
                    return Err(self.corrupt("its row count does not match its end line"));
                }
                self.ended = true;
                Ok(None)
            }
            Some(Line::Part { .. }) => Err(self.corrupt("a second header")),
        }
    }
}

/// A row's value as a cell. Read through `Value` rather than `Cell`'s untagged derive, which
/// buffers every value and tries each variant in turn: a restore reads millions of them.
fn cell_of(v: serde_json::Value) -> Option<Cell> {
    use serde_json::Value;
    Some(match v {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cell::Int(i),
            None => Cell::Real(n.as_f64()?),
        },
        Value::String(s) => Cell::Text(s),
        Value::Array(_) | Value::Object(_) => return None,
    })
}

/// The parts of an archive read one after the other.
pub(crate) struct ArchiveSource<'a> {
    pub readers: Vec<PartReader<'a>>,
    current: usize,
}

impl<'a> ArchiveSource<'a> {
    pub fn new(readers: Vec<PartReader<'a>>) -> Self {
        ArchiveSource {
            readers,
            current: 0,
        }
    }

    /// The first archive error a reader met, if the import failed on one.
    pub fn take_error(&mut self) -> Option<RecoveryError> {
        self.readers.iter_mut().find_map(|r| r.error.take())
    }
}

impl TableSource for ArchiveSource<'_> {
    fn next_table(&mut self) -> Result<Option<(String, Vec<String>)>, StoreError> {
        while let Some(r) = self.readers.get_mut(self.current) {
            match r.next_table_inner() {
                Ok(Some(t)) => return Ok(Some(t)),
                Ok(None) => self.current += 1,
                Err(e) => return Err(r.fail(e)),
            }
        }
        Ok(None)
    }

    fn next_row(&mut self) -> Result<Option<Vec<Cell>>, StoreError> {
        let Some(r) = self.readers.get_mut(self.current) else {
            return Ok(None);
        };
        match r.next_row_inner() {
            Ok(row) => Ok(row),
            Err(e) => Err(r.fail(e)),
        }
    }
}
