//! Where archives sit under a location. A manual job writes into the directory it is given; a
//! schedule writes each run into `<location>/<system name>/<archive>`, where the archive's name
//! says who made it (`S` scheduled, `M` manual), the version and the UTC time, so names sort by
//! time and `system_name` and `archive` listings read what is really there.
use time::macros::format_description;
use time::OffsetDateTime;

use crate::ports::Location;

/// `S_0.1.0_20261206-183000`: who, version, UTC time to the second.
pub fn archive_name(scheduled: bool, version: &str, at: OffsetDateTime) -> String {
    let stamp = at
        .to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year][month][day]-[hour][minute][second]"
        ))
        .unwrap_or_default();
    format!("{}_{version}_{stamp}", if scheduled { "S" } else { "M" })
}

/// Whether a directory name is one `archive_name` makes, and if so whether a schedule made it.
pub fn parse_archive_name(name: &str) -> Option<ArchiveName<'_>> {
    let (who, rest) = name.split_once('_')?;
    let (version, stamp) = rest.rsplit_once('_')?;
    let scheduled = match who {
        "S" => true,
        "M" => false,
        _ => return None,
    };
    let valid_stamp = stamp.len() == 15
        && stamp
            .char_indices()
            .all(|(i, c)| if i == 8 { c == '-' } else { c.is_ascii_digit() });
    (valid_stamp && !version.is_empty()).then_some(ArchiveName {
        scheduled,
        version,
        stamp,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveName<'a> {
    pub scheduled: bool,
    pub version: &'a str,
    /// `YYYYMMDD-HHMMSS`, UTC: sorts as time does.
    pub stamp: &'a str,
}

/// The same location one directory further down (`sub` is a relative path of plain names).
pub fn below(location: &Location, sub: &str) -> Location {
    let mut l = location.clone();
    l.url = format!(
        "{}/{}",
        location.url.trim_end_matches('/'),
        sub.trim_matches('/')
    );
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::LocationType;

    #[test]
    fn names_round_trip_and_sort_by_time() {
        let t = time::macros::datetime!(2026-12-06 18:30:05 UTC);
        let a = archive_name(true, "0.1.0", t);
        assert_eq!(a, "S_0.1.0_20261206-183005");
        let p = parse_archive_name(&a).unwrap();
        assert!(p.scheduled);
        assert_eq!(p.version, "0.1.0");
        let later = archive_name(true, "0.1.0", t + time::Duration::seconds(1));
        assert!(later > a);
        assert!(parse_archive_name("notes.txt").is_none());
        assert!(parse_archive_name("S_0.1.0_2026120-183005").is_none());
    }

    #[test]
    fn below_appends_one_level() {
        let l = Location::new(LocationType::Sftp, "sftp://h/backups/").with_login("u", "p");
        let b = below(&l, "vc1/S_0.1.0_20261206-183005");
        assert_eq!(b.url, "sftp://h/backups/vc1/S_0.1.0_20261206-183005");
        assert_eq!(b.user.as_deref(), Some("u"));
    }
}
