//! Each aggregate's columns, listed once. The read list, the insert, the update and an
//! upsert's refresh are generated from the list, and each column's entry says how a record
//! gives its value, so insert and update bind through the same code.
use ferrocenter_core::ports::StoreError;

/// What statements do with a column.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The primary key: inserted, read, and what an update finds the row by.
    Key,
    /// Inserted and read, never changed afterwards (moIds, natural keys, creation times).
    Fixed,
    /// Inserted, read, and written again by an update or an upsert's refresh.
    Mutable,
    /// Inserted, never read back: a value derived from the record for ordering.
    Derived,
    /// Assigned by the database on insert and read back.
    Generated,
}

impl Role {
    fn inserted(self) -> bool {
        self != Role::Generated
    }

    fn read(self) -> bool {
        self != Role::Derived
    }
}

/// A value to bind, borrowed from the record where it can be.
pub(super) enum Value<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Owned(String),
    OptOwned(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
}

/// How a record gives one column's value.
pub(super) type Getter<T> = for<'a> fn(&'a T) -> Result<Value<'a>, StoreError>;

pub(super) struct Column<T> {
    pub name: &'static str,
    pub role: Role,
    value: Getter<T>,
}

impl<T> Column<T> {
    pub const fn key(name: &'static str, value: Getter<T>) -> Self {
        Column {
            name,
            role: Role::Key,
            value,
        }
    }

    pub const fn fixed(name: &'static str, value: Getter<T>) -> Self {
        Column {
            name,
            role: Role::Fixed,
            value,
        }
    }

    pub const fn mutable(name: &'static str, value: Getter<T>) -> Self {
        Column {
            name,
            role: Role::Mutable,
            value,
        }
    }

    pub const fn derived(name: &'static str, value: Getter<T>) -> Self {
        Column {
            name,
            role: Role::Derived,
            value,
        }
    }

    pub const fn generated(name: &'static str) -> Self {
        Column {
            name,
            role: Role::Generated,
            value: assigned_by_database,
        }
    }
}

/// The getter of a generated column; never called, as inserts leave these columns out.
fn assigned_by_database<T>(_: &T) -> Result<Value<'_>, StoreError> {
    Err(StoreError::Backend(
        "a generated column has no value to bind".into(),
    ))
}

/// A table and its columns in order. Every name here is a constant of this crate: caller text
/// only ever arrives as bound values.
pub(super) struct Table<T: 'static> {
    pub name: &'static str,
    pub columns: &'static [Column<T>],
}

impl<T> Table<T> {
    fn names(&self, keep: fn(Role) -> bool) -> impl Iterator<Item = &'static str> + '_ {
        self.columns
            .iter()
            .filter(move |c| keep(c.role))
            .map(|c| c.name)
    }

    fn key(&self) -> &'static str {
        self.names(|r| r == Role::Key).next().unwrap_or("id")
    }

    /// `a, b, c`: the columns a read returns.
    pub fn select_list(&self) -> String {
        self.names(Role::read).collect::<Vec<_>>().join(", ")
    }

    /// The read columns, each qualified by a query's alias for the table (`g.a, g.b`).
    pub fn select_list_as(&self, alias: &str) -> String {
        self.names(Role::read)
            .map(|n| format!("{alias}.{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `INSERT INTO t (a, b) VALUES ($1, $2)`, binding [`Table::insert_values`].
    pub fn insert(&self) -> String {
        self.insert_rows(1)
    }

    /// `INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), …` for `rows` records, binding each
    /// one's [`Table::insert_values`] in turn: one statement where a batch would take one per
    /// record (each a round trip to SQLite's connection thread).
    pub fn insert_rows(&self, rows: usize) -> String {
        let names: Vec<_> = self.names(Role::inserted).collect();
        let n = names.len();
        let tuples: Vec<String> = (0..rows)
            .map(|r| {
                let params: Vec<_> = (1..=n).map(|i| format!("${}", r * n + i)).collect();
                format!("({})", params.join(", "))
            })
            .collect();
        format!(
            "INSERT INTO {} ({}) VALUES {}",
            self.name,
            names.join(", "),
            tuples.join(", ")
        )
    }

    /// `UPDATE t SET m = $2, n = $3 WHERE id = $1`, binding [`Table::update_values`].
    pub fn update(&self) -> String {
        let sets: Vec<_> = self
            .names(|r| r == Role::Mutable)
            .enumerate()
            .map(|(i, n)| format!("{n} = ${}", i + 2))
            .collect();
        format!(
            "UPDATE {} SET {} WHERE {} = $1",
            self.name,
            sets.join(", "),
            self.key()
        )
    }

    /// `m = excluded.m, n = excluded.n`: what an upsert refreshes on an existing row.
    pub fn refresh(&self) -> String {
        self.names(|r| r == Role::Mutable)
            .map(|n| format!("{n} = excluded.{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The values of the inserted columns, in order.
    pub fn insert_values<'a>(&self, record: &'a T) -> Result<Vec<Value<'a>>, StoreError> {
        self.values(record, Role::inserted)
    }

    /// The key, then the values of the mutable columns, in order.
    pub fn update_values<'a>(&self, record: &'a T) -> Result<Vec<Value<'a>>, StoreError> {
        let mut values = self.values(record, |r| r == Role::Key)?;
        values.extend(self.values(record, |r| r == Role::Mutable)?);
        Ok(values)
    }

    fn values<'a>(
        &self,
        record: &'a T,
        keep: fn(Role) -> bool,
    ) -> Result<Vec<Value<'a>>, StoreError> {
        self.columns
            .iter()
            .filter(|c| keep(c.role))
            .map(|c| (c.value)(record))
            .collect()
    }
}

super::for_each_engine! {
    impl Engine {
        /// Binds values in order.
        pub(super) fn bind_values<'q>(
            mut q: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
            values: Vec<Value<'q>>,
        ) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>> {
            for v in values {
                q = match v {
                    Value::Text(v) => q.bind(v),
                    Value::OptText(v) => q.bind(v),
                    Value::Owned(v) => q.bind(v),
                    Value::OptOwned(v) => q.bind(v),
                    Value::Int(v) => q.bind(v),
                    Value::OptInt(v) => q.bind(v),
                    Value::Bool(v) => q.bind(v),
                };
            }
            q
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Thing {
        id: String,
        name: String,
        size: u64,
    }

    const THINGS: Table<Thing> = Table {
        name: "things",
        columns: &[
            Column::key("id", |t| Ok(Value::Text(&t.id))),
            Column::generated("seq"),
            Column::fixed("name", |t| Ok(Value::Text(&t.name))),
            Column::mutable("size", |t| {
                Ok(Value::Int(crate::rows::bigint_to(t.size, "size")?))
            }),
            Column::mutable("label", |t| Ok(Value::Owned(t.name.to_uppercase()))),
            Column::derived("name_num", |_| Ok(Value::Int(0))),
        ],
    };

    #[test]
    fn rows_are_numbered_on() {
        assert_eq!(
            THINGS.insert_rows(2),
            "INSERT INTO things (id, name, size, label, name_num) VALUES ($1, $2, $3, $4, $5), \
             ($6, $7, $8, $9, $10)"
        );
    }

    #[test]
    fn statements_come_from_one_list() {
        assert_eq!(THINGS.select_list(), "id, seq, name, size, label");
        assert_eq!(
            THINGS.select_list_as("t"),
            "t.id, t.seq, t.name, t.size, t.label"
        );
        assert_eq!(
            THINGS.insert(),
            "INSERT INTO things (id, name, size, label, name_num) VALUES ($1, $2, $3, $4, $5)"
        );
        assert_eq!(
            THINGS.update(),
            "UPDATE things SET size = $2, label = $3 WHERE id = $1"
        );
        assert_eq!(
            THINGS.refresh(),
            "size = excluded.size, label = excluded.label"
        );
    }

    #[test]
    fn values_follow_the_statements() {
        let t = Thing {
            id: "a".into(),
            name: "b".into(),
            size: 3,
        };
        assert_eq!(THINGS.insert_values(&t).unwrap().len(), 5);
        let update = THINGS.update_values(&t).unwrap();
        assert!(
            matches!(update.as_slice(), [Value::Text("a"), Value::Int(3), Value::Owned(l)] if l == "B")
        );
        let huge = Thing {
            size: u64::MAX,
            ..t
        };
        assert!(THINGS.insert_values(&huge).is_err());
    }
}
