//! The `Store` port's implementations. SQLite is the embedded default; PostgreSQL is the engine
//! for scale. Both run the same SQL (SQLite accepts PostgreSQL's `$n` parameters) from the same
//! code, expanded once per engine, so their behaviour cannot drift apart; only the schema files
//! differ in column types.

mod migrations;
mod open;
mod rows;
mod sql_store;

pub use open::{
    default_sqlite_url, open, open_existing, open_postgres, open_sqlite, redact, sqlite_file,
    OpenError,
};
pub use sql_store::{PostgresStore, SqliteStore};
