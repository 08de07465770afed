//! Printing results: aligned tables for people, JSON (the same rows) for scripts.
use serde_json::Value;

use super::Output;

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Rows; the table shows `columns` (upper-cased as headings), JSON shows every field.
pub fn rows(output: Output, rows: &[Value], columns: &[&str]) {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(rows).unwrap_or_default()),
        Output::Table => {
            let widths: Vec<usize> = columns
                .iter()
                .map(|c| {
                    rows.iter()
                        .map(|r| cell(&r[c]).len())
                        .chain([c.len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |cells: Vec<String>| {
                cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            println!(
                "{}",
                line(columns.iter().map(|c| c.to_ascii_uppercase()).collect())
            );
            for r in rows {
                println!("{}", line(columns.iter().map(|c| cell(&r[c])).collect()));
            }
        }
    }
}

/// One object: `field: value` lines for people, the object for scripts.
pub fn object(output: Output, v: &Value) {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()),
        Output::Table => {
            let Some(map) = v.as_object() else {
                println!("{}", cell(v));
                return;
            };
            let w = map.keys().map(String::len).max().unwrap_or(0);
            for (k, val) in map {
                println!("{:<w$}  {}", format!("{k}:"), cell(val), w = w + 1);
            }
        }
    }
}
