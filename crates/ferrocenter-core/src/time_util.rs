use time::OffsetDateTime;

/// Milliseconds since the Unix epoch: the one timestamp form both store engines keep.
pub fn to_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip_truncates_below_a_millisecond() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(to_millis(t), 1_700_000_000_123);
        assert_eq!(
            from_millis(to_millis(t)).unix_timestamp_nanos(),
            1_700_000_000_123_000_000
        );
    }
}
