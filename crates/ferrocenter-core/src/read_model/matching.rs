//! Listings evaluated in memory with the meaning the SQL store gives them: conditions ANDed,
//! NULL never equal to anything, `like` case-insensitive with `%` and `_`, a related record's
//! column matched only when the record exists, tags matched as ZStack matches them; sorted by
//! one field with NULL first (SQLite's order, the embedded engine's), ties in listing order.
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeSet;

use crate::inventory::query::{Condition, Counting, ListQuery, Page, QueryOp, QueryValue};

/// A value as a listing compares it. The variant order is SQLite's order across types: NULL,
/// then numbers, then text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Cell<'a> {
    Null,
    Int(i64),
    Text(Cow<'a, str>),
}

impl<'a> Cell<'a> {
    pub(super) fn text(s: &'a str) -> Self {
        Cell::Text(Cow::Borrowed(s))
    }

    pub(super) fn opt_text(s: Option<&'a str>) -> Self {
        s.map_or(Cell::Null, Cell::text)
    }

    fn of(v: &'a QueryValue) -> Self {
        match v {
            QueryValue::Text(t) => Cell::text(t),
            QueryValue::Int(i) => Cell::Int(*i),
        }
    }

    /// The text `like` sees (a number as its decimal digits).
    fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Cell::Null => None,
            Cell::Int(i) => Some(Cow::Owned(i.to_string())),
            Cell::Text(t) => Some(Cow::Borrowed(t.as_ref())),
        }
    }
}

/// What a field of a record is, for matching and sorting.
pub(super) enum Field<'a> {
    /// A value of the record itself.
    Value(Cell<'a>),
    /// A column of a related record; None when there is no such record (a host's cluster that
    /// is gone, or a standalone host's).
    Via(Option<Cell<'a>>),
    /// The record's tags of the condition's kind.
    Tags(Option<&'a BTreeSet<String>>),
}

impl<'a> Field<'a> {
    /// The value a sort on this field uses (tags do not sort).
    fn sort_key(self) -> Cell<'a> {
        match self {
            Field::Value(c) | Field::Via(Some(c)) => c,
            Field::Via(None) | Field::Tags(_) => Cell::Null,
        }
    }
}

/// `%` matches any run of characters, `_` any one; both sides already lowercased.
fn like(text: &[char], pattern: &[char]) -> bool {
    let (mut t, mut p) = (0, 0);
    // Where the last `%` was, and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('%') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '_' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '%')
}

fn lower_chars(s: &str) -> Vec<char> {
    s.chars().flat_map(char::to_lowercase).collect()
}

/// `cell <op> values` as SQL evaluates it in a WHERE clause (NULL is never true).
fn compare(cell: &Cell<'_>, op: QueryOp, values: &[QueryValue]) -> bool {
    match op {
        QueryOp::IsNull => return *cell == Cell::Null,
        QueryOp::NotNull => return *cell != Cell::Null,
        _ if *cell == Cell::Null => return false,
        _ => {}
    }
    let first = || values.first().map(Cell::of);
    let ord = |want: fn(Ordering) -> bool| first().is_some_and(|v| want(cell.cmp(&v)));
    match op {
        QueryOp::Eq => ord(Ordering::is_eq),
        QueryOp::Ne => ord(Ordering::is_ne),
        QueryOp::Gt => ord(Ordering::is_gt),
        QueryOp::Ge => ord(Ordering::is_ge),
        QueryOp::Lt => ord(Ordering::is_lt),
        QueryOp::Le => ord(Ordering::is_le),
        QueryOp::In => values.iter().any(|v| *cell == Cell::of(v)),
        QueryOp::NotIn => !values.iter().any(|v| *cell == Cell::of(v)),
        QueryOp::Like | QueryOp::NotLike => {
            let (Some(text), Some(pattern)) = (cell.as_text(), first()) else {
                return false;
            };
            let Some(pattern) = pattern.as_text().map(|p| lower_chars(&p)) else {
                return false;
            };
            like(&lower_chars(&text), &pattern) == (op == QueryOp::Like)
        }
        QueryOp::IsNull | QueryOp::NotNull => unreachable!("answered above"),
    }
}

/// Whether a field matches one condition.
fn matches(field: Field<'_>, op: QueryOp, values: &[QueryValue]) -> bool {
    match field {
        Field::Value(c) => compare(&c, op, values),
        Field::Via(related) => related.is_some_and(|c| compare(&c, op, values)),
        // ZStack: a negative operator on tags means "has no matching tag"; `is null`, no tag
        // of that kind at all.
        Field::Tags(tags) => {
            let (negate, op) = match op {
                QueryOp::Ne => (true, QueryOp::Eq),
                QueryOp::NotIn => (true, QueryOp::In),
                QueryOp::NotLike => (true, QueryOp::Like),
                QueryOp::IsNull => (true, QueryOp::NotNull),
                op => (false, op),
            };
            let any =
                tags.is_some_and(|tags| tags.iter().any(|t| compare(&Cell::text(t), op, values)));
            any != negate
        }
    }
}

/// One listing over `rows`, which come in listing order (the order ties keep).
pub(super) fn query<'a, T: Clone + 'a, F: Copy>(
    rows: impl Iterator<Item = &'a T>,
    q: &ListQuery<F>,
    field: impl Fn(&'a T, F) -> Field<'a>,
) -> Page<T> {
    let keep = |r: &'a T| {
        q.conditions.iter().all(
            |Condition {
                 field: f,
                 op,
                 values,
             }| matches(field(r, *f), *op, values),
        )
    };
    let mut hits: Vec<&'a T> = rows.filter(|r| keep(r)).collect();
    let total = (q.counting != Counting::No).then_some(hits.len() as u64);
    if q.counting == Counting::Only {
        return Page {
            rows: Vec::new(),
            total,
        };
    }
    if let Some((f, asc)) = q.sort {
        // Stable: equal keys keep listing order, as the SQL's second ORDER BY term does.
        hits.sort_by(|a, b| {
            let o = field(a, f).sort_key().cmp(&field(b, f).sort_key());
            if asc {
                o
            } else {
                o.reverse()
            }
        });
    }
    let offset = usize::try_from(q.offset).unwrap_or(usize::MAX);
    Page {
        rows: hits
            .into_iter()
            .skip(offset)
            .take(q.limit as usize)
            .cloned()
            .collect(),
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(text: &str, pattern: &str) -> bool {
        like(&lower_chars(text), &lower_chars(pattern))
    }

    #[test]
    fn like_patterns() {
        assert!(l("host-12", "host%"));
        assert!(l("host-12", "%-1_"));
        assert!(l("Host-12", "HOST-12"));
        assert!(!l("host-12", "host-1"));
        assert!(l("", "%"));
        assert!(!l("", "_"));
        assert!(l("abcabc", "%bc%bc"));
        assert!(!l("abcab", "%bc%bc"));
        assert!(l("a%b", "a%b"));
    }

    #[test]
    fn null_is_never_equal_and_sorts_first() {
        let one = [QueryValue::Text("a".into())];
        assert!(!compare(&Cell::Null, QueryOp::Eq, &one));
        assert!(!compare(&Cell::Null, QueryOp::Ne, &one));
        assert!(!compare(&Cell::Null, QueryOp::NotIn, &one));
        assert!(compare(&Cell::Null, QueryOp::IsNull, &[]));
        assert!(Cell::Null < Cell::Int(i64::MIN));
        assert!(Cell::Int(i64::MAX) < Cell::text(""));
    }

    #[test]
    fn related_records_match_only_when_present() {
        let one = [QueryValue::Text("a".into())];
        assert!(!matches(Field::Via(None), QueryOp::Ne, &one));
        assert!(!matches(Field::Via(None), QueryOp::IsNull, &[]));
        assert!(matches(Field::Via(Some(Cell::Null)), QueryOp::IsNull, &[]));
        assert!(matches(
            Field::Via(Some(Cell::text("b"))),
            QueryOp::Ne,
            &one
        ));
    }

    #[test]
    fn negative_tag_conditions_mean_no_matching_tag() {
        let tags: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
        let a = [QueryValue::Text("a".into())];
        assert!(matches(Field::Tags(Some(&tags)), QueryOp::Eq, &a));
        assert!(!matches(Field::Tags(Some(&tags)), QueryOp::Ne, &a));
        assert!(matches(Field::Tags(None), QueryOp::Ne, &a));
        assert!(matches(Field::Tags(None), QueryOp::IsNull, &[]));
        assert!(!matches(Field::Tags(Some(&tags)), QueryOp::IsNull, &[]));
    }
}
