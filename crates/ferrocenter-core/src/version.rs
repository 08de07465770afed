//! Version numbers as ferrocenter compares them: the deployment upgrade's "is the source newer
//! than this build" and an update repository's "is it newer than the running server, and does
//! the running one meet its minimum". One comparison so that the two never disagree.
use std::cmp::Ordering;

/// Compares dotted version numbers (`0.1.0`, `1.2`), a missing part being 0; a part that is
/// not a number compares as text.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (pa, pb): (Vec<&str>, Vec<&str>) = (
        a.split(['.', '-', '+']).collect(),
        b.split(['.', '-', '+']).collect(),
    );
    for i in 0..pa.len().max(pb.len()) {
        let x = pa.get(i).copied().unwrap_or("0");
        let y = pb.get(i).copied().unwrap_or("0");
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Whether `v` is a version [`compare_versions`] can order meaningfully: dot-separated parts
/// that start with a number (`1.2.3`, `1.2.3-rc1`), nothing empty.
pub fn is_version(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.split('.')
            .all(|p| p.starts_with(|c: char| c.is_ascii_digit()))
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_number() {
        assert_eq!(compare_versions("0.10.0", "0.9.9"), Ordering::Greater);
        assert_eq!(compare_versions("1.0", "1.0.0"), Ordering::Equal);
        assert_eq!(compare_versions("0.1.0", "0.2.0"), Ordering::Less);
        assert_eq!(compare_versions("2.0.0", "10.0.0"), Ordering::Less);
        assert_eq!(compare_versions("1.2.3", "1.2.3"), Ordering::Equal);
        assert_eq!(
            compare_versions("1.2.3-rc2", "1.2.3-rc1"),
            Ordering::Greater
        );
    }

    #[test]
    fn version_shapes() {
        assert!(is_version("0.1.0"));
        assert!(is_version("1.2.3-rc1"));
        assert!(!is_version(""));
        assert!(!is_version("v1.2"));
        assert!(!is_version("1..2"));
        assert!(!is_version("1.2 "));
    }
}
