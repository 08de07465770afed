//! `BackupStore`: every data table exported from one snapshot as engine-neutral cells, and a
//! whole content replaced in one transaction. Columns are read and written by name and typed by
//! what the engine declares, so SQLite's and PostgreSQL's column orders and boolean spellings
//! never reach an archive.
use std::collections::HashMap;

use async_trait::async_trait;
use ferrocenter_core::ports::{
    AppendBatch, BackupStore, Cell, OnConflict, StoreError, TableSink, TableSize, TableSource,
};
use futures_util::TryStreamExt;

use super::{PostgresStore, SqliteStore};
use crate::rows::map_err;

/// The neutral type of a column, from the type the engine declares for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Bool,
    Real,
    Text,
}

impl Kind {
    fn of(declared: &str) -> Kind {
        let t = declared.to_ascii_uppercase();
        if t.contains("BOOL") {
            Kind::Bool
        } else if t.contains("INT") {
            Kind::Int
        } else if t.contains("REAL") || t.contains("DOUBLE") || t.contains("FLOAT") {
            Kind::Real
        } else {
            Kind::Text
        }
    }
}

/// A cell made fit for a column of `kind`, or why it does not fit.
fn fit(cell: Cell, kind: Kind, table: &str, column: &str) -> Result<Cell, StoreError> {
    let bad = |what: &str| {
        StoreError::Corrupt(format!(
            "{table}.{column}: {what} where the column holds {kind:?}"
        ))
    };
    Ok(match (cell, kind) {
        (Cell::Null, _) => Cell::Null,
        (Cell::Int(i), Kind::Int) => Cell::Int(i),
        (Cell::Int(i), Kind::Bool) => Cell::Bool(i != 0),
        #[allow(
            clippy::cast_precision_loss,
            reason = "a whole number read into a real column"
        )]
        (Cell::Int(i), Kind::Real) => Cell::Real(i as f64),
        (Cell::Int(i), Kind::Text) => Cell::Text(i.to_string()),
        (Cell::Bool(b), Kind::Bool) => Cell::Bool(b),
        (Cell::Bool(b), Kind::Int) => Cell::Int(i64::from(b)),
        (Cell::Real(f), Kind::Real) => Cell::Real(f),
        (Cell::Text(s), Kind::Text) => Cell::Text(s),
        (Cell::Bool(_), _) => return Err(bad("a boolean")),
        (Cell::Real(_), _) => return Err(bad("a real number")),
        (Cell::Text(_), _) => return Err(bad("text")),
    })
}

/// Self-referencing columns (a folder's parent): inserted empty and set once the table's rows
/// are all in, since PostgreSQL checks the reference at each insert and an export has no order.
const SELF_REFERENCES: &[(&str, &str, &str)] = &[("folders", "parent_id", "id")];

/// At most this many values in one INSERT. Not SQLite's limit (32,766): sqlx-sqlite looks each
/// parameter's name up on every bind, which SQLite answers by scanning the statement's
/// parameters, so binding a statement costs the square of its parameter count (a profile of a
/// 10,000-host restore spent 92 % of the store's CPU in `sqlite3_bind_parameter_name` with
/// 16,000). A few hundred keeps the scan short and the statements few.
const MAX_PARAMETERS: usize = 512;
const MAX_BATCH_ROWS: usize = 500;

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl SqliteStore {
    const TABLES_SQL: &'static str = "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite%' AND name <> 'schema_migrations' ORDER BY name";
    const COLUMNS_SQL: &'static str = "SELECT name, type FROM pragma_table_info($1) ORDER BY cid";
    /// A deferred transaction's first read fixes its snapshot (WAL mode).
    const SNAPSHOT: Option<&'static str> = None;
    /// References checked at commit, so rows go in whatever order the archive has them.
    const IMPORT_PRELUDE: Option<&'static str> = Some("PRAGMA defer_foreign_keys = ON");
    const INSERT_OVERRIDE: &'static str = "";
    /// AUTOINCREMENT keeps its high-water mark in sqlite_sequence by itself.
    const GENERATED_SQL: Option<&'static str> = None;
}

impl PostgresStore {
    const TABLES_SQL: &'static str = "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> 'schema_migrations' ORDER BY 1";
    const COLUMNS_SQL: &'static str = "SELECT column_name::text, data_type::text \
         FROM information_schema.columns WHERE table_schema = current_schema() \
         AND table_name = $1 ORDER BY ordinal_position";
    const SNAPSHOT: Option<&'static str> =
        Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const IMPORT_PRELUDE: Option<&'static str> = None;
    /// The event log's key is GENERATED ALWAYS: restored rows keep theirs.
    const INSERT_OVERRIDE: &'static str = " OVERRIDING SYSTEM VALUE";
    const GENERATED_SQL: Option<&'static str> = Some(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() \
         AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')",
    );
}

super::for_each_engine! {

    async fn tables(c: &mut Conn) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(Engine::TABLES_SQL)
            .fetch_all(&mut *c)
            .await
            .map_err(map_err)
    }

    async fn columns(c: &mut Conn, table: &str) -> Result<Vec<(String, Kind)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(Engine::COLUMNS_SQL)
            .bind(table)
            .fetch_all(&mut *c)
            .await
            .map_err(map_err)?;
        Ok(rows.into_iter().map(|(n, t)| (n, Kind::of(&t))).collect())
    }

    /// Every table named must be a data table: names reach SQL text only after this.
    fn check_known(known: &[String], asked: &[String]) -> Result<(), StoreError> {
        match asked.iter().find(|t| !known.contains(t)) {
            Some(t) => Err(StoreError::Backend(format!("no data table named '{t}'"))),
            None => Ok(()),
        }
    }

    fn read_cell(row: &Row, i: usize, kind: Kind) -> Result<Cell, StoreError> {
        let corrupt = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
        Ok(match kind {
            Kind::Int => sqlx::Row::try_get::<Option<i64>, _>(row, i)
                .map_err(corrupt)?
                .map_or(Cell::Null, Cell::Int),
            Kind::Bool => sqlx::Row::try_get::<Option<bool>, _>(row, i)
                .map_err(corrupt)?
                .map_or(Cell::Null, Cell::Bool),
            Kind::Real => sqlx::Row::try_get::<Option<f64>, _>(row, i)
                .map_err(corrupt)?
                .map_or(Cell::Null, Cell::Real),
            Kind::Text => sqlx::Row::try_get::<Option<String>, _>(row, i)
                .map_err(corrupt)?
                .map_or(Cell::Null, Cell::Text),
        })
    }

    /// Inserts a batch of rows of one table in one statement.
    async fn insert_batch(
        c: &mut Conn,
        table: &str,
        columns: &[(String, Kind)],
        rows: &mut Vec<Vec<Cell>>,
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = columns.iter().map(|(n, _)| quoted(n)).collect();
        let mut sql = format!(
            "INSERT INTO {} ({}){} VALUES ",
            quoted(table),
            names.join(", "),
            Engine::INSERT_OVERRIDE
        );
        let mut n = 0;
        for (r, _) in rows.iter().enumerate() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for k in 0..columns.len() {
                if k > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for row in rows.drain(..) {
            for (cell, (_, kind)) in row.into_iter().zip(columns) {
                q = match (cell, kind) {
                    (Cell::Null, Kind::Int) => q.bind(None::<i64>),
                    (Cell::Null, Kind::Bool) => q.bind(None::<bool>),
                    (Cell::Null, Kind::Real) => q.bind(None::<f64>),
                    (Cell::Null, Kind::Text) => q.bind(None::<String>),
                    (Cell::Int(i), _) => q.bind(i),
                    (Cell::Bool(b), _) => q.bind(b),
                    (Cell::Real(f), _) => q.bind(f),
                    (Cell::Text(s), _) => q.bind(s),
                };
            }
        }
        q.execute(&mut *c).await.map_err(map_err)?;
        Ok(())
    }

    /// Appends a chunk of rows in one statement: lookup columns as subqueries on their
    /// table, taken keys met by the conflict rule. How many rows it inserted or folded.
    async fn append_chunk(
        c: &mut Conn,
        table: &str,
        columns: &[(String, Kind, Option<String>)],
        conflict: &str,
        rows: &mut Vec<Vec<Cell>>,
    ) -> Result<u64, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let names: Vec<String> = columns.iter().map(|(n, _, _)| quoted(n)).collect();
        let mut sql = format!("INSERT INTO {} ({}) VALUES ", quoted(table), names.join(", "));
        let mut n = 0;
        for r in 0..rows.len() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for (k, (_, _, lookup)) in columns.iter().enumerate() {
                if k > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                match lookup {
                    Some(select) => sql.push_str(&format!("({select}${n})")),
                    None => sql.push_str(&format!("${n}")),
                }
            }
            sql.push(')');
        }
        sql.push_str(conflict);
        let mut q = sqlx::query(&sql);
        for row in rows.drain(..) {
            for (cell, (_, kind, _)) in row.into_iter().zip(columns) {
                q = match (cell, kind) {
                    (Cell::Null, Kind::Int) => q.bind(None::<i64>),
                    (Cell::Null, Kind::Bool) => q.bind(None::<bool>),
                    (Cell::Null, Kind::Real) => q.bind(None::<f64>),
                    (Cell::Null, Kind::Text) => q.bind(None::<String>),
                    (Cell::Int(i), _) => q.bind(i),
                    (Cell::Bool(b), _) => q.bind(b),
                    (Cell::Real(f), _) => q.bind(f),
                    (Cell::Text(s), _) => q.bind(s),
                };
            }
        }
        let done = q.execute(&mut *c).await.map_err(map_err)?;
        Ok(done.rows_affected())
    }

    #[async_trait]
    impl BackupStore for Engine {
        async fn schema_version(&self) -> Result<i64, StoreError> {
            let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
                .fetch_one(self.reads())
                .await
                .map_err(map_err)?;
            Ok(v.unwrap_or(0))
        }

        async fn data_tables(&self) -> Result<Vec<String>, StoreError> {
            let mut c = self.reads().acquire().await.map_err(map_err)?;
            tables(&mut c).await
        }

        async fn table_sizes(&self, asked: &[String]) -> Result<Vec<TableSize>, StoreError> {
            let mut c = self.reads().acquire().await.map_err(map_err)?;
            check_known(&tables(&mut c).await?, asked)?;
            let mut out = Vec::with_capacity(asked.len());
            for table in asked {
                let cols = columns(&mut c, table).await?;
                let lengths: Vec<String> = cols
                    .iter()
                    .map(|(n, _)| format!("COALESCE(LENGTH(CAST({} AS TEXT)), 0)", quoted(n)))
                    .collect();
                let sql = format!(
                    "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM({}), 0) AS BIGINT) FROM {}",
                    if lengths.is_empty() { "0".to_string() } else { lengths.join(" + ") },
                    quoted(table)
                );
                let (rows, bytes): (i64, i64) = sqlx::query_as(&sql)
                    .fetch_one(&mut *c)
                    .await
                    .map_err(map_err)?;
                out.push(TableSize {
                    table: table.clone(),
                    rows: u64::try_from(rows).unwrap_or(0),
                    columns: cols.len() as u64,
                    bytes: u64::try_from(bytes).unwrap_or(0),
                });
            }
            Ok(out)
        }

        async fn export_tables(
            &self,
            asked: &[String],
            sink: &mut (dyn TableSink + Send),
        ) -> Result<(), StoreError> {
            // A read transaction: on SQLite a reader's, so an export holds no writer back.
            let mut tx = self.reads().begin().await.map_err(map_err)?;
            if let Some(sql) = Engine::SNAPSHOT {
                sqlx::query(sql).execute(&mut *tx).await.map_err(map_err)?;
            }
            check_known(&tables(&mut tx).await?, asked)?;
            for table in asked {
                let cols = columns(&mut tx, table).await?;
                let names: Vec<String> = cols.iter().map(|(n, _)| n.clone()).collect();
                sink.begin_table(table, &names)?;
                let sql = format!(
                    "SELECT {} FROM {}",
                    names.iter().map(|n| quoted(n)).collect::<Vec<_>>().join(", "),
                    quoted(table)
                );
                let mut rows = sqlx::query(&sql).fetch(&mut *tx);
                while let Some(row) = rows.try_next().await.map_err(map_err)? {
                    let cells = cols
                        .iter()
                        .enumerate()
                        .map(|(i, (_, kind))| read_cell(&row, i, *kind))
                        .collect::<Result<Vec<_>, _>>()?;
                    sink.row(cells)?;
                }
            }
            tx.rollback().await.map_err(map_err)?;
            Ok(())
        }

        async fn import_tables(
            &self,
            clear: &[String],
            source: &mut (dyn TableSource + Send),
        ) -> Result<(), StoreError> {
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            if let Some(sql) = Engine::IMPORT_PRELUDE {
                sqlx::query(sql).execute(&mut *tx).await.map_err(map_err)?;
            }
            check_known(&tables(&mut tx).await?, clear)?;
            for table in clear.iter().rev() {
                sqlx::query(&format!("DELETE FROM {}", quoted(table)))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
            while let Some((table, archived)) = source.next_table()? {
                if !clear.contains(&table) {
                    return Err(StoreError::Backend(format!(
                        "the archive's table '{table}' is not one being restored"
                    )));
                }
                let target: HashMap<String, Kind> =
                    columns(&mut tx, &table).await?.into_iter().collect();
                let mut cols = Vec::with_capacity(archived.len());
                for name in &archived {
                    match target.get(name) {
                        Some(kind) => cols.push((name.clone(), *kind)),
                        None => {
                            return Err(StoreError::Backend(format!(
                                "the archive's column {table}.{name} is not in this store"
                            )))
                        }
                    }
                }
                if let Some(missing) = target.keys().find(|k| !archived.contains(k)) {
                    return Err(StoreError::Backend(format!(
                        "the store's column {table}.{missing} is not in the archive"
                    )));
                }
                let self_ref = SELF_REFERENCES.iter().find(|(t, _, _)| *t == table).and_then(
                    |(_, col, key)| {
                        let c = archived.iter().position(|n| n == col)?;
                        let k = archived.iter().position(|n| n == key)?;
                        Some((*col, *key, c, k))
                    },
                );
                let mut links: Vec<(Cell, Cell)> = Vec::new();
                let per_batch = (MAX_PARAMETERS / cols.len().max(1)).clamp(1, MAX_BATCH_ROWS);
                let mut batch = Vec::with_capacity(per_batch);
                while let Some(row) = source.next_row()? {
                    if row.len() != cols.len() {
                        return Err(StoreError::Corrupt(format!(
                            "a row of {table} has {} values for {} columns",
                            row.len(),
                            cols.len()
                        )));
                    }
                    let mut fitted = row
                        .into_iter()
                        .zip(&cols)
                        .map(|(cell, (name, kind))| fit(cell, *kind, &table, name))
                        .collect::<Result<Vec<_>, _>>()?;
                    if let Some((_, _, c, k)) = self_ref {
                        let parent = std::mem::replace(&mut fitted[c], Cell::Null);
                        if parent != Cell::Null {
                            links.push((fitted[k].clone(), parent));
                        }
                    }
                    batch.push(fitted);
                    if batch.len() >= per_batch {
                        insert_batch(&mut tx, &table, &cols, &mut batch).await?;
                    }
                }
                insert_batch(&mut tx, &table, &cols, &mut batch).await?;
                if let Some((col, key, _, _)) = self_ref {
                    let sql = format!(
                        "UPDATE {} SET {} = $1 WHERE {} = $2",
                        quoted(&table),
                        quoted(col),
                        quoted(key)
                    );
                    for (id, parent) in links {
                        let (Cell::Text(id), Cell::Text(parent)) = (id, parent) else {
                            return Err(StoreError::Corrupt(format!(
                                "{table}.{col}: a reference that is not text"
                            )));
                        };
                        sqlx::query(&sql)
                            .bind(parent)
                            .bind(id)
                            .execute(&mut *tx)
                            .await
                            .map_err(map_err)?;
                    }
                }
            }
            if let Some(sql) = Engine::GENERATED_SQL {
                let generated: Vec<(String, String)> =
                    sqlx::query_as(sql).fetch_all(&mut *tx).await.map_err(map_err)?;
                for (table, column) in generated.iter().filter(|(t, _)| clear.contains(t)) {
                    let sql = format!(
                        "SELECT setval(pg_get_serial_sequence($1, $2), \
                         COALESCE((SELECT MAX({c}) FROM {t}), 0) + 1, false)",
                        c = quoted(column),
                        t = quoted(table)
                    );
                    sqlx::query(&sql)
                        .bind(table)
                        .bind(column)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
            }
            tx.commit().await.map_err(map_err)?;
            Ok(())
        }

        async fn append_rows(&self, batch: AppendBatch<'_>) -> Result<u64, StoreError> {
            let table = batch.table;
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            let known = tables(&mut tx).await?;
            let mut named = vec![table.to_string()];
            named.extend(batch.lookups.iter().map(|l| l.table.to_string()));
            check_known(&known, &named)?;
            let target: HashMap<String, Kind> =
                columns(&mut tx, table).await?.into_iter().collect();
            let mut cols = Vec::with_capacity(batch.columns.len());
            for name in batch.columns {
                let Some(kind) = target.get(name) else {
                    return Err(StoreError::Backend(format!(
                        "the column {table}.{name} is not in this store"
                    )));
                };
                let mut col = (name.clone(), *kind, None);
                if let Some(l) = batch.lookups.iter().find(|l| l.column == name) {
                    let other: HashMap<String, Kind> =
                        columns(&mut tx, l.table).await?.into_iter().collect();
                    let (Some(by), true) = (other.get(l.by), other.contains_key(l.key)) else {
                        return Err(StoreError::Backend(format!(
                            "{}.{} or {}.{} is not in this store",
                            l.table, l.key, l.table, l.by
                        )));
                    };
                    col.1 = *by;
                    col.2 = Some(format!(
                        "SELECT {} FROM {} WHERE {} = ",
                        quoted(l.key),
                        quoted(l.table),
                        quoted(l.by)
                    ));
                }
                cols.push(col);
            }
            let known_column = |c: &&str| target.contains_key(*c);
            let conflict = match batch.on_conflict {
                OnConflict::Fail => String::new(),
                OnConflict::Skip { key } => {
                    if !key.iter().all(&known_column) {
                        return Err(StoreError::Backend(format!(
                            "{table}: an unknown key column"
                        )));
                    }
                    let key: Vec<String> = key.iter().map(|c| quoted(c)).collect();
                    format!(" ON CONFLICT ({}) DO NOTHING", key.join(", "))
                }
                OnConflict::Fold {
                    key,
                    sum,
                    least,
                    greatest,
                } => {
                    let mut named = key.iter().chain(sum).chain(least).chain(greatest);
                    if !named.all(&known_column) {
                        return Err(StoreError::Backend(format!(
                            "{table}: an unknown column to fold"
                        )));
                    }
                    let t = quoted(table);
                    let mut sets: Vec<String> = sum
                        .iter()
                        .map(|c| format!("{q} = {t}.{q} + excluded.{q}", q = quoted(c)))
                        .collect();
                    // CASE rather than LEAST/GREATEST (PostgreSQL) or two-argument MIN/MAX
                    // (SQLite): both engines read it.
                    for (which, op) in [(least, "<"), (greatest, ">")] {
                        sets.extend(which.iter().map(|c| {
                            format!(
                                "{q} = CASE WHEN excluded.{q} {op} {t}.{q} \
                                 THEN excluded.{q} ELSE {t}.{q} END",
                                q = quoted(c)
                            )
                        }));
                    }
                    let key: Vec<String> = key.iter().map(|c| quoted(c)).collect();
                    format!(
                        " ON CONFLICT ({}) DO UPDATE SET {}",
                        key.join(", "),
                        sets.join(", ")
                    )
                }
            };
            let per_chunk = (MAX_PARAMETERS / cols.len().max(1)).clamp(1, MAX_BATCH_ROWS);
            let mut chunk = Vec::with_capacity(per_chunk);
            let mut done = 0;
            for row in batch.rows {
                if row.len() != cols.len() {
                    return Err(StoreError::Corrupt(format!(
                        "a row of {table} has {} values for {} columns",
                        row.len(),
                        cols.len()
                    )));
                }
                let fitted = row
                    .into_iter()
                    .zip(&cols)
                    .map(|(cell, (name, kind, _))| fit(cell, *kind, table, name))
                    .collect::<Result<Vec<_>, _>>()?;
                chunk.push(fitted);
                if chunk.len() >= per_chunk {
                    done += append_chunk(&mut tx, table, &cols, &conflict, &mut chunk).await?;
                }
            }
            done += append_chunk(&mut tx, table, &cols, &conflict, &mut chunk).await?;
            let (key, value) = batch.progress;
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
            Ok(done)
        }
    }
}
