//! Finds import circles between the files of a crate, for each crate's `no_import_circle`
//! test: a binding is a room whose files depend on each other in one direction only.
//!
//! An edge goes from a file to the file of every module it names through `crate::…`,
//! `super::…` or `self::…` (in `use` trees and in code), and from a module root (`lib.rs`,
//! `mod.rs`) to each child it names by a bare `child::…` path. A path is resolved to the
//! longest module prefix that is a file, so `crate::vim::Call` names `vim/mod.rs` while
//! `crate::vim::props::read` names `vim/props.rs`. A `#[cfg(test)] mod … { … }` block is
//! skipped: tests may look at their parent. Re-exports are edges like any other path, so a
//! file names an item by the module that defines it, not through a root's `pub use`.
// A test's helper: it panics to fail the test that calls it.
#![allow(clippy::expect_used)]
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A module path (`["vim", "props"]`; the crate root is empty).
type ModPath = Vec<String>;

/// The circles among the files under `src_dir`, each as the files that form it (sorted);
/// empty when there is none.
pub fn circles(src_dir: &Path) -> std::io::Result<Vec<Vec<String>>> {
    let mut files: BTreeMap<ModPath, (PathBuf, bool)> = BTreeMap::new();
    collect(src_dir, src_dir, &mut files)?;
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (module, (path, is_root)) in &files {
        let tokens = tokens(&fs::read_to_string(path)?);
        let tokens = without_test_modules(&tokens);
        let mut out = BTreeSet::new();
        for named in named_paths(&tokens, module, *is_root) {
            if let Some(target) = (0..=named.len())
                .rev()
                .map(|k| named[..k].to_vec())
                .find(|p| files.contains_key(p))
            {
                if &target != module {
                    out.insert(target);
                }
            }
        }
        edges.insert(module.clone(), out);
    }
    Ok(strongly_connected(&edges)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut names: Vec<String> = c
                .iter()
                .map(|m| {
                    let path = &files[m].0;
                    path.strip_prefix(src_dir)
                        .unwrap_or(path)
                        .display()
                        .to_string()
                })
                .collect();
            names.sort();
            names
        })
        .collect())
}

/// Panics, listing them, if the crate at `manifest_dir` has import circles.
pub fn assert_no_circle(manifest_dir: &str) {
    let src = Path::new(manifest_dir).join("src");
    let found = circles(&src).expect("the crate's sources are readable");
    assert!(
        found.is_empty(),
        "import circles between files of {manifest_dir} (a file must not reach back, directly or \
         through others, to a file that imports it):\n{}",
        found
            .iter()
            .map(|c| format!("  {}", c.join(" ↔ ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn collect(
    root: &Path,
    dir: &Path,
    files: &mut BTreeMap<ModPath, (PathBuf, bool)>,
) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap_or(&path).with_extension("");
            let mut module: ModPath = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let is_root = matches!(
                module.last().map(String::as_str),
                Some("lib" | "mod" | "main")
            );
            if is_root {
                module.pop();
            }
            files.insert(module, (path, is_root));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

/// Identifiers, `::` and single punctuation, with comments, strings and chars left out.
fn tokens(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if ch == 'r'
            && matches!(c.get(i + 1), Some('"') | Some('#'))
            && raw_string_end(&c, i).is_some()
        {
            i = raw_string_end(&c, i).unwrap_or(c.len());
        } else if ch == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if ch == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a): skip only the former.
            if c.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push(Tok::PathSep);
            i += 2;
        } else {
            if !ch.is_whitespace() {
                out.push(Tok::Punct(ch));
            }
            i += 1;
        }
    }
    out
}

/// Where a raw string starting at `i` (`r"…"`, `r#"…"#`) ends, if it is one.
fn raw_string_end(c: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let mut hashes = 0;
    while c.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if c.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < c.len() {
        if c[j] == '"' && (0..hashes).all(|h| c.get(j + 1 + h) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(c.len())
}

/// Drops every `#[cfg(test)] mod name { … }` block.
fn without_test_modules(t: &[Tok]) -> Vec<Tok> {
    let attr: Vec<Tok> = tokens("#[cfg(test)] mod");
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if t[i..].starts_with(&attr) {
            // Skip to the block's opening brace, then past its matching close.
            let mut j = i + attr.len();
            while j < t.len() && t[j] != Tok::Punct('{') && t[j] != Tok::Punct(';') {
                j += 1;
            }
            if t.get(j) == Some(&Tok::Punct('{')) {
                let mut depth = 0;
                while j < t.len() {
                    match t[j] {
                        Tok::Punct('{') => depth += 1,
                        Tok::Punct('}') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
            i = j + 1;
        } else {
            out.push(t[i].clone());
            i += 1;
        }
    }
    out
}

/// Every module path the file names, absolute from the crate root.
fn named_paths(t: &[Tok], module: &[String], is_root: bool) -> Vec<ModPath> {
    let children: BTreeSet<&str> = if is_root {
        t.windows(3)
            .filter_map(|w| match w {
                [Tok::Ident(m), Tok::Ident(name), Tok::Punct(';')] if m == "mod" => {
                    Some(name.as_str())
                }
                _ => None,
            })
            .collect()
    } else {
        BTreeSet::new()
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let prev_is_sep = i > 0 && (t[i - 1] == Tok::PathSep || t[i - 1] == Tok::Punct('$'));
        let base: Option<ModPath> = match &t[i] {
            Tok::Ident(_) if prev_is_sep => None,
            Tok::Ident(w) => match w.as_str() {
                "crate" => Some(vec![]),
                "self" => Some(module.to_vec()),
                "super" => Some(module[..module.len().saturating_sub(1)].to_vec()),
                w if children.contains(w) => {
                    let mut m = module.to_vec();
                    m.push(w.to_string());
                    Some(m)
                }
                _ => None,
            },
            _ => None,
        };
        match base {
            Some(base) if t.get(i + 1) == Some(&Tok::PathSep) => {
                i = use_tree(t, i + 2, base, &mut out);
            }
            _ => i += 1,
        }
    }
    out
}

/// Reads the rest of a path after `prefix::` (segments, `super`s, `{…}` groups), pushing
/// each path it names; returns the index after it.
fn use_tree(t: &[Tok], mut i: usize, mut prefix: ModPath, out: &mut Vec<ModPath>) -> usize {
    loop {
        match t.get(i) {
            Some(Tok::Ident(w)) if w == "super" => {
                prefix.pop();
            }
            Some(Tok::Ident(w)) if w == "self" => {}
            Some(Tok::Ident(w)) => prefix.push(w.clone()),
            Some(Tok::Punct('{')) => {
                i += 1;
                loop {
                    match t.get(i) {
                        Some(Tok::Punct('}')) | None => break,
                        Some(Tok::Punct(',')) => i += 1,
                        Some(Tok::Ident(w)) if w == "self" => {
                            out.push(prefix.clone());
                            i += 1;
                        }
                        Some(Tok::Ident(_)) => i = use_tree(t, i, prefix.clone(), out),
                        Some(_) => i += 1,
                    }
                }
                return i + 1;
            }
            _ => {
                out.push(prefix);
                return i;
            }
        }
        i += 1;
        if t.get(i) == Some(&Tok::PathSep) {
            i += 1;
        } else {
            out.push(prefix);
            return i;
        }
    }
}

/// Tarjan's strongly connected components.
fn strongly_connected(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    struct State<'a> {
        edges: &'a BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        found: Vec<Vec<ModPath>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a ModPath) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            s.found.push(comp);
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a throwaway crate source tree and returns its `src`.
    fn tree(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let root = std::env::temp_dir().join(format!(
            "ferrocenter-import-graph-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&root);
        for (path, text) in files {
            let p = root.join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        root
    }

    #[test]
    fn a_circle_through_a_use_group_is_found() {
        let src = tree(
            "circle",
            &[
                ("lib.rs", "mod a;\nmod b;\n"),
                ("a.rs", "use crate::b::B;\npub struct A;\n"),
                ("b.rs", "use super::{a::{self, A}};\npub struct B;\n"),
            ],
        );
        assert_eq!(circles(&src).unwrap().len(), 1);
        let _ = fs::remove_dir_all(src);
    }

    #[test]
    fn a_root_that_calls_a_child_which_names_the_root_is_a_circle() {
        let src = tree(
            "root",
            &[
                ("lib.rs", "mod v;\n"),
                ("v/mod.rs", "mod s;\npub struct Call;\nfn f() { s::go() }\n"),
                ("v/s.rs", "pub fn go(_: crate::v::Call) {}\n"),
            ],
        );
        assert_eq!(circles(&src).unwrap().len(), 1);
        let _ = fs::remove_dir_all(src);
    }

    #[test]
    fn one_way_imports_strings_comments_and_tests_are_no_circle() {
        let src = tree(
            "clean",
            &[
                ("lib.rs", "mod a;\nmod b;\npub use a::A;\n"),
                (
                    "a.rs",
                    "use crate::b::B; // crate::lib\npub struct A(B);\nconst S: &str = \"super::b\";\n",
                ),
                (
                    "b.rs",
                    "pub struct B;\n/* crate::a */\n#[cfg(test)]\nmod tests {\n    use crate::a::A;\n}\n",
                ),
            ],
        );
        assert!(circles(&src).unwrap().is_empty());
        let _ = fs::remove_dir_all(src);
    }
}
