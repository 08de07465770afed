use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use ferrocenter_core::ports::Store;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{PostgresStore, SqliteStore};

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL names neither engine.
    #[error("database_url: unsupported scheme in '{0}' (expected sqlite:// or postgres://)")]
    UnsupportedUrl(String),
    /// The database could not be opened or reached.
    #[error("cannot open the database: {0}")]
    Connect(String),
    /// A schema migration failed; the database is left at the last version that applied.
    #[error("database migration {version} ({name}) failed: {reason}")]
    Migration {
        version: i64,
        name: String,
        reason: String,
    },
    /// The store was expected to exist (see [`open_existing`]) and its file does not.
    #[error("the database file {} is missing", path.display())]
    Missing { path: PathBuf },
    /// The store was expected to exist and its file is empty, or too short to be a database.
    #[error("the database file {} is empty ({bytes} bytes)", path.display())]
    Empty { path: PathBuf, bytes: u64 },
    /// The file is not a database, or its integrity check found damage.
    #[error("the database file {} is corrupt: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },
}

impl OpenError {
    /// The store is there but unusable as it is (missing, empty, corrupt): starting on it would
    /// lose what it held, so a server refuses rather than retrying or starting afresh.
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            OpenError::Missing { .. } | OpenError::Empty { .. } | OpenError::Corrupt { .. }
        )
    }
}

/// The integrity problems listed in a refusal at most; the rest are counted.
const MAX_PROBLEMS_SHOWN: usize = 5;

/// The default database: `ferrocenter.db` in the data directory.
pub fn default_sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("ferrocenter.db").display())
}

/// Opens the store a URL names and brings its schema up to date; a SQLite file is made if
/// absent.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, OpenError> {
    open_as(url, Expect::NewOrExisting).await
}

/// Opens a store that must already exist: a SQLite file that is missing or empty is refused
/// (`Missing`, `Empty`) without being touched, so its write-ahead log stays as it is.
pub async fn open_existing(url: &str) -> Result<Arc<dyn Store>, OpenError> {
    open_as(url, Expect::Existing).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    NewOrExisting,
    Existing,
}

async fn open_as(url: &str, expect: Expect) -> Result<Arc<dyn Store>, OpenError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(open_sqlite_as(url, expect).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(open_postgres(url).await?))
    } else {
        Err(OpenError::UnsupportedUrl(redact(url)))
    }
}

pub async fn open_sqlite(url: &str) -> Result<SqliteStore, OpenError> {
    open_sqlite_as(url, Expect::NewOrExisting).await
}

/// SQLite's file header: a database file starts with these 16 bytes and is at least one
/// 512-byte page long.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
const SQLITE_MIN_BYTES: u64 = 512;

/// Checks the file before SQLite sees it: SQLite takes an empty file for a new database (and
/// an existing write-ahead log beside it would then be reset), and a file without the header
/// for "not a database" only once a statement runs.
fn check_sqlite_file(path: &Path, expect: Expect) -> Result<(), OpenError> {
    use std::io::Read;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return match expect {
                Expect::Existing => Err(OpenError::Missing {
                    path: path.to_path_buf(),
                }),
                Expect::NewOrExisting => Ok(()),
            }
        }
        Err(e) => return Err(OpenError::Connect(format!("{}: {e}", path.display()))),
    };
    let bytes = meta.len();
    if bytes == 0 {
        return match expect {
            Expect::Existing => Err(OpenError::Empty {
                path: path.to_path_buf(),
                bytes,
            }),
            Expect::NewOrExisting => Ok(()),
        };
    }
    let corrupt = |detail: String| OpenError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let mut head = [0u8; 16];
    let read = std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map_err(|e| OpenError::Connect(format!("{}: {e}", path.display())));
    if bytes < SQLITE_MIN_BYTES || read.is_err() || &head != SQLITE_MAGIC {
        if expect == Expect::Existing && bytes < SQLITE_MIN_BYTES {
            return Err(OpenError::Empty {
                path: path.to_path_buf(),
                bytes,
            });
        }
        return Err(corrupt(
            "it does not start with SQLite's file header".into(),
        ));
    }
    Ok(())
}

/// SQLite's `PRAGMA quick_check`: every page read, the b-trees' structure, record formats and
/// constraints checked (not index contents against their tables, which is what makes it quick).
async fn quick_check(pool: &sqlx::SqlitePool, path: &Path) -> Result<(), OpenError> {
    let corrupt = |detail: String| OpenError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_all(pool)
        .await
        .map_err(|e| corrupt(e.to_string()))?;
    if rows.len() == 1 && rows[0] == "ok" {
        return Ok(());
    }
    let mut detail = rows
        .iter()
        .take(MAX_PROBLEMS_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if rows.len() > MAX_PROBLEMS_SHOWN {
        detail += &format!(" (and {} more)", rows.len() - MAX_PROBLEMS_SHOWN);
    }
    Err(corrupt(format!("PRAGMA quick_check found: {detail}")))
}

/// SQLite's answer for a file that is damaged or not a database at all.
fn is_corruption(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(sqlx::error::DatabaseError::code)
        .is_some_and(|c| {
            // SQLITE_CORRUPT (11) and SQLITE_NOTADB (26), with any extended bits.
            let code = c.parse::<i64>().unwrap_or(0) & 0xff;
            code == 11 || code == 26
        })
}

/// The database file a SQLite URL names; none for another engine or an in-memory database.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    if !url.starts_with("sqlite:") {
        return None;
    }
    let path = SqliteConnectOptions::from_str(url)
        .ok()?
        .get_filename()
        .to_path_buf();
    (!is_in_memory(&path)).then_some(path)
}

fn is_in_memory(path: &Path) -> bool {
    path.as_os_str().is_empty() || path.as_os_str() == ":memory:"
}

async fn open_sqlite_as(url: &str, expect: Expect) -> Result<SqliteStore, OpenError> {
    let options =
        SqliteConnectOptions::from_str(url).map_err(|e| OpenError::Connect(e.to_string()))?;
    let path = options.get_filename().to_path_buf();
    let in_memory = is_in_memory(&path);
    if !in_memory {
        check_sqlite_file(&path, expect)?;
    }
    let options = options
        .create_if_missing(expect == Expect::NewOrExisting)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // Reads through a memory map: with SQLite's 2 MB page cache alone, a listing at
        // 10,000 hosts re-read most pages with pread (a fifth of its time). Mapped pages are
        // read in place, so the page cache stays modest (8 MB per connection).
        .pragma("mmap_size", "1073741824")
        .pragma("cache_size", "-8192")
        // The log is folded into the database every 10,000 pages (40 MB) rather than SQLite's
        // 1,000: a page written by many transactions in between is copied back once, and
        // checkpoints took 7 % of the server's time during adds at the default.
        .pragma("wal_autocheckpoint", "10000");
    // One writer connection and four read-only ones (see `SqliteStore`). An in-memory
    // database is one per connection, so it has one pool of one.
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await
        .map_err(|e| {
            if is_corruption(&e) {
                OpenError::Corrupt {
                    path: path.clone(),
                    detail: e.to_string(),
                }
            } else {
                OpenError::Connect(e.to_string())
            }
        })?;
    if !in_memory {
        let started = std::time::Instant::now();
        quick_check(&writer, &path).await?;
        tracing::info!(
            seconds = format!("{:.3}", started.elapsed().as_secs_f64()),
            "database integrity check (quick_check) passed"
        );
    }
    let store = if in_memory {
        SqliteStore::new(writer)
    } else {
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true).create_if_missing(false))
            .await
            .map_err(|e| OpenError::Connect(e.to_string()))?;
        SqliteStore::with_readers(writer, readers)
    };
    store.migrate().await?;
    Ok(store)
}

pub async fn open_postgres(url: &str) -> Result<PostgresStore, OpenError> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(|e| OpenError::Connect(format!("{} ({e})", redact(url))))?;
    let store = PostgresStore::new(pool);
    store.migrate().await?;
    Ok(store)
}

/// A database URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://fc:s3cret@127.0.0.1:5432/fc"),
            "postgres://fc:***@127.0.0.1:5432/fc"
        );
        assert_eq!(redact("postgres://fc@h/db"), "postgres://fc@h/db");
        assert_eq!(redact("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
