//! vAPI value forms shared by the REST flavours.
use serde_json::{json, Value};
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

/// `com.vmware.vapi.std.localizable_message`.
pub fn loc_msg(id: &str, default_message: &str, args: &[&str]) -> Value {
    json!({ "id": id, "default_message": default_message, "args": args })
}

/// Which REST flavour a request came through: `/api` answers bare values, `/rest` wraps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Api,
    Rest,
}

impl Flavor {
    pub fn wrap(self, v: Value) -> Value {
        match self {
            Flavor::Api => v,
            Flavor::Rest => json!({ "value": v }),
        }
    }
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
