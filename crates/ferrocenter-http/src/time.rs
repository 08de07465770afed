//! The wire time format shared by vAPI and VI/JSON.
use time::OffsetDateTime;

/// RFC 3339 in UTC with exactly three fraction digits, as the vAPI runtime writes datetimes
/// (and as VI/JSON accepts them). Fixed width also keeps them ordered as strings.
pub fn datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_have_three_fraction_digits() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(datetime(t), "2023-11-14T22:13:20.000Z");
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(datetime(t), "2023-11-14T22:13:20.123Z");
        // A fraction with trailing zeros keeps its three digits.
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_120_000_000).unwrap();
        assert_eq!(datetime(t), "2023-11-14T22:13:20.120Z");
    }
}
