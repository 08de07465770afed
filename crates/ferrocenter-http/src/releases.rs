//! The VI/JSON releases this server serves. The vim door checks each URL against them and
//! vAPI's `vcenter.vm.guest` api-release negotiation picks from them, so both read this one
//! list.

/// Releases accepted in the URL: 8.0.1.0 through 9.1.1.0.
const OLDEST: [u32; 4] = [8, 0, 1, 0];
const NEWEST: [u32; 4] = [9, 1, 1, 0];

pub fn release_ok(r: &str) -> bool {
    let parts: Vec<u32> = r.split('.').filter_map(|p| p.parse().ok()).collect();
    if parts.len() != 4 || r.split('.').count() != 4 {
        return false;
    }
    let v = [parts[0], parts[1], parts[2], parts[3]];
    v >= OLDEST && v <= NEWEST
}

/// The vim25 releases VMware published within the served range, oldest first: what
/// `/sdk/vimServiceVersions.xml` lists, so a SOAP client picks one it knows.
pub const PUBLISHED: &[&str] = &[
    "8.0.1.0",
    "8.0.2.0",
    "8.0.3.0",
    "8.0.3.1",
    "9.0.0.0",
    "9.1.0.0",
    "9.1.0.1",
    NEWEST_PUBLISHED,
];

pub const NEWEST_PUBLISHED: &str = "9.1.1.0";

#[cfg(test)]
mod published_tests {
    use super::*;

    #[test]
    fn published_releases_are_served_and_end_at_the_newest() {
        assert!(PUBLISHED.iter().all(|r| release_ok(r)));
        assert_eq!(PUBLISHED.last(), Some(&"9.1.1.0"));
        assert_eq!(PUBLISHED.first(), Some(&"8.0.1.0"));
    }
}
