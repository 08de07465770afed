use std::path::Path;
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
}

/// The default database: `ferrocenter.db` in the data directory.
pub fn default_sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("ferrocenter.db").display())
}

/// Opens the store a URL names and brings its schema up to date.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, OpenError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(open_sqlite(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(open_postgres(url).await?))
    } else {
        Err(OpenError::UnsupportedUrl(redact(url)))
    }
}

pub async fn open_sqlite(url: &str) -> Result<SqliteStore, OpenError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| OpenError::Connect(e.to_string()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // Reads through a memory map: with SQLite's 2 MB page cache alone, a listing at
        // 10,000 hosts re-read most pages with pread (a fifth of its time). Mapped pages are
        // read in place, so the page cache stays modest (8 MB per connection).
        .pragma("mmap_size", "1073741824")
        .pragma("cache_size", "-8192");
    // One pool of four for reads and writes. A single writer connection beside a read-only
    // pool was tried: in the full benchmark its mixed load's tasks queued for minutes, so the
    // writes stay spread over the pool and SQLite's locking.
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|e| OpenError::Connect(e.to_string()))?;
    let store = SqliteStore::new(pool);
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
